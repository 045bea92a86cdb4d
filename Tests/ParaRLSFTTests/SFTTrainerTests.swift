// The SFT trainer on the micro model: stopping and resuming gives bitwise the weights of an uninterrupted
// run; checkpoints are complete, pruned and loadable as policies; configs are strict.
import Foundation
import Testing
import ParaRLCore
import ParaRLMedia
import ParaRLRunKit
import ParaRLWorld
import ParaRLPolicy
@testable import ParaRLSFT
import TestSupport

@Suite("Policy SFT trainer")
struct SFTTrainerTests {
    static let rlConfigs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("rl-configs")

    /// A world source through a random 8-code tokenizer of 8×8 patches (16 codes per image).
    static func source() throws -> (WorldSampleSource, UnifiedVocabulary) {
        var rng = RandomStream(seed: 11)
        let vq = try PatchVQ(patchSize: 8, imageWidth: 32, imageHeight: 32, codebook: (0..<(8 * 192)).map { _ in rng.uniform() })
        let encoder = SampleEncoder(text: TextTokenizer.world(), image: vq)
        return (WorldSampleSource(seed: 0, encoder: encoder),
                UnifiedVocabulary(textCount: encoder.text.count, codebookSize: vq.codeCount))
    }

    static func microConfig() throws -> (SFTConfig, PolicyArchitecture) {
        let config = try SFTConfig.load(rlConfigs.appendingPathComponent("sft-micro.yaml"))
        let arch = try PolicyArchitecture.load(rlConfigs.appendingPathComponent(config.model))
        return (config, arch)
    }

    static func freshTrainer(_ dir: URL, _ config: SFTConfig, _ arch: PolicyArchitecture) throws -> SFTTrainer {
        let (source, vocabulary) = try Self.source()
        let policy = try Policy(config: arch.modelConfig(vocabulary: vocabulary))
        var rng = RandomStream(seed: config.seed).split("init")
        policy.initialise(std: arch.initStd, rng: &rng)
        return try SFTTrainer(config: config, runDirectory: dir, policy: policy, source: source, imageCodes: 16)
    }

    static func temporary(_ label: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("sft-\(label)-\(UUID().uuidString)")
    }

    @Test("stop and resume gives bitwise the weights and optimiser of an uninterrupted run")
    func resumeIsExact() throws {
        let (config, arch) = try Self.microConfig()
        #expect(config.steps == 4 && config.checkpointEvery == 2)
        let dirA = Self.temporary("a"), dirB = Self.temporary("b")
        defer { try? FileManager.default.removeItem(at: dirA); try? FileManager.default.removeItem(at: dirB) }

        let a = try Self.freshTrainer(dirA, config, arch)
        var losses: [Double] = []
        try a.train { if case .step(let r) = $0 { losses.append(r.result.loss) } }
        #expect(losses.count == 4 && losses.allSatisfy(\.isFinite))
        let weightsA = Array(a.policy.model.params.buffer)

        let first = try Self.freshTrainer(dirB, config, arch)
        try first.train(until: 2)
        #expect(first.step == 2)
        // A new process: a policy with other weights, everything restored from the checkpoint.
        let (source, vocabulary) = try Self.source()
        let policy = try Policy(config: arch.modelConfig(vocabulary: vocabulary))
        let checkpoint = try TrainingCheckpoint.latest(runDirectory: dirB)
        #expect(checkpoint.lastPathComponent == "step-00000002")
        let b = try SFTTrainer(config: config, runDirectory: dirB, policy: policy, source: source, imageCodes: 16,
                               resumeFrom: checkpoint)
        #expect(b.step == 2 && b.dataPosition == 2 * config.batchSize)
        try b.train()
        #expect(Array(b.policy.model.params.buffer) == weightsA)

        let optA = try Data(contentsOf: dirA.appendingPathComponent("checkpoints/step-00000004/optimizer.safetensors"))
        let optB = try Data(contentsOf: dirB.appendingPathComponent("checkpoints/step-00000004/optimizer.safetensors"))
        #expect(optA == optB)
        #expect(try b.log.stepCount() == 4)
        let evalsA = try a.log.evaluations().count, evalsB = try b.log.evaluations().count
        #expect(evalsA == evalsB && evalsA == 3)  // steps 0, 2, 4
        // keep_checkpoints: 2 → steps 2 and 4; the checkpoint loads as a policy.
        #expect(try TrainingCheckpoint.completed(runDirectory: dirB).map(\.step) == [2, 4])
        let loaded = try Policy.load(directory: dirB.appendingPathComponent("checkpoints/step-00000004"))
        #expect(Array(loaded.model.params.buffer) == weightsA)
    }

