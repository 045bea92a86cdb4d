// The views behind `pararl inspect`: one line per run, the per-step metrics table, the G rollouts of a group,
// and one rollout's trajectory (partial text, c, R, A per sampled step, and its images as a PNG strip).
import Foundation
import GRDB
import ParaRLMedia
import ParaRLStorage

/// One run at a glance (`inspect runs`).
public struct RunSummary: Codable, Sendable, Equatable {
    public var runID: String
    public var database: String
    public var objective: String
    public var sampledSteps: Int
    public var seed: UInt64
    public var clipMu: Double
    public var clipSigma: Double
    public var codeVersion: String
    public var steps: Int
    public var lastStep: Int?
    /// Reward mean and output alignment of the last logged step.
    public var finalRewardMean: Double?
    public var finalOutputAlignment: Double?
    /// The judge's overall score at the latest evaluated step (scope `overall`).
    public var evaluationStep: Int?
    public var evaluationOverall: Double?
    public var startedAt: Date
    public var endedAt: Date?
}

/// One sampled step of one rollout.
public struct SnapshotView: Codable, Sendable, Equatable {
    public var t: Int
    public var partialText: String
    public var clipScore: Double
    public var reward: Double
    public var advantage: Double
}

/// One rollout of a group with its snapshots.
public struct RolloutView: Codable, Sendable, Equatable {
    public var id: String
    public var rollout: Int
    public var finalText: String
    public var samplerSeed: UInt64
    public var snapshots: [SnapshotView]
}

/// A group: the prompt, S and its G rollouts (`inspect group`).
public struct GroupView: Codable, Sendable, Equatable {
    public var step: Int
    public var group: Int
    public var taskID: String
    public var kind: String
    public var category: String
    public var instruction: String
    public var sampledSteps: [Int]
    public var rollouts: [RolloutView]
}

/// One rollout's denoising trajectory (`inspect trajectory`); images are kept as PNG for the strip.
public struct TrajectoryView: Encodable, Sendable, Equatable {
    public var runID: String
    public var id: String
    public var taskID: String
    public var kind: String
    public var category: String
    public var instruction: String
    public var sampledSteps: [Int]
    public var finalText: String
    public var samplerSeed: UInt64
    public var snapshots: [SnapshotView]
    public var inputImagePNG: Data?
    public var partialImagesPNG: [Data]
    public var finalImagePNG: Data

    enum CodingKeys: String, CodingKey {
        case runID, id, taskID, kind, category, instruction, sampledSteps, finalText, samplerSeed, snapshots
    }
}

