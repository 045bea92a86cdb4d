// `pararl clip samples`: the policy's own (partial text, partial image) pairs on training tasks with their exact world
// reward, the data that teaches a world CLIP to order a prompt's rollouts as the judge does (`policy_samples:` of
// `pararl clip train`). Per task: K rollouts with sampler seeds from (seed, task, rollout), and one set of steps
// t shared by the K rollouts (s − 1 drawn from 1…T−1, and T), so a (task, t) group compares rollouts at one state.
// One JSON line per pair: {"group", "t", "rollout", "text", "image" (base64 PNG), "score" (0–100)}.
import ArgumentParser
import Foundation
import ParaRLCore
import ParaRLMedia
import ParaRLRunKit
import ParaRLDistributed
import ParaRLSampling
import ParaRLTrainer
import ParaRLWorld

struct CLIPSamplesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "samples",
        abstract: "Sample a policy on training tasks and write its partial outputs with their exact world reward.",
        discussion: """
            Training tasks --first-task … --first-task + --tasks − 1 of the config's world (never evaluation tasks),
            --rollouts rollouts each, sampled with the config's sampler; each task's K rollouts are recorded at the
            same --steps steps t (T and --steps − 1 drawn from 1…T−1). Scores are the exact world reward (the
            judge's output alignment at t = T, the objects stated so far before).
            Example:
              pararl clip samples --checkpoint models/world-policy --config rl-configs/pararl-s3.yaml \\
                  --tasks 400 --out data/clip-samples.jsonl
            """)

    @Option(help: "Policy checkpoint folder.") var checkpoint: String
    @Option(help: "Run config YAML whose sampler, seed and world_seed are used.") var config: String
    @Option(help: "Training tasks.") var tasks = 400
    @Option(help: "Index of the first training task (the default keeps clear of the tasks RL runs train on first).")
    var firstTask = 100_000
    @Option(help: "Rollouts per task (2…64).") var rollouts = 4
    @Option(help: "Recorded steps t per task (1…T).") var steps = 4
    @Option(help: "Output JSONL file.") var out: String
    @OptionGroup var compute: ComputeOptions

    struct Line: Codable { var group: Int, t: Int, rollout: Int, text: String, image: String, score: Double }

    func validate() throws {
        guard (1...Limits.batch).contains(tasks) else { throw ValidationError("--tasks must be in 1…\(Limits.batch), got \(tasks)") }
        guard (2...64).contains(rollouts) else { throw ValidationError("--rollouts must be in 2…64, got \(rollouts)") }
        guard firstTask >= 0 else { throw ValidationError("--first-task must be non-negative") }
    }

    func run() throws {
        compute.apply()
        let log = RankLog(SingleProcessCommunicator())
        let configURL = URL(fileURLWithPath: config)
        let resolved = try ParaRLRun.resolvingPaths(try ParaRLConfig.load(configURL), configURL: configURL)
        let T = resolved.sampler.steps
        guard (1...T).contains(steps) else { throw ValidationError("--steps must be in 1…\(T) (the sampler's steps), got \(steps)") }
        let bundle: PolicyBundle
        do { bundle = try PolicyBundle.load(checkpoint: URL(fileURLWithPath: checkpoint)) } catch {
            throw ValidationError("--checkpoint \(checkpoint): \(error)")
        }
        let sampler = try bundle.sampler(config: resolved.sampler)
        let world = WorldTaskSource(seed: resolved.worldSeed), alignment = WorldAlignment()
        let root = RandomStream(seed: resolved.seed).split("clip-samples")
        guard FileManager.default.createFile(atPath: out, contents: nil), let handle = FileHandle(forWritingAtPath: out) else {
            throw ValidationError("cannot write \(out)")
        }
        defer { try? handle.close() }
        let encoder = JSONEncoder()
        log("clip samples: \(tasks) training tasks from \(firstTask) × \(rollouts) rollouts at \(steps) steps each (T = \(T)), "
            + "\(Parallel.threadCount) threads")
        let start = Date()
        var written = 0
        for k in 0..<tasks {
            let index = firstTask + k
            var rng = root.split(index)
            let S = (steps > 1 ? rng.sample(steps - 1, of: T - 1).map { $0 + 1 } : []) + [T]
            let seeds = (0..<rollouts).map { rng.split($0).key }
            let sampled = try sampler.sample(try bundle.prompt(world.trainTask(index: index)), seeds: seeds, recordSteps: Set(S))
            var lines = Data()
            for (i, rollout) in sampled.enumerated() {
                for partial in rollout.partials {
                    let (text, image) = try bundle.decode(partial)
                    let score = alignment.score(text: text, image: image, complete: partial.step == T)
                    let line = Line(group: index, t: partial.step, rollout: i, text: text,
                                    image: try PNGCodec.encode(image).base64EncodedString(), score: score)
                    lines.append(try encoder.encode(line)); lines.append(0x0A)
                    written += 1
                }
            }
            handle.write(lines)
            let rate = Double(k + 1) / max(Date().timeIntervalSince(start), 1e-9)
            log.progress(String(format: "task %d/%d (%.2f tasks/s, ETA %.0f s)", k + 1, tasks, rate, Double(tasks - k - 1) / max(rate, 1e-9)))
        }
        log.endProgress()
        log("wrote \(written) pairs to \(out) in \(String(format: "%.0f", Date().timeIntervalSince(start))) s")
    }
}
