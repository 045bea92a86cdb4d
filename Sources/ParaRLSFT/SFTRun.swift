// Starting and resuming an SFT run folder: paths resolved against the config file, tokenizers copied into
// the run (`tokenizer/`), the resolved config stored as `config.yaml`, the policy initialised or loaded.
// In a data-parallel run every rank calls these; rank 0 alone writes, and the ranks read the config and
// tokenizers from the same paths (a shared file system or identical copies), the weights come from rank 0.
import Foundation
import ParaRLCore
import ParaRLMedia
import ParaRLDistributed
import ParaRLPolicy
import ParaRLRunKit
import ParaRLWorld

public enum SFTRun {
    public static let configFile = "config.yaml"
    /// The run's resolved SFT config, stored in every checkpoint too.
    public static let checkpointConfigFile = SequenceLayoutFile.legacyFileName

    static func resolve(_ path: String, against base: URL) -> String {
        path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardizedFileURL.path
    }

    /// A new run in `runDirectory` (which must not hold checkpoints yet) from `config` read from `configURL`.
    public static func start(config original: SFTConfig, configURL: URL, runDirectory: URL, codeVersion: String = "",
                             communicator: any Communicator = SingleProcessCommunicator()) throws -> SFTTrainer {
        let base = configURL.deletingLastPathComponent(), root = communicator.isRoot
        guard original.batchSize >= communicator.size else {
            throw ParaRLError.invalidConfig(file: configURL.path, key: "batch_size",
                                            reason: "\(original.batchSize) samples cannot be shared by \(communicator.size) ranks (each needs at least one)")
        }
        // Everything the config names is loaded and checked (the dataset's images too) before the run folder is created.
        var config = original
        let modelURL = URL(fileURLWithPath: resolve(config.model, against: base))
        let architecture = try PolicyArchitecture.load(modelURL)
        config.model = modelURL.path
        let vqURL = URL(fileURLWithPath: resolve(config.imageTokenizer, against: base))
        guard FileManager.default.fileExists(atPath: vqURL.path) else {
            throw ParaRLError.invalidConfig(file: configURL.path, key: "image_tokenizer",
                                            reason: "\(vqURL.path) does not exist (fit one with `pararl tokenizer fit`)")
        }
        let vq = try PatchVQ.load(from: vqURL)
        let text = config.textVocabulary == "world" ? TextTokenizer.world()
            : try TextTokenizer.load(from: URL(fileURLWithPath: resolve(config.textVocabulary, against: base)))
        if config.data != "world" { config.data = resolve(config.data, against: base) }
        config.evalData = config.evalData.map { resolve($0, against: base) }
        config.initCheckpoint = config.initCheckpoint.map { resolve($0, against: base) }
        let encoder = SampleEncoder(text: text, image: vq)
        let vocabulary = UnifiedVocabulary(textCount: text.count, codebookSize: vq.codeCount)
        let policy: Policy
        if let initial = config.initCheckpoint {
            policy = try Policy.load(directory: URL(fileURLWithPath: initial))
            guard policy.config.vocabulary == vocabulary else {
                throw ParaRLError.invalidConfig(file: configURL.path, key: "init_checkpoint",
                                                reason: "the checkpoint's vocabulary differs from the tokenizers' (\(text.count) text ids, \(vq.codeCount) codes)")
            }
        } else {
            policy = try Policy(config: architecture.modelConfig(vocabulary: vocabulary))
            var rng = RandomStream(seed: config.seed).split("init")
            policy.initialise(std: architecture.initStd, rng: &rng)
        }
        let samples = try source(config, encoder: encoder)

        let lock = root ? try RunLock(runDirectory: runDirectory) : nil
        if root, !(try TrainingCheckpoint.completed(runDirectory: runDirectory)).isEmpty {
            throw ParaRLError.invalidInput("\(runDirectory.path) already holds checkpoints: resume it with --resume or choose another folder")
        }
        let tokenizers = runDirectory.appendingPathComponent(SequenceLayoutFile.tokenizerFolder)
        do {
            if root { try FileManager.default.createDirectory(at: tokenizers, withIntermediateDirectories: true) }
        } catch {
            throw ParaRLError.io(path: tokenizers.path, reason: "cannot create: \(error.localizedDescription)")
        }
        let vqCopy = tokenizers.appendingPathComponent(SequenceLayoutFile.imageTokenizerFile)
        let textCopy = tokenizers.appendingPathComponent(SequenceLayoutFile.textVocabularyFile)
        if root {
            try vq.save(to: vqCopy)
            try text.save(to: textCopy)
        }
        config.imageTokenizer = vqCopy.path
        config.textVocabulary = textCopy.path
        if root { try AtomicFile.write(Data(try StrictYAML.encode(config).utf8), to: runDirectory.appendingPathComponent(configFile)) }
        let trainer = try SFTTrainer(config: config, runDirectory: runDirectory, policy: policy,
                                     source: samples, imageCodes: vq.codesPerImage, codeVersion: codeVersion,
                                     communicator: communicator)
        trainer.lock = lock
        return trainer
    }

    /// Continues the run in `runDirectory` from its newest complete checkpoint that verifies (the one rank 0 finds:
    /// its path is broadcast, so every rank builds the same architecture; the weights and state come from rank 0).
    public static func resume(runDirectory: URL, codeVersion: String = "",
                              communicator: any Communicator = SingleProcessCommunicator()) throws -> SFTTrainer {
        let config = try SFTConfig.load(runDirectory.appendingPathComponent(configFile))
        let lock = communicator.isRoot ? try RunLock(runDirectory: runDirectory) : nil
        let vq = try PatchVQ.load(from: URL(fileURLWithPath: config.imageTokenizer))
        let text = try TextTokenizer.load(from: URL(fileURLWithPath: config.textVocabulary))
        let checkpoint = try TrainingCheckpoint.resumePoint(runDirectory: runDirectory, communicator: communicator)
        let policy = try Policy(config: try PolicyModelConfig.load(directory: checkpoint))
        let encoder = SampleEncoder(text: text, image: vq)
        let trainer = try SFTTrainer(config: config, runDirectory: runDirectory, policy: policy, source: try source(config, encoder: encoder),
                                     imageCodes: vq.codesPerImage, resumeFrom: checkpoint, codeVersion: codeVersion, communicator: communicator)
        trainer.lock = lock
        return trainer
    }

    static func source(_ config: SFTConfig, encoder: SampleEncoder) throws -> any SFTSampleSource {
        if config.data == "world" { return WorldSampleSource(seed: config.worldSeed, encoder: encoder) }
        return try DatasetSampleSource.load(data: URL(fileURLWithPath: config.data), evalData: config.evalData.map { URL(fileURLWithPath: $0) },
                                            evalCount: config.evalSamples, encoder: encoder, seed: config.seed)
    }
}
