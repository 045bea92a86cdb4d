// `pararl report`: one self-contained HTML file over one or several runs — config, curves, evaluations and
// browsable groups with their denoising trajectories (docs/design.md §6; ParaRLReport.HTMLReport).
import ArgumentParser
import Foundation
import ParaRLReport

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report (inline SVG curves and PNG images) of one or several runs.",
        discussion: """
            --run takes a run id (found in the --db logs) or a run folder / rollouts.sqlite path; \
            repeat it to overlay runs. Without --run every run of the --db logs is included. The file \
            needs no network: curves are inline SVG, images inline PNG.
            Examples:
              pararl report --run runs/pararl-s3 --out report.html
              pararl report --run runs/s2 --run runs/s3 --out s2-vs-s3.html
              pararl report --db runs/ablation-s --out ablation.html
            """)

    @Option(name: .customLong("db"), help: "A rollout log, run folder or folder of run folders (repeatable).")
    var databases: [String] = []
    @Option(name: .customLong("run"), help: "A run id or a run folder (repeatable).") var runs: [String] = []
    @Option(help: "Output HTML file.") var out: String
    @Option(help: "Title of the report.") var title: String = "ParaRL run report"
    @Option(help: "Training steps whose groups are shown (first, last and evenly spaced).") var stepsShown: Int = 3
    @Option(help: "Groups shown per step.") var groupsPerStep: Int = 4
    @Option(help: "Rollouts shown per group.") var rolloutsPerGroup: Int = 8

    func validate() throws {
        if databases.isEmpty && runs.isEmpty { throw ValidationError("give --run RUN_DIR (repeatable) or --db LOG") }
        for (name, v) in [("--steps-shown", stepsShown), ("--groups-per-step", groupsPerStep), ("--rollouts-per-group", rolloutsPerGroup)] where v < 0 {
            throw ValidationError("\(name) must be ≥ 0, got \(v)")
        }
    }

    func run() throws {
        let (_, selected) = try LogCatalog.open(databases: databases, runs: runs)
        var options = ReportOptions()
        options.stepsShown = stepsShown
        options.groupsPerStep = groupsPerStep
        options.rolloutsPerGroup = rolloutsPerGroup
        let html = try HTMLReport.render(selected, options: options, title: title)
        do {
            try Data(html.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw ReportError.cannotWrite(path: out, reason: error.localizedDescription)
        }
        print("wrote \(out) (\(selected.count) run(s): \(selected.map(\.runID).joined(separator: ", ")); \(html.utf8.count / 1024) KiB)")
    }
}
