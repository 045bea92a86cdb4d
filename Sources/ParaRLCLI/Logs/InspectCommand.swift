// `pararl inspect runs|steps|group|trajectory|export`: read rollout logs from the terminal (docs/design.md §4, §6).
// Filters are bound SQL parameters; tables fit the terminal; every view has `--json`.
import ArgumentParser
import Foundation
import ParaRLMedia
import ParaRLReport
import ParaRLSampling
import ParaRLStorage
import ParaRLWorld

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Look into rollout logs: runs, per-step metrics, groups, trajectories, exports.",
        discussion: """
            A rollout log is the SQLite file rollouts.sqlite in a run folder. --db takes the file, \
            the run folder, or a folder of run folders (e.g. an ablation), and may be repeated; --run \
            takes a run id or a run folder. A rollout id reads STEP:GROUP:ROLLOUT (training step, group \
            index within the step, rollout index within the group), e.g. 12:0:3.
            Examples:
              pararl inspect runs --db runs
              pararl inspect steps --run runs/s3 --json
              pararl inspect evals --run runs/s3
              pararl inspect group --run runs/s3 --step 10 --group 0
              pararl inspect trajectory --run runs/s3 --rollout 10:0:3 --out t.png
              pararl inspect export --run runs/s3 --format csv --out s3.csv
              sqlite3 runs/s3/rollouts.sqlite "SELECT step, reward_mean FROM steps"
            """,
        subcommands: [InspectRunsCommand.self, InspectStepsCommand.self, InspectEvalsCommand.self, InspectGroupCommand.self,
                      InspectTrajectoryCommand.self, InspectExportCommand.self])
}

/// Where the logs are, and how to print.
struct LogOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: "A rollout log: its file, its run folder, or a folder of run folders (repeatable).")
    var databases: [String] = []

    @Flag(help: "Print JSON instead of a table.") var json = false

    @Option(help: "Table width in characters (default: the terminal's, else COLUMNS, else 120).") var width: Int?

    func validate() throws {
        if let w = width, w < 40 { throw ValidationError("--width must be at least 40, got \(w)") }
    }

    var outputWidth: Int {
        if let width { return width }
        var size = winsize()
        if isatty(STDOUT_FILENO) != 0, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col >= 40 { return Int(size.ws_col) }
        if let c = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), c >= 40 { return c }
        return 120
    }

    /// The run named by `--run`, or the only run of the logs.
    func run(_ id: String?) throws -> LoggedRun {
        let (catalog, selected) = try LogCatalog.open(databases: databases, runs: id.map { [$0] } ?? [])
        if id != nil, selected.count == 1, let only = selected.first { return only }
        return try catalog.run(id)
    }
}

/// Prints `value` as JSON, or the table text.
func emit<T: Encodable>(_ options: LogOptions, json value: T, text: @autoclosure () -> String) throws {
    print(options.json ? try Inspect.json(value) : text())
}

struct InspectRunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "One line per run: objective, s, seed, steps, last reward, latest evaluation.")
    @OptionGroup var logs: LogOptions

    func run() throws {
        let summaries = try Inspect.runSummaries(LogCatalog(locations: logs.databases).runs)
        try emit(logs, json: summaries, text: Inspect.runsTable(summaries).render(width: logs.outputWidth))
    }
}

struct InspectStepsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steps", abstract: "The per-step metrics of a run (a * marks a skipped step).")
    @OptionGroup var logs: LogOptions
    @Option(name: .customLong("run"), help: "Run id or run folder (default: the only run in the logs).") var runID: String?

    func run() throws {
        let r = try logs.run(runID)
        let steps = try r.log.steps(runID: r.runID)
        try emit(logs, json: steps, text: Inspect.stepsTable(steps).render(width: logs.outputWidth))
    }
}

struct InspectEvalsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evals",
        abstract: "The paired reward evaluations of a run: mean R (all t, t = T) ± se over tasks, change since step 0, R by t.",
        discussion: """
            Every evaluation scores the same held-out tasks with the same sampler seeds (reward_eval: in the run
            config), so the change since step 0 is paired per task; its ± is the standard error of the per-task
            differences. The tables are reward_evals (per t) and reward_eval_rollouts (per task, rollout and t).
            """)
    @OptionGroup var logs: LogOptions
    @Option(name: .customLong("run"), help: "Run id or run folder (default: the only run in the logs).") var runID: String?

    func run() throws {
        let view = try Inspect.rewardEvals(try logs.run(runID))
        try emit(logs, json: view, text: Inspect.rewardEvalText(view, width: logs.outputWidth))
    }
}

