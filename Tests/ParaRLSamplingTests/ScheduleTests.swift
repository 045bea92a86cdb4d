// The dual schedulers' reveal counts per step and modality (docs/design.md §3.4), the image-step placements, the sampler
// config's YAML, and the guidance combination.
import Foundation
import ParaRLPolicy
import ParaRLRunKit
import Testing
@testable import ParaRLSampling

@Suite("Sampling schedules and config")
struct ScheduleTests {
    static func config(steps: Int, block: Int, imageSteps: Int, placement: ImageStepPlacement = .even,
                       decoding: DecodingOrder = .parallel) -> SamplerConfig {
        var c = SamplerConfig()
        c.steps = steps; c.textBlockLength = block; c.imageSteps = imageSteps; c.imagePlacement = placement; c.decoding = decoding
        return c
    }

    @Test("LLaDA get_num_transfer_tokens: n // steps each, the remainder to the first steps", arguments: [
        (10, 4, [3, 3, 2, 2]), (8, 4, [2, 2, 2, 2]), (5, 8, [1, 1, 1, 1, 1, 0, 0, 0]), (7, 1, [7]), (0, 3, [0, 0, 0]),
    ])
    func transferCounts(n: Int, steps: Int, expected: [Int]) {
        #expect(SamplingSchedule.transferCounts(n, steps: steps) == expected)
    }

    // (text length, T, block, decoding, text reveals per step): blocks split the text steps by the same rule.
    @Test("text reveals per step follow the blocks and the linear reveal inside each", arguments: [
        (10, 4, 4, DecodingOrder.parallel, [2, 2, 4, 2]),                      // blocks 4,4,2 over steps 2,1,1
        (12, 6, 4, DecodingOrder.parallel, [2, 2, 2, 2, 2, 2]),                // LLaDA's divisible case
        (7, 5, 7, DecodingOrder.parallel, [2, 2, 1, 1, 1]),                    // one block, remainder to the first steps
        (8, 8, 4, DecodingOrder.sequential, [2, 2, 2, 2, 0, 0, 0, 0]),         // text only in steps 1…T/2
        (9, 6, 3, DecodingOrder.semiParallel, [2, 1, 2, 1, 2, 1]),             // text on every step
        (96, 24, 32, DecodingOrder.parallel, Array(repeating: 4, count: 24)),  // the tiny default
    ])
    func textReveals(length: Int, steps: Int, block: Int, decoding: DecodingOrder, expected: [Int]) throws {
        let s = try SamplingSchedule(config: Self.config(steps: steps, block: block, imageSteps: 1, decoding: decoding),
                                     textLength: length, imageCodes: 4)
        #expect(s.steps.map(\.textReveal) == expected)
        #expect(s.steps.map(\.textReveal).reduce(0, +) == length)
        // Every revealed text position lies in the block of its step, and blocks advance in order.
        let blocks = s.steps.compactMap(\.textBlock)
        #expect(blocks == blocks.sorted())
        #expect(Set(blocks) == Set(0..<s.textBlocks.count))
    }

    // (N, K_img, image reveals per image step): N − floor(N·cos(π/2·(k+1)/K)) codes revealed so far, at least one kept
    // masked until the last step, which reveals all.
    @Test("image reveals per image step follow MaskGIT's cosine schedule", arguments: [
        (64, 12, [1, 2, 2, 4, 5, 5, 7, 6, 8, 8, 8, 8]),
        (4, 4, [1, 1, 1, 1]),
        (2, 3, [1, 0, 1]),      // the at-least-one-masked floor: nothing revealed at k = 1
        (10, 1, [10]),
        (16, 3, [3, 5, 8]),     // floor(16·cos(π/6)) = 13, floor(16·cos(π/3)) = 8
    ])
    func imageReveals(codes: Int, imageSteps: Int, expected: [Int]) throws {
        let s = try SamplingSchedule(config: Self.config(steps: imageSteps, block: 4, imageSteps: imageSteps), textLength: 4, imageCodes: codes)
        let image = s.steps.filter { $0.imageStep != nil }
        #expect(image.map(\.imageReveal) == expected)
        #expect(image.last?.imageKeptMasked == 0)
        for (k, st) in image.enumerated() {
            let kept = k == imageSteps - 1 ? 0 : max(1, min(codes - expected[..<k].reduce(0, +) - 1,
                                                           Int(floor(Double(codes) * cos(Double.pi / 2 * Double(k + 1) / Double(imageSteps))))))
            #expect(st.imageKeptMasked == kept)
        }
    }

