// The parallel sampler end to end: a model whose logits put all mass on a target reproduces it under every decoding
// variant; guidance reaches the image candidates and wastes no pass; seeds make rollouts reproducible, alone or in a
// batch; a trajectory record rebuilds every intermediate state and its log-probabilities; records encode exactly.
import Foundation
import ParaRLCore
import ParaRLPolicy
import Testing
@testable import ParaRLSampling

/// Logits from a fixed rule, recording every batch it is asked for.
final class ScriptedProvider: SamplerLogitsProvider {
    let vocabulary: UnifiedVocabulary
    let rule: (_ sequence: ArraySlice<Int32>, _ position: Int, _ modality: Modality) -> [Float]
    var batches: [(batch: Int, tokens: [Int32])] = []

    init(vocabulary: UnifiedVocabulary, rule: @escaping (ArraySlice<Int32>, Int, Modality) -> [Float]) {
        self.vocabulary = vocabulary
        self.rule = rule
    }

    func logits(tokens: [Int32], keyMask: [UInt8], batch: Int, length: Int, textRows: [Int32], imageRows: [Int32]) throws
        -> (text: [Float], image: [Float]) {
        batches.append((batch, tokens))
        func rows(_ r: [Int32], _ m: Modality) -> [Float] {
            r.flatMap { row -> [Float] in
                let b = Int(row) / length
                return rule(tokens[(b * length)..<((b + 1) * length)], Int(row) % length, m)
            }
        }
        return (rows(textRows, .text), rows(imageRows, .image))
    }
}

@Suite("Parallel sampler")
struct SamplerTests {
    static let vocabulary = UnifiedVocabulary(textCount: 11, codebookSize: 8)
    static let layout = SequenceLayout(instructionLength: 3, textLength: 8, imageCodes: 4, filler: .eos)
    static let edit = PolicySample(id: "e", kind: .edit, instruction: [1, 2, 3], inputImage: [0, 1, 2, 3], reasoning: [4],
                                   outputImage: [1, 1, 1, 1])
    static let generate = PolicySample(id: "g", kind: .generate, instruction: [5, 6], inputImage: nil, reasoning: [],
                                       outputImage: [0, 0, 0, 0])

    static func config(steps: Int = 8, block: Int = 4, imageSteps: Int = 4, decoding: DecodingOrder = .parallel,
                       placement: ImageStepPlacement = .even, textTemperature: Float = 0.7, imageTemperature: Float = 1,
                       imageGuidance: Float = 3.5, textGuidance: Float = 0) -> SamplerConfig {
        var c = SamplerConfig()
        c.steps = steps; c.textBlockLength = block; c.imageSteps = imageSteps; c.decoding = decoding; c.imagePlacement = placement
        c.textTemperature = textTemperature; c.imageTemperature = imageTemperature
        c.imageGuidance = imageGuidance; c.textGuidance = textGuidance
        return c
    }

    /// A random micro policy over the test vocabulary (peaked enough that rollouts differ by seed).
    static func microPolicy(seed: UInt64 = 3) throws -> Policy {
        var arch = PolicyArchitecture()
        arch.dModel = 16; arch.nLayers = 2; arch.nHeads = 2; arch.mlpHiddenSize = 24; arch.maxSequenceLength = 64
        let policy = try Policy(config: arch.modelConfig(vocabulary: vocabulary))
        var rng = RandomStream(seed: seed)
        policy.initialise(std: 0.4, rng: &rng)
        return policy
    }

    // MARK: Oracle

    /// Target: image codes 5 2 7 0; text 3 9 1 <|eos|> then filler.
    static let targetImage = [5, 2, 7, 0]
    static let targetText: [Int32] = [3, 9, 1, Int32(vocabulary.special.eos)] + Array(repeating: Int32(vocabulary.special.eos), count: 4)

    static func oracle() -> ScriptedProvider {
        let firstText = layout.textRegion.lowerBound, firstImage = layout.imageRegion.lowerBound
        return ScriptedProvider(vocabulary: vocabulary) { _, position, modality in
            switch modality {
            case .image:
                var row = [Float](repeating: 0, count: vocabulary.codebookSize)
                row[targetImage[position - firstImage]] = 50
                return row
            case .text:
                var row = [Float](repeating: 0, count: vocabulary.textSlice.count)
                if let c = vocabulary.column(of: Int(targetText[position - firstText]), in: .text) { row[c] = 50 }
                return row
            }
        }
    }