public enum Inspect {
    /// JSON as every `--json` prints it (`JSONText.outputEncoder`), indented.
    public static func json<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONText.outputEncoder(pretty: true).encode(value), as: UTF8.self)
    }

    // MARK: runs

    public static func runSummaries(_ runs: [LoggedRun]) throws -> [RunSummary] {
        try runs.map { run in
            let steps = try run.log.steps(runID: run.runID)
            let overall = try run.log.evaluations(runID: run.runID).filter { $0.scope == "overall" }
            let r = run.record
            return RunSummary(runID: r.runID, database: run.log.path, objective: r.objective, sampledSteps: r.sampledSteps,
                              seed: r.seed, clipMu: r.clipMu, clipSigma: r.clipSigma, codeVersion: r.codeVersion,
                              steps: steps.count, lastStep: steps.last?.step, finalRewardMean: steps.last?.rewardMean,
                              finalOutputAlignment: steps.last?.outputAlignment, evaluationStep: overall.last?.step,
                              evaluationOverall: overall.last?.overall, startedAt: r.startedAt, endedAt: r.endedAt)
        }
    }

    public static func runsTable(_ summaries: [RunSummary]) -> TextTable {
        var table = TextTable([("run", .left), ("objective", .left), ("s", .right), ("seed", .right), ("steps", .right),
                               ("reward", .right), ("out.align", .right), ("eval@step", .right), ("overall", .right),
                               ("started", .left), ("database", .left)])
        for s in summaries {
            table.append([s.runID, s.objective, "\(s.sampledSteps)", "\(s.seed)", "\(s.steps)",
                          s.finalRewardMean.map { formatNumber($0) } ?? "-", s.finalOutputAlignment.map { formatNumber($0) } ?? "-",
                          s.evaluationStep.map(String.init) ?? "-", s.evaluationOverall.map { formatNumber($0) } ?? "-",
                          timeText(s.startedAt), relativePath(s.database)])
        }
        return table
    }

    /// `path` relative to the current folder when it lies inside it.
    static func relativePath(_ path: String) -> String {
        let cwd = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(cwd) ? String(path.dropFirst(cwd.count)) : path
    }

    static func timeText(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: date)
    }

    // MARK: steps

    public static func stepsTable(_ steps: [StepRecord]) -> TextTable {
        var table = TextTable([("step", .right), ("loss", .right), ("policy", .right), ("KL", .right), ("R mean", .right),
                               ("R std", .right), ("A std", .right), ("clip lo", .right), ("clip hi", .right),
                               ("0-std", .right), ("|g|", .right), ("lr", .right), ("out.align", .right), ("s/step", .right)])
        for s in steps {
            table.append(["\(s.step)\(s.skipped ? "*" : "")", formatNumber(s.loss), formatNumber(s.policyLoss), formatNumber(s.kl),
                          formatNumber(s.rewardMean), formatNumber(s.rewardStd), formatNumber(s.advantageStd),
                          formatNumber(s.clipFractionLow), formatNumber(s.clipFractionHigh), formatNumber(s.fracZeroStd),
                          formatNumber(s.gradNorm), formatNumber(s.lr), formatNumber(s.outputAlignment), formatNumber(s.secondsTotal)])
        }
        return table
    }

    // MARK: groups

    /// The groups of `step` (only `group` when given) with their rollouts and snapshots, read without images.
    public static func groups(_ run: LoggedRun, step: Int, group: Int?) throws -> [GroupView] {
        let groups = try run.log.groups(runID: run.runID, step: step).filter { group == nil || $0.group == group }
        if groups.isEmpty {
            if let group, try !run.log.groups(runID: run.runID, step: step).isEmpty {
                throw ReportError.noSuchGroup(runID: run.runID, step: step, group: group)
            }
            throw ReportError.noSuchStep(runID: run.runID, step: step)
        }
        let (rollouts, snapshots) = try textRows(run, step: step, group: group)
        return groups.map { g in
            let rs = rollouts.filter { $0.group == g.group }.map { r in
                RolloutView(id: RolloutID(step: step, group: g.group, rollout: r.rollout).description, rollout: r.rollout,
                            finalText: r.finalText, samplerSeed: r.samplerSeed,
                            snapshots: snapshots.filter { $0.group == g.group && $0.rollout == r.rollout }.map(\.view))
            }
            return GroupView(step: g.step, group: g.group, taskID: g.taskID, kind: g.kind, category: g.category,
                             instruction: g.instruction, sampledSteps: g.sampledSteps, rollouts: rs)
        }
    }

    struct RolloutText { var group: Int; var rollout: Int; var finalText: String; var samplerSeed: UInt64 }
    struct SnapshotText { var group: Int; var rollout: Int; var view: SnapshotView }

    /// Rollout and snapshot rows of a step without their image and trajectory blobs.
    static func textRows(_ run: LoggedRun, step: Int, group: Int?) throws -> ([RolloutText], [SnapshotText]) {
        try run.log.queue.read { db in
            let rollouts = try Row.fetchAll(db, sql: """
                SELECT group_index, rollout_index, final_text, sampler_seed FROM rollouts
                WHERE run_id = ?1 AND step = ?2 AND (?3 IS NULL OR group_index = ?3) ORDER BY group_index, rollout_index
                """, arguments: [run.runID, step, group]).map {
                RolloutText(group: try $0.value("group_index"), rollout: try $0.value("rollout_index"), finalText: try $0.value("final_text"),
                            samplerSeed: UInt64(bitPattern: try $0.value("sampler_seed")))
            }
            let snapshots = try Row.fetchAll(db, sql: """
                SELECT group_index, rollout_index, t, partial_text, clip_score, reward, advantage FROM snapshots
                WHERE run_id = ?1 AND step = ?2 AND (?3 IS NULL OR group_index = ?3) ORDER BY group_index, rollout_index, t
                """, arguments: [run.runID, step, group]).map {
                SnapshotText(group: try $0.value("group_index"), rollout: try $0.value("rollout_index"),
                             view: SnapshotView(t: try $0.value("t"), partialText: try $0.value("partial_text"), clipScore: (try $0.optionalValue("clip_score") as Double?) ?? .nan,
                                                reward: (try $0.optionalValue("reward") as Double?) ?? .nan, advantage: (try $0.optionalValue("advantage") as Double?) ?? .nan))
            }
            return (rollouts, snapshots)
        }
    }

    public static func groupText(_ groups: [GroupView], width: Int) -> String {
        groups.map { g in
            var lines = ["step \(g.step) · group \(g.group) · task \(g.taskID) (\(g.category), \(g.kind)) · S = \(g.sampledSteps)",
                         oneLine("instruction: " + g.instruction, width: width)]
            var columns: [(String, TextTable.Alignment)] = [("id", .left)]
            for t in g.sampledSteps { columns += [("R@t=\(t)", .right), ("A@t=\(t)", .right)] }
            columns.append(("final text", .left))
            var table = TextTable(columns)
            for r in g.rollouts {
                var row = [r.id]
                for t in g.sampledSteps {
                    let s = r.snapshots.first { $0.t == t }
                    row += [s.map { formatNumber($0.reward) } ?? "-", s.map { formatNumber($0.advantage) } ?? "-"]
                }
                row.append(oneLine(r.finalText))
                table.append(row)
            }
            lines.append(table.render(width: width))
            return lines.joined(separator: "\n")
        }.joined(separator: "\n\n")
    }

    // MARK: trajectory

    public static func trajectory(_ run: LoggedRun, id: RolloutID) throws -> TrajectoryView {
        guard let group = try run.log.groups(runID: run.runID, step: id.step).first(where: { $0.group == id.group }),
              let rollout = try run.log.rollouts(runID: run.runID, step: id.step, group: id.group).first(where: { $0.rollout == id.rollout })
        else { throw ReportError.noSuchRollout(runID: run.runID, id: id.description) }
        let snapshots = try run.log.snapshots(runID: run.runID, step: id.step, group: id.group, rollout: id.rollout)
        return TrajectoryView(runID: run.runID, id: id.description, taskID: group.taskID, kind: group.kind, category: group.category,
                              instruction: group.instruction, sampledSteps: group.sampledSteps, finalText: rollout.finalText,
                              samplerSeed: rollout.samplerSeed,
                              snapshots: snapshots.map { SnapshotView(t: $0.t, partialText: $0.partialText, clipScore: $0.clipScore,
                                                                      reward: $0.reward, advantage: $0.advantage) },
                              inputImagePNG: group.inputImagePNG, partialImagesPNG: snapshots.map(\.partialImagePNG),
                              finalImagePNG: rollout.finalImagePNG)
    }

    public static func trajectoryText(_ v: TrajectoryView, width: Int) -> String {
        var table = TextTable([("t", .right), ("c", .right), ("R", .right), ("A", .right), ("partial text", .left)])
        for s in v.snapshots {
            table.append(["\(s.t)", formatNumber(s.clipScore), formatNumber(s.reward), formatNumber(s.advantage), oneLine(s.partialText)])
        }
        return ["run \(v.runID) · rollout \(v.id) · task \(v.taskID) (\(v.category), \(v.kind)) · S = \(v.sampledSteps) · seed \(v.samplerSeed)",
                oneLine("instruction: " + v.instruction, width: width),
                table.render(width: width),
                oneLine("final: " + v.finalText, width: width)].joined(separator: "\n")
    }

    /// The trajectory's images left to right — the input image (editing tasks), the partial image at each t ∈ S
    /// (when logged), the final image — each enlarged `scale` times, separated by white gaps.
    public static func trajectoryStrip(_ v: TrajectoryView, scale: Int = 4) throws -> RGBImage {
        var images: [RGBImage] = []
        if let input = v.inputImagePNG { images.append(try PNGCodec.decode(input, path: "input image of \(v.id)")) }
        // Runs with `log_partial_images: false` store empty blobs: those steps are left out.
        for (png, s) in zip(v.partialImagesPNG, v.snapshots) where !png.isEmpty {
            images.append(try PNGCodec.decode(png, path: "partial image of \(v.id) at t=\(s.t)"))
        }
        images.append(try PNGCodec.decode(v.finalImagePNG, path: "final image of \(v.id)"))
        return strip(images, scale: scale)
    }

    /// Images side by side on white, each enlarged `scale` times, with `gap` pixels around them.
    public static func strip(_ images: [RGBImage], scale: Int, gap: Int = 4) -> RGBImage {
        let height = (images.map(\.height).max() ?? 0) * scale + 2 * gap
        let width = images.reduce(gap) { $0 + $1.width * scale + gap }
        var canvas = RGBImage(width: width, height: height, fill: RGB(255, 255, 255))
        var x = gap
        for image in images {
            canvas.draw(image, x: x, y: gap, scale: scale)
            x += image.width * scale + gap
        }
        return canvas
    }
}