    @Test("image steps are placed on the shared axis per placement and decoding order", arguments: [
        (24, 12, ImageStepPlacement.even, DecodingOrder.parallel, Array(stride(from: 2, through: 24, by: 2))),
        (16, 4, ImageStepPlacement.lateStart, DecodingOrder.parallel, [5, 9, 12, 16]),   // round(linspace(4, 15, 4)) + 1
        (8, 4, ImageStepPlacement.even, DecodingOrder.sequential, [5, 6, 7, 8]),
        (8, 2, ImageStepPlacement.even, DecodingOrder.semiParallel, [6, 8]),
        (10, 10, ImageStepPlacement.even, DecodingOrder.parallel, Array(1...10)),
        (12, 3, ImageStepPlacement.lateStart, DecodingOrder.sequential, [8, 10, 12]),    // 6 steps: linspace(1, 5, 3) + 7
    ])
    func placement(steps: Int, imageSteps: Int, placement: ImageStepPlacement, decoding: DecodingOrder, expected: [Int]) throws {
        let s = try SamplingSchedule(config: Self.config(steps: steps, block: 8, imageSteps: imageSteps, placement: placement, decoding: decoding),
                                     textLength: 8, imageCodes: 16)
        #expect(s.imageStepNumbers == expected)
        #expect(s.steps.map(\.imageReveal).reduce(0, +) == 16)
    }

    @Test("impossible schedules are config errors naming the key")
    func impossible() {
        #expect(throws: ParaRLError.self) {
            try SamplingSchedule(config: Self.config(steps: 4, block: 2, imageSteps: 2), textLength: 10, imageCodes: 4)  // 5 blocks, 4 steps
        }
        do {
            _ = try SamplingSchedule(config: Self.config(steps: 8, block: 8, imageSteps: 5, decoding: .sequential), textLength: 8, imageCodes: 4)
            Issue.record("5 image steps in 4 should fail")
        } catch let ParaRLError.invalidConfig(_, key, _, _) {
            #expect(key == "image_steps")
        } catch { Issue.record("unexpected \(error)") }
        #expect(throws: ParaRLError.self) {
            try SamplingSchedule(config: Self.config(steps: 8, block: 8, imageSteps: 7, placement: .lateStart), textLength: 8, imageCodes: 4)
        }
    }

    @Test("sampler YAML: defaults, overrides, resolved round trip, unknown keys and bad values name key and file")
    func yaml() throws {
        let c = try SamplerConfig.load(yaml: "steps: 16\ndecoding: semi-parallel\nimage_placement: late-start\nimage_steps: 6\n", source: "s.yaml")
        #expect(c.steps == 16 && c.decoding == .semiParallel && c.imagePlacement == .lateStart && c.imageSteps == 6)
        #expect(c.textBlockLength == SamplerConfig().textBlockLength)
        #expect(try SamplerConfig.load(yaml: c.yaml(), source: "resolved") == c)
        #expect(try SamplerConfig.load(yaml: SamplerConfig().yaml(), source: "defaults") == SamplerConfig())
        #expect(try SamplerConfig.load(yaml: "", source: "empty") == SamplerConfig())
        do {
            _ = try SamplerConfig.load(yaml: "steps: 8\ntemprature: 1\n", source: "s.yaml")
            Issue.record("unknown key accepted")
        } catch let e as ParaRLError {
            #expect(e.description.contains("temprature") && e.description.contains("s.yaml"))
        }
        do {
            _ = try SamplerConfig.load(yaml: "text_temperature: -1\n", source: "t.yaml")
            Issue.record("negative temperature accepted")
        } catch let e as ParaRLError {
            #expect(e.description.contains("text_temperature") && e.description.contains("t.yaml"))
        }
        #expect(throws: ParaRLError.self) { try SamplerConfig.load(yaml: "decoding: sideways\n", source: "d.yaml") }
        // A partial mapping decodes over the defaults (the trainer's `sampler:` section).
        let nested = try JSONDecoder().decode(SamplerConfig.self, from: Data("{\"image_guidance\": 0}".utf8))
        var expected = SamplerConfig()
        expected.imageGuidance = 0
        #expect(nested == expected)
    }

    @Test("guidance combines logits as cond + g_img·(cond − uncond_img) + g_txt·(cond − uncond_txt)")
    func guidance() {
        let cond: [Float] = [1, 2, 3, -1], ui: [Float] = [0, 1, 1, 2], ut: [Float] = [2, 2, 2, 2]
        let g = ParallelSampler.guide(conditional: cond[...], unconditionalImage: ui[...], unconditionalText: ut[...],
                                      imageGuidance: 3.5, textGuidance: 0.5)
        for i in cond.indices {
            #expect(abs(g[i] - (cond[i] + 3.5 * (cond[i] - ui[i]) + 0.5 * (cond[i] - ut[i]))) < 1e-6)
        }
        #expect(ParallelSampler.guide(conditional: cond[...], unconditionalImage: nil, unconditionalText: nil,
                                      imageGuidance: 3.5, textGuidance: 2) == cond)
        let onlyImage = ParallelSampler.guide(conditional: cond[...], unconditionalImage: ui[...], unconditionalText: nil,
                                              imageGuidance: 2, textGuidance: 9)
        #expect(onlyImage == zip(cond, ui).map { $0 + 2 * ($0 - $1) })
    }
}