    @Test("logits with all mass on a target reproduce it under every decoding, placement and temperature",
          arguments: DecodingOrder.allCases, ImageStepPlacement.allCases)
    func oracleReproducesTarget(decoding: DecodingOrder, placement: ImageStepPlacement) throws {
        for (tt, ti) in [(Float(0), Float(0)), (0.7, 1.0), (1.0, 2.0)] {
            let c = Self.config(steps: 8, block: 4, imageSteps: 3, decoding: decoding, placement: placement,
                                textTemperature: tt, imageTemperature: ti)
            let sampler = try ParallelSampler(provider: Self.oracle(), vocabulary: Self.vocabulary, layout: Self.layout, config: c)
            for prompt in [Self.edit, Self.generate] {
                let rollouts = try sampler.sample(prompt, seeds: [1, 2], recordSteps: Set(1...8))
                for r in rollouts {
                    #expect(r.finalImageCodes == Self.targetImage)
                    #expect(r.finalTextIDs == [3, 9, 1])
                    #expect(Array(r.record.tokens[4...]) == Self.targetText)
                    #expect(r.record.logProb.allSatisfy { $0 <= 0 && $0 > -1e-6 })
                    // Reveals per step and modality are exactly the schedule's.
                    for plan in sampler.schedule.steps {
                        let revealed = r.record.outputIndices(revealedAt: plan.step)
                        #expect(revealed.filter { $0 < 4 }.count == plan.imageReveal)
                        #expect(revealed.filter { $0 >= 4 }.count == plan.textReveal)
                        if let b = plan.textBlock {
                            #expect(revealed.filter { $0 >= 4 }.allSatisfy { sampler.schedule.textBlocks[b].contains($0 - 4) })
                        }
                    }
                    #expect(r.partials.map(\.step) == Array(1...8))
                    #expect(r.partials.last?.imageCodes == Self.targetImage)
                    #expect(r.partials.last?.textIDs == [3, 9, 1])
                }
            }
        }
    }

    // MARK: Guidance

    /// Image logits differ by sequence variant: the conditional argmax is code 1, but uncond_img favours code 1 even
    /// more, so cond + g·(cond − uncond_img) prefers code 6; uncond_txt pushes towards code 3.
    static func guidanceProvider() -> ScriptedProvider {
        let s = vocabulary.special, inputEnd = layout.inputLength
        return ScriptedProvider(vocabulary: vocabulary) { seq, _, modality in
            if modality == .text {
                var row = [Float](repeating: 0, count: vocabulary.textSlice.count)
                row[2] = 30
                return row
            }
            let input = seq.prefix(inputEnd)
            let hasImage = input.contains(Int32(s.soi)), unconditionalText = input.contains(Int32(s.uncond))
            var row = [Float](repeating: 0, count: vocabulary.codebookSize)
            if unconditionalText { row[1] = 2; row[3] = -4 }          // uncond_txt
            else if !hasImage && seq.contains(Int32(s.thinkEdit)) { row[1] = 6 }  // uncond_img of an editing prompt
            else { row[1] = 2; row[6] = 1.5 }                         // conditional
            return row
        }
    }

