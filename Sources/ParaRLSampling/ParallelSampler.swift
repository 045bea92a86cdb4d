// MMaDA-Parallel's parallel text–image sampler with dual schedulers (docs/design.md §3.4, paper §3.2 / App. E): one shared
// axis of T steps; each step one batched forward pass of every rollout (plus the unconditional passes on image steps
// when a guidance weight is non-zero), then the text reveals its LLaDA share inside the current block (Gumbel-max
// candidates, low-confidence remasking) and the image its MaskGIT share (sampled candidates from guided logits,
// log p + temperature·(1−ratio)·Gumbel confidence). Every reveal is recorded exactly (TrajectoryRecord).
import Foundation
import ParaRLCore
import ParaRLRunKit
import ParaRLPolicy

/// The conditional sequence of a prompt and the unconditional variants the guidance needs.
///
/// uncond_img = the prompt without its input image (`SequenceBuilder.build(dropInputImage:)`, SFT's image-condition
/// dropout); uncond_txt = the instruction replaced by `<|uncond|>` (`dropInstruction:`, SFT's text-condition dropout).
/// A variant is nil when its weight is 0 or its input equals the conditional one (generation tasks have no input
/// image, so their uncond_img is the conditional sequence and `cond − uncond_img = 0` exactly): no pass is wasted.
public struct GuidanceInputs: Sendable, Equatable {
    public var conditional: PolicySequence
    public var unconditionalImage: PolicySequence?
    public var unconditionalText: PolicySequence?
}

public final class ParallelSampler {
    public let config: SamplerConfig
    public let layout: SequenceLayout
    public let vocabulary: UnifiedVocabulary
    public let schedule: SamplingSchedule
    public let builder: SequenceBuilder
    public let provider: any SamplerLogitsProvider
    /// The text id shown at masked positions under `partial_text: placeholder` (resolve the configured word with
    /// `TextTokenizer`; `PolicyBundle.sampler` does).
    public let placeholderTextID: Int
    /// Unified ids of the text slice's columns (text ids, then `<|eos|>`, `<|pad|>`).
    let textColumnIDs: [Int32]

    /// A sampler over `policy` (its config.json must carry the vocabulary).
    public convenience init(policy: Policy, layout: SequenceLayout, config: SamplerConfig, placeholderTextID: Int = 0) throws {
        try self.init(provider: try PolicyLogitsProvider(policy: policy), vocabulary: try policy.vocabulary(), layout: layout,
                      config: config, placeholderTextID: placeholderTextID)
    }

    public init(provider: any SamplerLogitsProvider, vocabulary: UnifiedVocabulary, layout: SequenceLayout, config: SamplerConfig,
                placeholderTextID: Int = 0) throws {
        self.provider = provider
        self.vocabulary = vocabulary
        self.layout = layout
        self.config = config
        schedule = try SamplingSchedule(config: config, textLength: layout.textLength, imageCodes: layout.imageCodes)
        builder = try SequenceBuilder(layout: layout, vocabulary: vocabulary)
        guard config.partialImageNeutralCode < vocabulary.codebookSize else {
            throw ParaRLError.invalidConfig(file: "(sampler config)", key: "partial_image_neutral_code",
                                            reason: "\(config.partialImageNeutralCode) is not a code of the \(vocabulary.codebookSize)-code codebook")
        }
        guard placeholderTextID >= 0 && placeholderTextID < vocabulary.textCount else {
            throw SamplingError.invalidInput("placeholder text id \(placeholderTextID) is outside 0..<\(vocabulary.textCount)")
        }
        self.placeholderTextID = placeholderTextID
        textColumnIDs = vocabulary.textSlice.ranges.flatMap { $0.map { Int32($0) } }
    }

    // MARK: Inputs

    /// The prompt with empty outputs (its output fields are ignored).
    func promptOnly(_ p: PolicySample) -> PolicySample {
        PolicySample(id: p.id, kind: p.kind, instruction: p.instruction, inputImage: p.inputImage, reasoning: [],
                     outputImage: Array(repeating: 0, count: layout.imageCodes))
    }

