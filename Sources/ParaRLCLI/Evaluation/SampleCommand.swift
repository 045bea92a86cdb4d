// `pararl sample`: G rollouts of one prompt from a policy checkpoint with the parallel sampler (docs/design.md §3.4), written
// as final images and reasoning texts, plus strips of the partial images and texts at chosen steps.
import ArgumentParser
import Foundation
import ParaRLCore
import ParaRLMedia
import ParaRLRunKit
import ParaRLSampling
import ParaRLWorld

/// Sampler options shared by `sample` and `eval`: a YAML file and per-key overrides.
struct SamplerOptions: ParsableArguments {
    @Option(help: "Sampler config YAML (rl-configs/sample-tiny.yaml; default: the built-in defaults).") var config: String?
    @Option(help: "Override decoding: parallel, sequential or semi-parallel.") var decoding: String?
    @Option(help: "Override steps (T).") var steps: Int?
    @Option(help: "Override image_steps (K_img).") var imageSteps: Int?

    func validate() throws {
        if let d = decoding, DecodingOrder(rawValue: d) == nil {
            throw ValidationError("--decoding must be parallel, sequential or semi-parallel, got \(d)")
        }
    }

    func resolve() throws -> SamplerConfig {
        var c = try config.map { try SamplerConfig.load(URL(fileURLWithPath: $0)) } ?? SamplerConfig()
        if let d = decoding.flatMap(DecodingOrder.init(rawValue:)) { c.decoding = d }
        if let steps { c.steps = steps }
        if let imageSteps { c.imageSteps = imageSteps }
        try c.validate(source: "(command line)")
        return c
    }
}

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Sample reasoning text and image together from a policy checkpoint.",
        discussion: """
            Runs G rollouts of one prompt as one batch on the shared T-step axis: the text is revealed block by
            block (LLaDA low-confidence remasking), the image by MaskGIT's cosine schedule with classifier-free
            guidance, both from the same forward pass at every step. Rollout i uses seed split(S, i) (printed, and
            stored in its record), so it can be replayed alone. Writes to DIR, per rollout i:
              rollout-I.png (final image), rollout-I.txt (reasoning), rollout-I.record (trajectory record, binary),
              and with --record: rollout-I-steps.png (the partial images of the recorded steps, left to right) and
              rollout-I-steps.txt (the partial texts);
            plus sampler_config.yaml (the resolved config).
            Examples:
              pararl sample --checkpoint runs/sft-tiny/checkpoints/step-00000400 --instruction "draw a red circle at the center on a day background" --out samples
              pararl sample --checkpoint runs/sft-tiny/checkpoints/step-00000400 --instruction "make the square blue" --image in.png --group 4 --record all --out samples
              pararl sample --checkpoint C --instruction "…" --decoding sequential --record 4,8,12,16,20,24 --out samples
            """)

    @Option(help: "Policy checkpoint folder (with sft_config.yaml; tokenizers in the run's tokenizer/ folder).") var checkpoint: String
    @Option(help: "The instruction.") var instruction: String
    @Option(help: "Input image PNG (makes it an editing prompt); must match the image tokenizer's size.") var image: String?
    @Option(help: "Root seed.") var seed: UInt64 = 0
    @Option(help: "Rollouts G (one batch).") var group: Int = 1
    @Option(help: "Output folder.") var out: String
    @Option(help: "Steps whose partial outputs to draw: all, or comma-separated steps 1…T.") var record: String?
    @Option(help: "Enlargement of the strip images.") var scale: Int = 4
    @Option(help: "Time the sampling this many times and report the median (benchmarks).") var repeats: Int = 1
    @Flag(help: "Print a JSON summary (seeds, timing) instead of text.") var json = false
    @OptionGroup var sampler: SamplerOptions
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if !(1...Limits.batch).contains(group) { throw ValidationError("--group must be in 1…\(Limits.batch), got \(group)") }
        if scale < 1 || scale > 32 { throw ValidationError("--scale must be in 1...32, got \(scale)") }
        if repeats < 1 { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
    }

    static func recordSteps(_ spec: String?, steps: Int) throws -> [Int] {
        guard let spec else { return [] }
        if spec == "all" { return Array(1...steps) }
        return try spec.split(separator: ",").map {
            guard let k = Int($0.trimmingCharacters(in: .whitespaces)), (1...steps).contains(k) else {
                throw ValidationError("--record: \"\($0)\" is not a step in 1…\(steps)")
            }
            return k
        }.sorted()
    }

    func run() throws {
        compute.apply()
        let config = try sampler.resolve()
        let bundle = try PolicyBundle.load(checkpoint: URL(fileURLWithPath: checkpoint))
        let input = try image.map { try PNGCodec.read(URL(fileURLWithPath: $0)) }
        if let input, input.width != bundle.encoder.image.imageWidth || input.height != bundle.encoder.image.imageHeight {
            throw ValidationError("\(image ?? ""): \(input.width)×\(input.height), the image tokenizer needs "
                                  + "\(bundle.encoder.image.imageWidth)×\(bundle.encoder.image.imageHeight)")
        }
        let prompt = try bundle.prompt(instruction: instruction, image: input)
        let steps = try Self.recordSteps(record, steps: config.steps)
        let seeds = (0..<group).map { RandomStream(seed: seed).split($0).key }
        let s = try bundle.sampler(config: config)
        var rollouts: [Rollout] = []
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = Date()
            rollouts = try s.sample(prompt, seeds: seeds, recordSteps: Set(steps))
            times.append(Date().timeIntervalSince(start))
        }
        let seconds = times.sorted()[times.count / 2]

        let dir = URL(fileURLWithPath: out)
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw ValidationError("cannot create \(out): \(error.localizedDescription)")
        }
        try Data(config.yaml().utf8).write(to: dir.appendingPathComponent("sampler_config.yaml"))
        var summary: [String] = []
        for (i, r) in rollouts.enumerated() {
            let name = String(format: "rollout-%02d", i)
            let (reasoning, picture) = try bundle.decode(r)
            try PNGCodec.write(picture, to: dir.appendingPathComponent("\(name).png"))
            try Data((reasoning + "\n").utf8).write(to: dir.appendingPathComponent("\(name).txt"))
            try r.record.encoded().write(to: dir.appendingPathComponent("\(name).record"))
            if !r.partials.isEmpty {
                let decoded = try r.partials.map { try bundle.decode($0) }
                try PNGCodec.write(Self.strip(decoded.map(\.image), scale: scale), to: dir.appendingPathComponent("\(name)-steps.png"))
                let lines = zip(r.partials, decoded).map { "step \($0.step): \($1.text)" }
                try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: dir.appendingPathComponent("\(name)-steps.txt"))
            }
            summary.append("\(name) seed \(r.record.seed): \(reasoning)")
        }
        let rolloutSteps = group * config.steps
        if json {
            // Timing, plus the exact input sequences and sizes so a peer implementation can sample the same prompt.
            let inputs = try s.guidanceInputs(for: prompt), v = bundle.vocabulary, l = bundle.layout
            let object: [String: Any] = [
                "rollouts": group, "steps": config.steps, "seconds": seconds, "rollout_steps": rolloutSteps,
                "rollout_steps_per_second": Double(rolloutSteps) / seconds, "threads": Parallel.threadCount,
                "decoding": config.decoding.rawValue, "seeds": seeds.map { String($0) },
                "conditional": inputs.conditional.tokens.map { Int($0) }, "conditional_key_mask": inputs.conditional.keyMask.map { Int($0) },
                "unconditional_image": inputs.unconditionalImage.map { $0.tokens.map { Int($0) } } ?? NSNull(),
                "unconditional_image_key_mask": inputs.unconditionalImage.map { $0.keyMask.map { Int($0) } } ?? NSNull(),
                "image_region_start": l.imageRegion.lowerBound, "image_codes": l.imageCodes, "text_region_start": l.textRegion.lowerBound,
                "text_length": l.textLength, "mask_id": v.special.mask, "text_vocab_size": v.textCount, "eos_id": v.special.eos,
                "pad_id": v.special.pad, "codebook_offset": v.codebookOffset, "codebook_size": v.codebookSize,
                "config": ["text_block_length": config.textBlockLength, "text_temperature": Double(config.textTemperature),
                           "image_temperature": Double(config.imageTemperature), "image_steps": config.imageSteps,
                           "image_guidance": Double(config.imageGuidance), "image_placement": config.imagePlacement.rawValue],
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            summary.forEach { print($0) }
            print(String(format: "%d rollouts × %d steps in %.2f s (%.1f rollout-steps/s, %d threads); wrote %@",
                         group, config.steps, seconds, Double(rolloutSteps) / seconds, Parallel.threadCount, out))
        }
    }

    /// Images left to right on a light background, each enlarged by `scale`, 2-pixel gaps.
    static func strip(_ images: [RGBImage], scale: Int) -> RGBImage {
        let w = images.map(\.width).max() ?? 1, h = images.map(\.height).max() ?? 1, gap = 2
        var out = RGBImage(width: images.count * (w * scale + gap) + gap, height: h * scale + 2 * gap, fill: RGB(235, 235, 235))
        for (i, im) in images.enumerated() { out.draw(im, x: gap + i * (w * scale + gap), y: gap, scale: scale) }
        return out
    }
}
