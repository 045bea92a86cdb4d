// Starting and resuming a ParaRL run folder: paths resolved against the config file, the resolved config
// (`config.yaml`), the calibration copy, the tokenizers (`tokenizer/`, so every checkpoint loads with
// `PolicyBundle.load`), the run id; then the policy, the frozen reference and the CLIP scorer are loaded.
//   RUN/config.yaml  RUN/run.json  RUN/clip_calibration.json  RUN/tokenizer/  RUN/rollouts.sqlite
//   RUN/checkpoints/step-NNNNNNNN/ (config.json, model.safetensors, optimizer.safetensors, trainer_state.json,
//                                   sequence_layout.json = layout + tokenizers, COMPLETE)
import Foundation
import ParaRLCLIP
import ParaRLCore
import ParaRLMedia
import ParaRLDistributed
import ParaRLPolicy
import ParaRLRunKit
import ParaRLSampling
import ParaRLStorage
import ParaRLWorld

public enum ParaRLRun {
    public static let configFile = "config.yaml"
    public static let runFile = "run.json"

    struct RunInfo: Codable { var runID: String; var startedAt: Date }

    /// `config` with its file paths made absolute against the config's folder and the CLIP vocabulary located.
    public static func resolvingPaths(_ config: ParaRLConfig, configURL: URL) throws -> ParaRLConfig {
        var config = config
        let base = configURL.deletingLastPathComponent()
        config.initCheckpoint = resolve(config.initCheckpoint, against: base)
        config.referenceCheckpoint = resolve(config.referenceCheckpoint ?? config.initCheckpoint, against: base)
        config.clipModel = resolve(config.clipModel, against: base)
        if !config.calibratesOnRollouts { config.calibration = resolve(config.calibration, against: base) }
        do {
            config.clipVocabulary = try CLIPTokenizer.locateVocabulary(explicit: config.clipVocabulary.map { resolve($0, against: base) },
                                                                       repoRoot: nil).path
        } catch {
            throw TrainerError.invalidConfig(file: configURL.path, key: "clip_vocabulary", reason: "\(error)")
        }
        return config
    }

    static func resolve(_ path: String, against base: URL) -> String {
        path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardizedFileURL.path
    }

    /// A new run of the config at `configURL` in `runDirectory` (which must not hold a run yet). Every rank calls it.
    public static func start(configURL: URL, runDirectory: URL, communicator: any Communicator = SingleProcessCommunicator(),
                             codeVersion: String = "", overrides: (inout ParaRLConfig) -> Void = { _ in }) throws -> ParaRLTrainer {
        var config = try ParaRLConfig.load(configURL)
        overrides(&config)
        try config.validate(source: configURL.path, text: (try? StrictYAML.read(configURL)) ?? "")
        config = try resolvingPaths(config, configURL: configURL)
        // Everything the config names is loaded and checked before the run folder is created.
        let bundle = try loadBundle(URL(fileURLWithPath: config.initCheckpoint), key: "init_checkpoint", file: configURL.path)
        guard config.promptsPerStep >= communicator.size else {
            throw TrainerError.invalidConfig(file: configURL.path, key: "prompts_per_step",
                                             reason: "\(config.promptsPerStep) groups cannot be shared by \(communicator.size) ranks (each needs at least one)")
        }
        let parts = try loadParts(config, bundle: bundle, file: configURL.path)
        let fm = FileManager.default
        // Rank 0 alone looks (it is the one that writes the folder) and tells the others, so no rank sees rank 0's
        // fresh config.yaml and refuses a run that is just starting.
        var exists = [0.0]
        // One writer per folder: taken before looking, so two starts cannot both find it empty.
        let lock = communicator.isRoot ? try RunLock(runDirectory: runDirectory) : nil
        if communicator.isRoot {
            let hasCheckpoints = !(try TrainingCheckpoint.completed(runDirectory: runDirectory)).isEmpty
            let stored = runDirectory.appendingPathComponent(configFile)
            if hasCheckpoints {
                exists[0] = 1
            } else if fm.fileExists(atPath: stored.path) {
                // A run that failed before its first checkpoint starts again from nothing: with the same config, or with any
                // config when it never logged a step (e.g. it failed on a bad path).
                let same = (try? String(contentsOf: stored, encoding: .utf8)) == (try config.yaml())
                guard try same || loggedSteps(runDirectory) == 0 else {
                    throw TrainerError.invalidInput("\(runDirectory.path) holds a ParaRL run that logged steps but stopped before its "
                                                    + "first checkpoint, with another config: start it again with that run's config "
                                                    + "(\(stored.path)), or remove the folder")
                }
                try clearUnfinished(runDirectory)
            }
        }
        try communicator.broadcast(&exists, root: 0)
        if exists[0] != 0 { throw TrainerError.runExists(runDirectory.path) }
        // μ/σ from the config's file (every rank reads it), or estimated on rollouts by rank 0 and sent to the others
        // (which keep rank 0's numbers under their own record; only μ and σ enter the reward).
        let measured = communicator.isRoot || !config.calibratesOnRollouts
            ? try RunCalibration.forRun(config, bundle: bundle, scorer: { parts.scorer }, file: configURL.path)
            : nil
        var calibration = measured ?? CLIPCalibration(mu: 0, sigma: 0, count: 0, source: CalibrationSource.rollouts.rawValue,
                                                      model: config.clipModel, seed: config.seed, fraction: 0)
        if config.calibratesOnRollouts {
            var values = [calibration.mu, calibration.sigma, Double(calibration.count)]
            try communicator.broadcast(&values, root: 0)
            (calibration.mu, calibration.sigma, calibration.count) = (values[0], values[1], Int(values[2]))
        }
        let info = RunInfo(runID: "\(runDirectory.lastPathComponent)-\(Int(Date().timeIntervalSince1970))", startedAt: Date())
        if communicator.isRoot {
            do {
                try fm.createDirectory(at: runDirectory, withIntermediateDirectories: true)
                try Data(try config.yaml().utf8).write(to: runDirectory.appendingPathComponent(configFile), options: .atomic)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                encoder.dateEncodingStrategy = .iso8601
                try encoder.encode(info).write(to: runDirectory.appendingPathComponent(runFile), options: .atomic)
            } catch let e as TrainerError { throw e } catch {
                throw TrainerError.io(path: runDirectory.path, reason: "cannot create the run folder: \(error.localizedDescription)")
            }
            try calibration.write(to: runDirectory.appendingPathComponent(CLIPCalibration.fileName))
        }
        var infoData = communicator.isRoot ? Data(info.runID.utf8) : Data()
        try communicator.broadcast(&infoData, root: 0)
        let trainer = try makeTrainer(config: config, runDirectory: runDirectory, bundle: bundle, calibration: calibration,
                                      runID: String(decoding: infoData, as: UTF8.self), checkpoint: nil, codeVersion: codeVersion,
                                      communicator: communicator, configSource: configURL.path, parts: parts)
        trainer.lock = lock
        return trainer
    }