    /// The conditional sequence and the unconditional ones this config's guidance needs (see `GuidanceInputs`).
    public func guidanceInputs(for prompt: PolicySample) throws -> GuidanceInputs {
        let p = promptOnly(prompt)
        let cond = try builder.build(p)
        var inputs = GuidanceInputs(conditional: cond, unconditionalImage: nil, unconditionalText: nil)
        if config.imageGuidance != 0 {
            let u = try builder.build(p, dropInputImage: true)
            if u.tokens != cond.tokens || u.keyMask != cond.keyMask { inputs.unconditionalImage = u }
        }
        if config.textGuidance != 0 {
            let u = try builder.build(p, dropInstruction: true)
            if u.tokens != cond.tokens || u.keyMask != cond.keyMask { inputs.unconditionalText = u }
        }
        return inputs
    }

    /// Guided image logits `cond + g_img·(cond − uncond_img) + g_txt·(cond − uncond_txt)` (a nil unconditional row
    /// equals `cond`, so its term vanishes).
    public static func guide(conditional: ArraySlice<Float>, unconditionalImage: ArraySlice<Float>?, unconditionalText: ArraySlice<Float>?,
                             imageGuidance: Float, textGuidance: Float) -> [Float] {
        var out = Array(conditional)
        if let u = unconditionalImage {
            for (i, (c, v)) in zip(conditional, u).enumerated() { out[i] += imageGuidance * (c - v) }
        }
        if let u = unconditionalText {
            for (i, (c, v)) in zip(conditional, u).enumerated() { out[i] += textGuidance * (c - v) }
        }
        return out
    }

    // MARK: Sampling

    /// One rollout per seed of one prompt, all run as one batch. Each rollout draws only from `RandomStream(seed:)`,
    /// so a rollout replayed alone equals it inside the batch. `recordSteps` ⊂ 1…T: the steps whose partial outputs
    /// the rollouts return.
    public func sample(_ prompt: PolicySample, seeds: [UInt64], recordSteps: Set<Int>) throws -> [Rollout] {
        try sample(prompts: Array(repeating: prompt, count: seeds.count), seeds: seeds, recordSteps: recordSteps)
    }

    /// Rollout i of `prompts[i]` with `seeds[i]`, all in one batch. `onStep(s)` is called after each step.
    public func sample(prompts: [PolicySample], seeds: [UInt64], recordSteps: Set<Int>,
                       onStep: ((Int) -> Void)? = nil) throws -> [Rollout] {
        guard prompts.count == seeds.count, !seeds.isEmpty else {
            throw SamplingError.invalidInput("\(prompts.count) prompts for \(seeds.count) seeds (need the same, at least one)")
        }
        let t = config.steps
        if let bad = recordSteps.first(where: { $0 < 1 || $0 > t }) {
            throw SamplingError.invalidInput("record step \(bad) is outside 1…\(t)")
        }
        var states = try zip(prompts, seeds).map { p, s in
            RolloutState(seed: s, inputs: try guidanceInputs(for: p), outputs: layout.outputPositions.count,
                         imageCodes: layout.imageCodes, mask: Int32(vocabulary.special.mask))
        }
        for s in 1...t {
            try step(s, &states)
            if recordSteps.contains(s) {
                for r in states.indices { states[r].partials.append(partial(at: s, states[r])) }
            }
            onStep?(s)
        }
        return states.map { st in
            let n = layout.imageCodes
            let record = TrajectoryRecord(seed: st.seed, steps: t, tokens: st.output, revealStep: st.revealStep, logProb: st.logProb)
            return Rollout(record: record, partials: st.partials, finalTextIDs: finalText(st.output),
                           finalImageCodes: st.output[0..<n].map { Int($0) - vocabulary.codebookOffset })
        }
    }

    struct RolloutState {
        let seed: UInt64
        var rng: RandomStream
        let inputs: GuidanceInputs
        /// Current tokens at the output positions (`[MASK]` until revealed).
        var output: [Int32]
        var revealStep: [Int32]
        var logProb: [Float]
        /// The latest image-step candidates per image position (codes), −1 before the first image step.
        var candidates: [Int32]
        var partials: [PartialOutput] = []

        init(seed: UInt64, inputs: GuidanceInputs, outputs: Int, imageCodes: Int, mask: Int32) {
            self.seed = seed
            rng = RandomStream(seed: seed)
            self.inputs = inputs
            output = Array(repeating: mask, count: outputs)
            revealStep = Array(repeating: 0, count: outputs)
            logProb = Array(repeating: 0, count: outputs)
            candidates = Array(repeating: -1, count: imageCodes)
        }
    }