struct InspectGroupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group", abstract: "The G rollouts of a group: S, rewards and advantages per sampled step, final texts.")
    @OptionGroup var logs: LogOptions
    @Option(name: .customLong("run"), help: "Run id or run folder (default: the only run in the logs).") var runID: String?
    @Option(help: "Training step.") var step: Int
    @Option(help: "Group index (default: every group of the step).") var group: Int?

    func run() throws {
        let groups = try Inspect.groups(try logs.run(runID), step: step, group: group)
        try emit(logs, json: groups, text: Inspect.groupText(groups, width: logs.outputWidth))
    }
}

struct InspectTrajectoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trajectory",
        abstract: "One rollout's denoising trajectory: partial text, c, R and A at each sampled step t, and its images.",
        discussion: """
            --out writes a PNG strip: the input image (editing tasks), the partial image at each t ∈ S in order,
            then the final image, each enlarged --scale times.
            """)
    @OptionGroup var logs: LogOptions
    @Option(name: .customLong("run"), help: "Run id or run folder (default: the only run in the logs).") var runID: String?
    @Option(help: "Rollout id STEP:GROUP:ROLLOUT, e.g. 12:0:3.") var rollout: String
    @Option(help: "Write the image strip to this PNG file.") var out: String?
    @Option(help: "Enlargement of each image in the strip.") var scale: Int = 4

    func validate() throws {
        _ = try RolloutID(parsing: rollout)
        if scale < 1 || scale > 32 { throw ValidationError("--scale must be 1…32, got \(scale)") }
    }

    func run() throws {
        let run = try logs.run(runID), id = try RolloutID(parsing: rollout)
        let view = try Inspect.trajectory(run, id: id)
        // The stored trajectory record must decode and verify (magic, version, length, CRC-32, value ranges) and
        // belong to this rollout's sampler seed.
        let stored = try run.log.rollouts(runID: run.runID, step: id.step, group: id.group).first { $0.rollout == id.rollout }
        let record: TrajectoryRecord
        do { record = try TrajectoryRecord(encoded: stored?.trajectory ?? Data()) } catch {
            throw ValidationError("rollout \(id) of run \(run.runID): the stored trajectory record is corrupt: \(error)")
        }
        guard record.seed == stored?.samplerSeed else {
            throw ValidationError("rollout \(id) of run \(run.runID): the trajectory record's seed \(record.seed) is not the rollout's "
                                  + "sampler seed \(stored?.samplerSeed ?? 0)")
        }
        if let out {
            try PNGCodec.write(try Inspect.trajectoryStrip(view, scale: scale), to: URL(fileURLWithPath: out))
        }
        let verified = "trajectory record: \(record.tokens.count) positions over \(record.steps) steps, seed \(record.seed), verified"
        try emit(logs, json: view, text: Inspect.trajectoryText(view, width: logs.outputWidth) + "\n" + verified
                 + (out.map { "\nstrip: \($0)" } ?? ""))
    }
}

struct InspectExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a run's table as CSV or JSON Lines (no image or trajectory blobs).",
        discussion: """
            Tables: \(ExportTable.allCases.map(\.rawValue).joined(separator: ", ")). Snapshot rows carry their
            rollout id, task, category, S and final text. Non-finite numbers are empty (CSV) or null (JSON).
            """)
    @OptionGroup var logs: LogOptions
    @Option(name: .customLong("run"), help: "Run id or run folder (default: the only run in the logs).") var runID: String?
    @Option(help: "csv or jsonl (--json means jsonl).") var format: String?
    @Option(help: "Which table.") var table: String = ExportTable.snapshots.rawValue
    @Option(help: "Write to this file instead of standard output.") var out: String?

    func validate() throws {
        if let format, ExportFormat(rawValue: format) == nil { throw ValidationError("--format must be csv or jsonl, got \(format)") }
        if ExportTable(rawValue: table) == nil {
            throw ValidationError("--table must be one of \(ExportTable.allCases.map(\.rawValue).joined(separator: ", ")), got \(table)")
        }
    }

    func run() throws {
        let fmt = format.flatMap(ExportFormat.init(rawValue:)) ?? (logs.json ? .jsonl : .csv)
        let text = try Export.text(try logs.run(runID), table: ExportTable(rawValue: table) ?? .snapshots, format: fmt)
        if let out {
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                throw ReportError.cannotWrite(path: out, reason: "\(error.localizedDescription)")
            }
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}