    /// Training steps in a run folder's log (0 without a log).
    static func loggedSteps(_ runDirectory: URL) throws -> Int {
        let path = runDirectory.appendingPathComponent(RolloutLog.fileName).path
        guard FileManager.default.fileExists(atPath: path) else { return 0 }
        return try RolloutLog(readingAt: path).stepCount()
    }

    /// Removes what a run that stopped before its first checkpoint wrote (config, run id, calibration, log, tokenizers,
    /// unfinished checkpoint folders), so it starts again as new.
    static func clearUnfinished(_ runDirectory: URL) throws {
        let names = [configFile, runFile, CLIPCalibration.fileName, RolloutLog.fileName, RolloutLog.fileName + "-wal",
                     RolloutLog.fileName + "-shm", SequenceLayoutFile.tokenizerFolder, TrainingCheckpoint.folderName]
        for name in names {
            let url = runDirectory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            do { try FileManager.default.removeItem(at: url) } catch {
                throw TrainerError.io(path: url.path, reason: "cannot clear the unfinished run: \(error.localizedDescription)")
            }
        }
    }

    /// Continues the run in `runDirectory` from its newest complete checkpoint that verifies (a newer one that does not
    /// is skipped with its reason). Every rank calls it.
    public static func resume(runDirectory: URL, communicator: any Communicator = SingleProcessCommunicator(),
                              codeVersion: String = "") throws -> ParaRLTrainer {
        let configURL = runDirectory.appendingPathComponent(configFile)
        let config = try ParaRLConfig.load(configURL)
        let lock = communicator.isRoot ? try RunLock(runDirectory: runDirectory) : nil
        guard !(try TrainingCheckpoint.completed(runDirectory: runDirectory)).isEmpty else {
            throw TrainerError.noCheckpoint(runDirectory: runDirectory.path)
        }
        let checkpoint = try TrainingCheckpoint.resumePoint(runDirectory: runDirectory, communicator: communicator)
        let infoURL = runDirectory.appendingPathComponent(runFile)
        let info: RunInfo
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            info = try decoder.decode(RunInfo.self, from: Data(contentsOf: infoURL))
        } catch {
            throw TrainerError.io(path: infoURL.path, reason: "cannot read the run id: \(error)")
        }
        let calibration = try CLIPCalibration.read(from: runDirectory.appendingPathComponent(CLIPCalibration.fileName))
        let bundle: PolicyBundle
        do { bundle = try PolicyBundle.load(checkpoint: checkpoint) } catch {
            throw TrainerError.io(path: checkpoint.path, reason: "cannot load the policy checkpoint: \(error)")
        }
        let trainer = try makeTrainer(config: config, runDirectory: runDirectory, bundle: bundle, calibration: calibration,
                                      runID: info.runID, checkpoint: checkpoint, codeVersion: codeVersion, communicator: communicator)
        trainer.lock = lock
        return trainer
    }

    static func scorer(_ config: ParaRLConfig, file: String) throws -> CLIPScorer {
        do {
            return CLIPScorer(model: try CLIPModel.load(directory: URL(fileURLWithPath: config.clipModel)),
                              tokenizer: try CLIPTokenizer(vocabularyURL: URL(fileURLWithPath: config.clipVocabulary ?? "")))
        } catch {
            throw TrainerError.invalidConfig(file: file, key: "clip_model", reason: "\(error)")
        }
    }

    static func loadBundle(_ url: URL, key: String, file: String) throws -> PolicyBundle {
        do { return try PolicyBundle.load(checkpoint: url) } catch {
            throw TrainerError.invalidConfig(file: file, key: key, reason: "cannot load the policy checkpoint \(url.path): \(error)")
        }
    }

    /// What a trainer loads besides the policy: the frozen reference (β ≠ 0), the reward scorer and the monitor.
    struct Parts {
        var reference: Policy?
        var scorer: any PairScorer
        var monitor: (any PairScorer)?
    }

    /// The reference, scorer and monitor of `config`; errors name `file` and the key.
    static func loadParts(_ config: ParaRLConfig, bundle: PolicyBundle, file: String) throws -> Parts {
        let referenceURL = URL(fileURLWithPath: config.referenceCheckpoint ?? config.initCheckpoint)
        var reference: Policy?
        if config.beta != 0 {
            do { reference = try Policy.load(directory: referenceURL) } catch {
                throw TrainerError.invalidConfig(file: file, key: "reference_checkpoint", reason: "\(error)")
            }
            guard reference?.config == bundle.policy.config else {
                throw TrainerError.invalidConfig(file: file, key: "reference_checkpoint",
                                                 reason: "\(referenceURL.path) has another architecture or vocabulary than the policy")
            }
        }
        return Parts(reference: reference, scorer: try rewardScorer(config, file: file), monitor: try monitorScorer(config, file: file))
    }

    /// The trainer over loaded parts (`parts`, or loaded here); config errors name `configSource` (the user's file for
    /// a new run, the run's `config.yaml` on resume).
    static func makeTrainer(config: ParaRLConfig, runDirectory: URL, bundle: PolicyBundle, calibration: CLIPCalibration, runID: String,
                            checkpoint: URL?, codeVersion: String, communicator: any Communicator,
                            configSource: String? = nil, parts: Parts? = nil) throws -> ParaRLTrainer {
        let file = configSource ?? runDirectory.appendingPathComponent(configFile).path
        let loaded = try parts ?? loadParts(config, bundle: bundle, file: file)
        let (reference, scorer, monitor) = (loaded.reference, loaded.scorer, loaded.monitor)
        let layout = try checkpointLayout(bundle: bundle, runDirectory: runDirectory, communicator: communicator)
        return try ParaRLTrainer(config: config, runDirectory: runDirectory, bundle: bundle, reference: reference, scorer: scorer, monitor: monitor,
                                 calibration: calibration, checkpointLayout: layout, runID: runID, resumeFrom: checkpoint,
                                 codeVersion: codeVersion, communicator: communicator, configSource: file)
    }

    /// The policy's sequence layout with its tokenizers copied into RUN/tokenizer (rank 0 writes them).
    static func checkpointLayout(bundle: PolicyBundle, runDirectory: URL, communicator: any Communicator) throws -> SequenceLayoutFile {
        let folder = runDirectory.appendingPathComponent(SequenceLayoutFile.tokenizerFolder)
        let vq = folder.appendingPathComponent(SequenceLayoutFile.imageTokenizerFile)
        let text = folder.appendingPathComponent(SequenceLayoutFile.textVocabularyFile)
        if communicator.isRoot && bundle.checkpoint.deletingLastPathComponent().deletingLastPathComponent() != runDirectory {
            guard let patchVQ = bundle.encoder.image as? PatchVQ else {
                throw TrainerError.invalidInput("only the patch-VQ image tokenizer can be stored with a run")
            }
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try patchVQ.save(to: vq)
                try bundle.encoder.text.save(to: text)
            } catch {
                throw TrainerError.io(path: folder.path, reason: "cannot store the tokenizers: \(error)")
            }
        }
        return SequenceLayoutFile(instructionLength: bundle.layout.instructionLength, textLength: bundle.layout.textLength,
                                  textFiller: bundle.layout.filler, imageTokenizer: vq.path, textVocabulary: text.path)
    }
}