    private func step(_ s: Int, _ states: inout [RolloutState]) throws {
        let plan = schedule[s], n = layout.imageCodes, length = layout.length, mask = Int32(vocabulary.special.mask)
        let positions = layout.outputPositions
        // Output indices each rollout needs candidates for.
        var textIndices: [[Int]] = Array(repeating: [], count: states.count)
        if plan.textReveal > 0, let block = plan.textBlock {
            for r in states.indices {
                textIndices[r] = schedule.textBlocks[block].map { n + $0 }.filter { states[r].output[$0] == mask }
            }
        }
        var imageIndices: [[Int]] = Array(repeating: [], count: states.count)
        if plan.imageStep != nil {
            for r in states.indices { imageIndices[r] = (0..<n).filter { states[r].output[$0] == mask } }
        }
        if textIndices.allSatisfy(\.isEmpty) && imageIndices.allSatisfy(\.isEmpty) { return }

        // The batch: conditional sequences, then (image steps only) the unconditional-image and -text ones.
        var tokens: [Int32] = [], keyMask: [UInt8] = []
        tokens.reserveCapacity(3 * states.count * length)
        func append(_ seq: PolicySequence, _ output: [Int32]) {
            var t = seq.tokens
            for (j, p) in positions.enumerated() { t[p] = output[j] }
            tokens += t
            keyMask += seq.keyMask
        }
        for st in states { append(st.inputs.conditional, st.output) }
        var textRows: [Int32] = [], imageRows: [Int32] = []
        var uncondImageSeq = [Int?](repeating: nil, count: states.count), uncondTextSeq = [Int?](repeating: nil, count: states.count)
        var sequences = states.count
        if plan.imageStep != nil {
            for r in states.indices where !imageIndices[r].isEmpty {
                if let u = states[r].inputs.unconditionalImage { append(u, states[r].output); uncondImageSeq[r] = sequences; sequences += 1 }
            }
            for r in states.indices where !imageIndices[r].isEmpty {
                if let u = states[r].inputs.unconditionalText { append(u, states[r].output); uncondTextSeq[r] = sequences; sequences += 1 }
            }
        }
        for r in states.indices {
            for j in textIndices[r] { textRows.append(Int32(r * length + positions[j])) }
        }
        // Image rows: per rollout its conditional rows, then its unconditional-image rows, then unconditional-text rows.
        var imageRowStart = [Int](repeating: 0, count: states.count)
        for r in states.indices {
            imageRowStart[r] = imageRows.count
            for seq in [r, uncondImageSeq[r], uncondTextSeq[r]].compactMap({ $0 }) {
                for j in imageIndices[r] { imageRows.append(Int32(seq * length + positions[j])) }
            }
        }
        let logits = try provider.logits(tokens: tokens, keyMask: keyMask, batch: sequences, length: length,
                                         textRows: textRows, imageRows: imageRows)
        let wt = vocabulary.textSlice.count, wi = vocabulary.codebookSize
        guard logits.text.count == textRows.count * wt, logits.image.count == imageRows.count * wi else {
            throw SamplingError.invalidInput("the logits provider returned \(logits.text.count)/\(logits.image.count) values for \(textRows.count)×\(wt) text and \(imageRows.count)×\(wi) image logits")
        }
        var textRowStart = [Int](repeating: 0, count: states.count), textRow = 0
        for r in states.indices {
            textRowStart[r] = textRow
            textRow += textIndices[r].count
        }
        // Each rollout reveals from its own rows with its own stream, so the rollouts run side by side on the kernels'
        // threads with the same results as one after another.
        let uncondImage = uncondImageSeq.map { $0 != nil }, uncondText = uncondTextSeq.map { $0 != nil }
        states.withUnsafeMutableBufferPointer { all in
            guard let base = all.baseAddress else { return }
            Parallel.chunks(all.count) { range in
                for r in range {
                    if !textIndices[r].isEmpty {
                        revealText(plan, s, &base[r], indices: textIndices[r], logits: logits.text, firstRow: textRowStart[r], width: wt)
                    }
                    if let k = plan.imageStep, !imageIndices[r].isEmpty {
                        revealImage(plan, s, k, &base[r], indices: imageIndices[r], logits: logits.image, firstRow: imageRowStart[r],
                                    hasUncondImage: uncondImage[r], hasUncondText: uncondText[r])
                    }
                }
            }
        }
    }

