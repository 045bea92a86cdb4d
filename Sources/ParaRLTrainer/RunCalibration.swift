// `pararl calibrate --config RUN.yaml` (docs/design.md §3.5): μ_CLIP and σ_CLIP of a ParaRL run config's CLIP on a random
// share (default 1%) of its training data — reference pairs (each sampled task's reasoning trace with its rendered
// target scene) by default, or the config's initial policy's partial rollouts — written to the file the config's
// `calibration:` key names, which is where `pararl train` reads them.
import Foundation
import ParaRLCLIP
import ParaRLSampling

public enum RunCalibration {
    public typealias Source = CalibrationSource

    /// The file the trainer reads μ/σ from: the config's `calibration:` path (resolved against the config's folder).
    /// A config that estimates them at the start (`calibration: rollouts`) names no file, so it is an error there.
    public static func destination(config: ParaRLConfig, configURL: URL) throws -> URL {
        guard !config.calibratesOnRollouts else {
            throw TrainerError.invalidConfig(file: configURL.path, key: "calibration",
                                             reason: "is `rollouts` (estimated when the run starts), so it names no file to write; "
                                                 + "set it to a path such as ../runs/calibration/clip_calibration.json, or pass --out")
        }
        return URL(fileURLWithPath: ParaRLRun.resolve(config.calibration, against: configURL.deletingLastPathComponent()))
    }

    /// μ/σ for the config at `configURL` (paths relative to its folder) on `fraction` of `trainTasks` training tasks,
    /// drawn with `seed` (default: the config's seed).
    public static func estimate(configURL: URL, config: ParaRLConfig, source: Source, fraction: Double = 0.01,
                                trainTasks: Int = CLIPCalibration.trainTasks, seed: UInt64? = nil) throws -> CLIPCalibration {
        guard fraction > 0 && fraction <= 1 && trainTasks >= 1 else {
            throw TrainerError.invalidConfig(file: configURL.path, key: "calibration",
                                             reason: "the share must be in (0, 1] and the task count at least 1")
        }
        let resolved = try ParaRLRun.resolvingPaths(config, configURL: configURL)
        let scorer = try ParaRLRun.rewardScorer(resolved, file: configURL.path)
        let policy = try source == .rollouts
            ? CLIPCalibration.RolloutPolicy(bundle: ParaRLRun.loadBundle(URL(fileURLWithPath: resolved.initCheckpoint),
                                                                         key: "init_checkpoint", file: configURL.path),
                                            sampler: config.sampler, batch: config.groupSize)
            : nil
        let calibration = try CLIPCalibration.estimate(source, scorer: scorer, worldSeed: config.worldSeed, trainTasks: trainTasks,
                                                       count: CLIPCalibration.subsetSize(trainTasks: trainTasks, fraction: fraction),
                                                       fraction: source == .references ? fraction : nil, seed: seed ?? config.seed,
                                                       model: ParaRLRun.rewardModelName(resolved), policy: policy)
        guard calibration.sigma > 0 || config.reward == .clip else {
            throw TrainerError.invalidConfig(file: configURL.path, key: "reward",
                                             reason: "is `world`, and every reference pair scores exactly 100 under it (σ = 0): "
                                                 + "calibrate on the policy's rollouts (--source rollouts, or `calibration: rollouts`)")
        }
        return calibration
    }

    /// The μ/σ a run of `config` (paths resolved) starts with: estimated on `bundle`'s partial rollouts
    /// (`calibration: rollouts`, `calibration_prompts` prompts) or read from the config's calibration file.
    public static func forRun(_ config: ParaRLConfig, bundle: PolicyBundle, scorer: () throws -> any PairScorer,
                              file: String) throws -> CLIPCalibration {
        if config.calibratesOnRollouts {
            let measured = try CLIPCalibration.estimate(.rollouts, scorer: try scorer(), worldSeed: config.worldSeed,
                                                        trainTasks: CLIPCalibration.trainTasks, count: config.calibrationPrompts,
                                                        seed: config.seed, model: ParaRLRun.rewardModelName(config),
                                                        policy: .init(bundle: bundle, sampler: config.sampler, batch: config.groupSize))
            do { try measured.validate(source: "the calibration on rollouts") } catch {
                throw TrainerError.invalidConfig(file: file, key: "calibration",
                                                 reason: "the \(measured.count) scores of the initial policy's rollouts give σ = \(measured.sigma): "
                                                    + "the reward cannot be normalised (raise calibration_prompts or use a calibration file)")
            }
            return measured
        }
        do { return try CLIPCalibration.read(from: URL(fileURLWithPath: config.calibration)) } catch {
            throw TrainerError.invalidConfig(file: file, key: "calibration", reason: "\(error) (run `pararl calibrate`)")
        }
    }
}