    @Test("a run folder starts from a config file, stores the resolved config and tokenizers, and resumes")
    func runFolder() throws {
        let dir = Self.temporary("run")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var rng = RandomStream(seed: 5)
        let vqURL = dir.appendingPathComponent("vq.safetensors")
        try PatchVQ(patchSize: 8, imageWidth: 32, imageHeight: 32, codebook: (0..<(8 * 192)).map { _ in rng.uniform() }).save(to: vqURL)
        let yaml = try String(contentsOf: Self.rlConfigs.appendingPathComponent("sft-micro.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "image_tokenizer: vq.safetensors", with: "image_tokenizer: \(vqURL.path)")
        let configURL = Self.rlConfigs.appendingPathComponent("sft-micro.yaml")
        let config = try SFTConfig.parse(yaml, source: configURL.path)
        // A dataset that cannot be read fails before anything is written: no run folder is left behind.
        var bad = config
        bad.data = dir.appendingPathComponent("missing.jsonl").path
        let badRun = dir.appendingPathComponent("bad")
        #expect(throws: (any Error).self) { try SFTRun.start(config: bad, configURL: configURL, runDirectory: badRun) }
        #expect(!FileManager.default.fileExists(atPath: badRun.path))
        let run = dir.appendingPathComponent("run")
        let first = try SFTRun.start(config: config, configURL: configURL, runDirectory: run)
        try first.train(until: 1)
        #expect(throws: ParaRLError.self) { try SFTRun.start(config: config, configURL: configURL, runDirectory: run) }
        let stored = try SFTConfig.load(run.appendingPathComponent(SFTRun.configFile))
        #expect(stored.imageTokenizer == run.appendingPathComponent("tokenizer/vq.safetensors").path)
        #expect(stored.model == Self.rlConfigs.appendingPathComponent("model-micro.yaml").path)
        let resumed = try SFTRun.resume(runDirectory: run)
        #expect(resumed.step == 1)
        try resumed.train()
        #expect(resumed.step == 4)
    }

    @Test("every rl-configs model and SFT file loads; unknown keys and bad values name file, key and line")
    func configs() throws {
        for name in ["model-micro.yaml", "model-tiny.yaml", "model-small.yaml"] {
            _ = try PolicyArchitecture.load(Self.rlConfigs.appendingPathComponent(name))
        }
        for name in ["sft-micro.yaml", "sft-tiny.yaml"] {
            _ = try SFTConfig.load(Self.rlConfigs.appendingPathComponent(name))
        }
        #expect(throws: ParaRLError.unknownKey(file: "x.yaml", key: "learning_rate", line: 2)) {
            try SFTConfig.parse("steps: 3\nlearning_rate: 0.1\n", source: "x.yaml")
        }
        #expect(throws: ParaRLError.self) { try SFTConfig.parse("steps: many\n", source: "x.yaml") }
        #expect(throws: ParaRLError.invalidConfig(file: "x.yaml", key: "t_epsilon", reason: "must be in (0, 1)", line: 1)) {
            try SFTConfig.parse("t_epsilon: 0\n", source: "x.yaml")
        }
        let c = try SFTConfig.parse("lr: 0.001\ntext_filler: pad\n", source: "x.yaml")
        #expect(c.lr == 0.001 && c.textFiller == .pad && c.batchSize == SFTConfig().batchSize)
        // The resolved config round-trips.
        #expect(try SFTConfig.parse(try StrictYAML.encode(c), source: "resolved") == c)
    }
}