    /// LLaDA's step inside the current block: candidate = argmax(logits + τ·Gumbel) (greedy at τ = 0), confidence =
    /// softmax probability of the candidate under the conditional logits, reveal the `textReveal` most confident.
    private func revealText(_ plan: ScheduledStep, _ s: Int, _ st: inout RolloutState, indices: [Int], logits: [Float],
                            firstRow: Int, width: Int) {
        let tau = config.textTemperature
        var candidate = [Int](repeating: 0, count: indices.count), confidence = [Float](repeating: 0, count: indices.count)
        var logProb = [Float](repeating: 0, count: indices.count)
        for i in indices.indices {
            let row = logits[((firstRow + i) * width)..<((firstRow + i + 1) * width)]
            var best = row.startIndex, bestValue = -Float.infinity
            for c in row.indices {
                let v = tau == 0 ? row[c] : row[c] + tau * st.rng.gumbel()
                if v > bestValue { bestValue = v; best = c }
            }
            let column = best - row.startIndex
            let lp = Self.logSoftmax(row, at: column)
            candidate[i] = column; logProb[i] = lp; confidence[i] = Foundation.exp(lp)
        }
        for i in Self.mostConfident(confidence, count: plan.textReveal) {
            let j = indices[i]
            st.output[j] = textColumnIDs[candidate[i]]
            st.revealStep[j] = Int32(s)
            st.logProb[j] = logProb[i]
        }
    }

    /// MaskGIT's step: candidates from softmax(guided/τ) (argmax at τ = 0), confidence = log p(candidate) +
    /// τ·(1 − (k+1)/K_img)·Gumbel, the `imageReveal` most confident revealed; the rest stay masked.
    private func revealImage(_ plan: ScheduledStep, _ s: Int, _ k: Int, _ st: inout RolloutState, indices: [Int], logits: [Float],
                             firstRow: Int, hasUncondImage: Bool, hasUncondText: Bool) {
        let tau = config.imageTemperature, w = vocabulary.codebookSize, m = indices.count
        let noiseScale = tau * (1 - Float(k + 1) / Float(config.imageSteps))
        func row(_ block: Int, _ i: Int) -> ArraySlice<Float> {
            let r = firstRow + block * m + i
            return logits[(r * w)..<((r + 1) * w)]
        }
        let uncondTextBlock = hasUncondImage ? 2 : 1
        var candidate = [Int](repeating: 0, count: m), confidence = [Float](repeating: 0, count: m), logProb = [Float](repeating: 0, count: m)
        for i in 0..<m {
            let cond = row(0, i)
            let guided = Self.guide(conditional: cond, unconditionalImage: hasUncondImage ? row(1, i) : nil,
                                    unconditionalText: hasUncondText ? row(uncondTextBlock, i) : nil,
                                    imageGuidance: config.imageGuidance, textGuidance: config.textGuidance)
            let c: Int, logP: Float
            if tau == 0 {
                c = Self.argmax(guided[...])
                logP = Self.logSoftmax(guided[...], at: c)
            } else {
                let scaled = guided.map { $0 / tau }
                c = st.rng.categorical(logits: scaled)
                logP = Self.logSoftmax(scaled[...], at: c) + noiseScale * st.rng.gumbel()
            }
            candidate[i] = c; confidence[i] = logP
            logProb[i] = Self.logSoftmax(cond, at: c)
            st.candidates[indices[i]] = Int32(c)
        }
        for i in Self.mostConfident(confidence, count: plan.imageReveal) {
            let j = indices[i]
            st.output[j] = Int32(vocabulary.imageID(code: candidate[i]))
            st.revealStep[j] = Int32(s)
            st.logProb[j] = logProb[i]
        }
    }

    // MARK: Partial and final outputs

    /// docs/design.md §3.4 "Partial outputs at step k", from the state after step k.
    func partial(at s: Int, _ st: RolloutState) -> PartialOutput {
        let n = layout.imageCodes, mask = Int32(vocabulary.special.mask), s0 = vocabulary.special
        var text: [Int] = []
        for j in n..<st.output.count {
            let tok = st.output[j]
            if tok == mask {
                if config.partialText == .placeholder { text.append(placeholderTextID) }
                continue
            }
            if tok == Int32(s0.eos) || tok == Int32(s0.pad) { break }
            text.append(Int(tok))
        }
        let image = (0..<n).map { j -> Int in
            if st.output[j] != mask { return Int(st.output[j]) - vocabulary.codebookOffset }
            if config.partialImage == .candidates, st.candidates[j] >= 0 { return Int(st.candidates[j]) }
            return config.partialImageNeutralCode
        }
        return PartialOutput(step: s, textIDs: text, imageCodes: image)
    }

