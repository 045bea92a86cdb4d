// `pararl eval`: samples world tasks with a policy checkpoint, writes the predictions in the judge's format, judges
// them on ParaBench's six axes and prints the table overall / per kind / per category (a thin CLI over PolicyEvaluator).
import ArgumentParser
import Foundation
import ParaRLCore
import ParaRLMedia
import ParaRLSampling
import ParaRLWorld

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a policy checkpoint on the world's tasks with the exact judge.",
        discussion: """
            One rollout per task (seed split(S, task id), so any slice gives each task the same rollout), sampled
            --batch tasks at a time. Writes DIR/predictions.jsonl (id, reasoning, output_image — the format of
            `pararl world judge --pred`), DIR/images/<id>.png, DIR/report.json (the judge report), DIR/judgements.jsonl
            (per-task scores) and DIR/sampler_config.yaml. --limit N takes N tasks spread evenly over the split, so every
            category stays represented.
            Examples:
              pararl eval --checkpoint runs/sft-tiny/checkpoints/step-00000400 --split eval --out evals/parallel
              pararl eval --checkpoint runs/sft-tiny/checkpoints/step-00000400 --split eval --decoding sequential --out evals/sequential
              pararl eval --checkpoint C --split eval --limit 60 --config rl-configs/sample-tiny.yaml --out evals/quick --json
            """)

    @Option(help: "Policy checkpoint folder.") var checkpoint: String
    @Option(help: "eval (the fixed 300 tasks) or train (needs --limit).") var split: String = "eval"
    @Option(help: "Evaluate N tasks spread over the split.") var limit: Int?
    @Option(help: "Output folder.") var out: String
    @Option(help: "Root sampler seed.") var seed: UInt64 = 0
    @Option(help: "The world seed of the tasks.") var worldSeed: UInt64 = 0
    @Option(help: "Tasks sampled together in one batch.") var batch: Int = 8
    @Flag(help: "Print the report as JSON.") var json = false
    @OptionGroup var sampler: SamplerOptions
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard let s = WorldSplit(rawValue: split) else { throw ValidationError("--split must be eval or train, got \(split)") }
        if s == .train && limit == nil { throw ValidationError("--split train needs --limit N") }
        if let l = limit, l < 1 { throw ValidationError("--limit must be at least 1, got \(l)") }
        if batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
    }

    func run() throws {
        compute.apply()
        let config = try sampler.resolve()
        let bundle = try PolicyBundle.load(checkpoint: URL(fileURLWithPath: checkpoint))
        let tasks = WorldSplit(rawValue: split) == .train
            ? WorldTaskSource(seed: worldSeed).trainTasks(0..<(limit ?? 0))
            : PolicyEvaluator.evalTasks(worldSeed: worldSeed, limit: limit)
        let evaluator = try PolicyEvaluator(bundle: bundle, config: config, batchSize: batch)
        FileHandle.standardError.write(Data(("eval \(tasks.count) \(split) tasks, \(config.decoding.rawValue) decoding, T=\(config.steps), "
                                             + "K_img=\(config.imageSteps), batch \(batch), \(Parallel.threadCount) threads\n").utf8))
        let terminal = isatty(fileno(stderr)) != 0
        var nextReport = 0
        let result = try evaluator.evaluate(tasks, seed: seed) { p in
            let line = String(format: "eval %d/%d rollouts (%.2f rollouts/s, %.1f rollout-steps/s, ETA %.0f s)",
                              p.done, p.total, p.rolloutsPerSecond, Double(p.rolloutSteps) / max(p.seconds, 1e-9), p.etaSeconds)
            if terminal {
                FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K" + (p.done == p.total ? "\n" : "")).utf8))
            } else if p.done >= nextReport || p.done == p.total {
                FileHandle.standardError.write(Data((line + "\n").utf8))
                nextReport = p.done + max(1, p.total / 20)
            }
        }

        let dir = URL(fileURLWithPath: out), images = dir.appendingPathComponent("images")
        do { try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true) } catch {
            throw ValidationError("cannot create \(images.path): \(error.localizedDescription)")
        }
        var predictions = "", judgements = ""
        for t in result.tasks {
            let path = "images/\(t.task.id).png"
            try PNGCodec.write(t.image, to: dir.appendingPathComponent(path))
            predictions += WorldDataset.line(id: t.task.id, kind: t.task.kind, category: t.task.category.rawValue, instruction: nil,
                                             inputImage: nil, reasoning: t.reasoning, outputImage: path, inputScene: nil, targetScene: nil) + "\n"
            let s = t.judgement.scores
            let cells = s.axes.map { "\"\($0.0.replacingOccurrences(of: " ", with: "_"))\": " + ($0.1.map { String(format: "%.3f", $0) } ?? "null") }
            judgements += "{\"id\": \"\(t.task.id)\", \"category\": \"\(t.task.category.rawValue)\", \(cells.joined(separator: ", "))}\n"
        }
        try Data(predictions.utf8).write(to: dir.appendingPathComponent("predictions.jsonl"))
        try Data(judgements.utf8).write(to: dir.appendingPathComponent("judgements.jsonl"))
        try Data(config.yaml().utf8).write(to: dir.appendingPathComponent("sampler_config.yaml"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let reportJSON = try encoder.encode(result.report)
        try reportJSON.write(to: dir.appendingPathComponent("report.json"))

        let rate = Double(result.rolloutSteps) / max(result.seconds, 1e-9)
        if json {
            print(String(decoding: reportJSON, as: UTF8.self))
        } else {
            print(WorldJudgeCommand.table(result.report, title: "\(checkpoint): \(result.report.count) \(split) tasks, \(config.decoding.rawValue) decoding"))
        }
        FileHandle.standardError.write(Data(String(format: "wall time %.1f s (%.2f rollouts/s, %.1f rollout-steps/s); wrote %@\n",
                                                   result.seconds, Double(result.tasks.count) / max(result.seconds, 1e-9), rate, out).utf8))
    }
}