    @Test("image candidates follow the guided logits, and unconditional passes run only when needed")
    func guidanceReachesCandidates() throws {
        let g = 3
        // No guidance: the conditional argmax.
        var p = Self.guidanceProvider()
        var s = try ParallelSampler(provider: p, vocabulary: Self.vocabulary, layout: Self.layout,
                                    config: Self.config(imageTemperature: 0, imageGuidance: 0))
        #expect(try s.sample(Self.edit, seeds: [1, 2, 3], recordSteps: []).allSatisfy { $0.finalImageCodes == [1, 1, 1, 1] })
        #expect(p.batches.allSatisfy { $0.batch == g })
        // Image guidance on an editing prompt: cond 2 + 1·(2 − 6) = −2 for code 1, 1.5 + 1.5 = 3 for code 6.
        p = Self.guidanceProvider()
        s = try ParallelSampler(provider: p, vocabulary: Self.vocabulary, layout: Self.layout,
                                config: Self.config(imageTemperature: 0, imageGuidance: 1))
        #expect(try s.sample(Self.edit, seeds: [1, 2, 3], recordSteps: []).allSatisfy { $0.finalImageCodes == [6, 6, 6, 6] })
        let imageSteps = Set(s.schedule.imageStepNumbers)
        #expect(p.batches.count == 8)
        for (i, b) in p.batches.enumerated() { #expect(b.batch == (imageSteps.contains(i + 1) ? 2 * g : g)) }
        // A generation prompt has no input image: uncond_img equals cond, so no extra pass and no effect.
        p = Self.guidanceProvider()
        s = try ParallelSampler(provider: p, vocabulary: Self.vocabulary, layout: Self.layout,
                                config: Self.config(imageTemperature: 0, imageGuidance: 1))
        #expect(try s.sample(Self.generate, seeds: [1, 2, 3], recordSteps: []).allSatisfy { $0.finalImageCodes == [1, 1, 1, 1] })
        #expect(p.batches.allSatisfy { $0.batch == g })
        // Text guidance: cond + 2·(cond − uncond_txt): code 1 → 2, code 3 → 8, code 6 → 4.5.
        p = Self.guidanceProvider()
        s = try ParallelSampler(provider: p, vocabulary: Self.vocabulary, layout: Self.layout,
                                config: Self.config(imageTemperature: 0, imageGuidance: 0, textGuidance: 2))
        #expect(try s.sample(Self.generate, seeds: [4], recordSteps: []).allSatisfy { $0.finalImageCodes == [3, 3, 3, 3] })
        for (i, b) in p.batches.enumerated() { #expect(b.batch == (imageSteps.contains(i + 1) ? 2 : 1)) }
        // The recorded log-probability is the unguided one: log softmax(cond)[6] under guidance.
        p = Self.guidanceProvider()
        s = try ParallelSampler(provider: p, vocabulary: Self.vocabulary, layout: Self.layout,
                                config: Self.config(imageTemperature: 0, imageGuidance: 1))
        let r = try s.sample(Self.edit, seeds: [9], recordSteps: [])[0]
        let cond: [Float] = [0, 2, 0, 0, 0, 0, 1.5, 0]
        let expected = Float(1.5 - log(cond.map { exp(Double($0)) }.reduce(0, +)))
        for j in 0..<4 { #expect(abs(r.record.logProb[j] - expected) < 1e-6) }
    }

    // MARK: Seeds, replay

    @Test("the same seed gives identical rollouts, and a rollout replayed alone equals it inside the batch")
    func seedsReproduce() throws {
        let policy = try Self.microPolicy()
        for decoding in DecodingOrder.allCases {
            let c = Self.config(steps: 8, block: 4, imageSteps: 4, decoding: decoding, imageGuidance: 2, textGuidance: 0.5)
            let sampler = try ParallelSampler(policy: policy, layout: Self.layout, config: c)
            let a = try sampler.sample(Self.edit, seeds: [11, 12, 13], recordSteps: [2, 5, 8])
            let b = try sampler.sample(Self.edit, seeds: [11, 12, 13], recordSteps: [2, 5, 8])
            #expect(a == b)
            let alone = try sampler.sample(Self.edit, seeds: [12], recordSteps: [2, 5, 8])[0]
            #expect(alone.record.tokens == a[1].record.tokens)
            #expect(alone.record.revealStep == a[1].record.revealStep)
            #expect(alone.partials == a[1].partials)
            for (x, y) in zip(alone.record.logProb, a[1].record.logProb) { #expect(abs(x - y) < 1e-5) }
            // Mixed prompts in one batch equal the same rollouts sampled per prompt.
            let mixed = try sampler.sample(prompts: [Self.generate, Self.edit], seeds: [12, 12], recordSteps: [])
            #expect(mixed[1].record.tokens == a[1].record.tokens)
            let generateAlone = try sampler.sample(Self.generate, seeds: [12], recordSteps: [])[0]
            #expect(mixed[0].record.tokens == generateAlone.record.tokens)
            // Different seeds explore: not all three rollouts agree.
            #expect(Set(a.map(\.record.tokens)).count > 1)
            #expect(a.map(\.record.seed) == [11, 12, 13])
        }
    }

    @Test("replaying a record rebuilds every intermediate state and, by a forward pass, the stored log-probabilities")
    func replay() throws {
        let policy = try Self.microPolicy(seed: 5)
        for decoding in DecodingOrder.allCases {
            let c = Self.config(steps: 8, block: 4, imageSteps: 3, decoding: decoding, placement: .lateStart, imageGuidance: 1.5)
            // Capture the conditional sequences the sampler actually fed the model.
            let inner = try PolicyLogitsProvider(policy: policy)
            final class Capture: SamplerLogitsProvider {
                let inner: PolicyLogitsProvider
                var seen: [[Int32]] = []
                init(_ inner: PolicyLogitsProvider) { self.inner = inner }
                func logits(tokens: [Int32], keyMask: [UInt8], batch: Int, length: Int, textRows: [Int32], imageRows: [Int32]) throws
                    -> (text: [Float], image: [Float]) {
                    seen.append(tokens)
                    return try inner.logits(tokens: tokens, keyMask: keyMask, batch: batch, length: length, textRows: textRows, imageRows: imageRows)
                }
            }
            let capture = Capture(inner)
            let sampler = try ParallelSampler(provider: capture, vocabulary: Self.vocabulary, layout: Self.layout, config: c)
            let rollouts = try sampler.sample(Self.edit, seeds: [21, 22], recordSteps: Set(1...8))
            let cond = try sampler.guidanceInputs(for: Self.edit).conditional
            let length = Self.layout.length, mask = Self.vocabulary.special.mask
            // Steps with a forward pass, in order (a step reveals something iff it ran one).
            let forwardSteps = (1...8).filter { s in rollouts.contains { !$0.record.outputIndices(revealedAt: s).isEmpty } }
            #expect(capture.seen.count == forwardSteps.count)
            for (r, rollout) in rollouts.enumerated() {
                let record = rollout.record
                for (i, s) in forwardSteps.enumerated() {
                    let fed = Array(capture.seen[i][(r * length)..<((r + 1) * length)])
                    #expect(fed == record.state(before: s, prompt: cond, layout: Self.layout, maskID: mask))
                }
                // After the last step the state is the final sequence: nothing masked.
                #expect(!record.state(before: 9, prompt: cond, layout: Self.layout, maskID: mask).contains(Int32(mask)))
                let replayed = try sampler.replayLogProbs(record, prompt: Self.edit)
                for (x, y) in zip(replayed, record.logProb) { #expect(abs(x - y) < 1e-5) }
                // Partials: revealed tokens up to each step.
                for partial in rollout.partials {
                    for j in 0..<4 where record.revealStep[j] <= partial.step {
                        #expect(partial.imageCodes[j] == Int(record.tokens[j]) - Self.vocabulary.codebookOffset)
                    }
                    var text: [Int] = []
                    for j in 4..<record.tokens.count where record.revealStep[j] <= partial.step {
                        let t = Int(record.tokens[j])
                        if t >= Self.vocabulary.textCount { break }
                        text.append(t)
                    }
                    #expect(partial.textIDs == text)
                }
            }
        }
    }

    @Test("partial outputs: placeholder text at masks and the neutral image code")
    func partialModes() throws {
        var c = Self.config(steps: 8, block: 4, imageSteps: 4, textTemperature: 0, imageTemperature: 0)
        c.partialText = .placeholder
        c.partialImage = .neutral
        c.partialImageNeutralCode = 7
        let sampler = try ParallelSampler(provider: Self.oracle(), vocabulary: Self.vocabulary, layout: Self.layout, config: c,
                                          placeholderTextID: 10)
        let r = try sampler.sample(Self.generate, seeds: [1], recordSteps: [1, 8])[0]
        let first = try #require(r.partials.first)
        let revealedImage = (0..<4).filter { r.record.revealStep[$0] <= 1 }
        for j in 0..<4 { #expect(first.imageCodes[j] == (revealedImage.contains(j) ? Self.targetImage[j] : 7)) }
        // Step 1 reveals the first text positions of block 0; masks show the placeholder until the first <|eos|>.
        let expectedText = (4..<12).map { j -> Int in r.record.revealStep[j] <= 1 ? Int(Self.targetText[j - 4]) : 10 }
        let cut = zip(expectedText, (4..<12)).prefix { t, j in !(r.record.revealStep[j] <= 1 && t >= Self.vocabulary.textCount) }.map(\.0)
        #expect(first.textIDs == cut)
        #expect(r.partials.last?.textIDs == [3, 9, 1])
    }

    // MARK: Records

    @Test("record encode/decode round trip, and corrupt blobs fail with a reason")
    func recordEncoding() throws {
        let policy = try Self.microPolicy()
        let sampler = try ParallelSampler(policy: policy, layout: Self.layout, config: Self.config())
        let record = try sampler.sample(Self.edit, seeds: [UInt64.max - 3], recordSteps: [])[0].record
        let blob = record.encoded()
        #expect(blob.count == 10 * record.tokens.count + 28)
        #expect(try TrajectoryRecord(encoded: blob) == record)

        func rejects(_ data: Data, _ fragment: String) {
            do {
                _ = try TrajectoryRecord(encoded: data)
                Issue.record("accepted a corrupt blob (\(fragment))")
            } catch let SamplingError.corruptRecord(m) {
                #expect(m.contains(fragment), "\(m)")
            } catch { Issue.record("unexpected \(error)") }
        }
        rejects(blob.prefix(blob.count - 1), "positions need")
        rejects(Data(), "shorter")
        var flipped = blob
        flipped[40] ^= 0x10
        rejects(flipped, "checksum")
        var magic = blob
        magic[0] = 0x58
        rejects(magic, "PRTR")
        var version = blob
        version[4] = 9
        rejects(version, "version 9")
        var bad = record
        bad.revealStep[2] = Int32(record.steps + 1)
        rejects(bad.encoded(), "reveal step")
        bad = record
        bad.logProb[0] = .nan
        rejects(bad.encoded(), "log-probability")
    }
}