    /// Text ids of the final text region up to the first `<|eos|>` (or `<|pad|>`).
    func finalText(_ output: [Int32]) -> [Int] {
        var out: [Int] = []
        for tok in output[layout.imageCodes...] {
            if tok == Int32(vocabulary.special.eos) || tok == Int32(vocabulary.special.pad) || Int(tok) >= vocabulary.textCount { break }
            out.append(Int(tok))
        }
        return out
    }

    // MARK: Replay

    /// log π(token | state before its step) for every output position of `record`, recomputed from the rebuilt
    /// states (one forward pass per step with reveals, batched `chunk` steps at a time, logits only at the
    /// positions revealed there). Equals `record.logProb` up to float rounding.
    public func replayLogProbs(_ record: TrajectoryRecord, prompt: PolicySample, chunk: Int = 8) throws -> [Float] {
        let cond = try builder.build(promptOnly(prompt))
        let positions = layout.outputPositions, length = layout.length, n = layout.imageCodes
        guard record.tokens.count == positions.count else {
            throw SamplingError.invalidInput("the record has \(record.tokens.count) output positions, the layout \(positions.count)")
        }
        let stepsWithReveals = (1...record.steps).filter { !record.outputIndices(revealedAt: $0).isEmpty }
        var out = [Float](repeating: 0, count: positions.count)
        var start = 0
        while start < stepsWithReveals.count {
            let group = Array(stepsWithReveals[start..<min(stepsWithReveals.count, start + max(1, chunk))])
            start += group.count
            var tokens: [Int32] = [], keyMask: [UInt8] = [], textRows: [Int32] = [], imageRows: [Int32] = []
            var textJ: [Int] = [], imageJ: [Int] = []
            for (b, s) in group.enumerated() {
                tokens += record.state(before: s, prompt: cond, layout: layout, maskID: vocabulary.special.mask)
                keyMask += cond.keyMask
                for j in record.outputIndices(revealedAt: s) {
                    if j < n { imageRows.append(Int32(b * length + positions[j])); imageJ.append(j) } else {
                        textRows.append(Int32(b * length + positions[j])); textJ.append(j)
                    }
                }
            }
            let logits = try provider.logits(tokens: tokens, keyMask: keyMask, batch: group.count, length: length,
                                             textRows: textRows, imageRows: imageRows)
            for (m, js, w, rowsLogits) in [(Modality.text, textJ, vocabulary.textSlice.count, logits.text),
                                           (Modality.image, imageJ, vocabulary.codebookSize, logits.image)] {
                for (i, j) in js.enumerated() {
                    guard let c = vocabulary.column(of: Int(record.tokens[j]), in: m) else {
                        throw SamplingError.invalidInput("token \(record.tokens[j]) at output position \(j) is not a \(m.rawValue) token")
                    }
                    out[j] = Self.logSoftmax(rowsLogits[(i * w)..<((i + 1) * w)], at: c)
                }
            }
        }
        return out
    }

    // MARK: Small numerics

    /// log softmax(row)[c], max-subtracted, summed in Double.
    static func logSoftmax(_ row: ArraySlice<Float>, at c: Int) -> Float {
        var top = -Float.infinity
        for v in row { top = max(top, v) }
        var sum = 0.0
        for v in row { sum += Foundation.exp(Double(v - top)) }
        return Float(Double(row[row.startIndex + c] - top) - Foundation.log(sum))
    }

    static func argmax(_ row: ArraySlice<Float>) -> Int {
        var best = row.startIndex
        for i in row.indices where row[i] > row[best] { best = i }
        return best - row.startIndex
    }

    /// Indices of the `count` largest confidences, ties to the lower index.
    static func mostConfident(_ confidence: [Float], count: Int) -> [Int] {
        Array(confidence.indices.sorted { confidence[$0] > confidence[$1] || (confidence[$0] == confidence[$1] && $0 < $1) }
            .prefix(count))
    }
}
