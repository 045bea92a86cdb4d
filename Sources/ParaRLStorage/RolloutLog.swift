// The ParaRL rollout log (docs/design.md §4): one SQLite database per run, WAL, one transaction per training step,
// every row keyed by (run, step, group, rollout[, t]) so a resumed run never duplicates or loses rows.
import Foundation
import GRDB

public enum RolloutLogError: Error, CustomStringConvertible {
    case missing(path: String)
    case notARolloutLog(path: String)
    case invalidCommit(path: String, runID: String, step: Int, reason: String)
    case database(path: String, operation: String, reason: String)
    case corruptRow(path: String, table: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let p): return "\(p): no such rollout log"
        case .notARolloutLog(let p):
            return "\(p): not a ParaRL rollout log (the \"\(RolloutLog.schemaVersion)\" schema is missing)"
        case .invalidCommit(let p, let r, let s, let why): return "\(p): cannot commit step \(s) of run \(r): \(why)"
        case .database(let p, let op, let why): return "\(p): \(op) failed: \(why)"
        case .corruptRow(let p, let t, let why): return "\(p): unreadable row in table \(t): \(why)"
        }
    }
}

/// The rollout log of one or more runs. Writes come from rank 0 only.
///
/// Keys and repeats: `runs` is keyed by run id and `recordRun` ignores a repeat (a resumed run keeps its original
/// row). `commitStep` first deletes everything the log holds for (run, step) — step row, groups, rollouts,
/// snapshots — and then inserts the new rows, all in one transaction: committing a step twice replaces it
/// (INSERT OR REPLACE at step granularity), so a bit-exact resume rewrites identical rows and never duplicates
/// them, while two rows with the same key inside one commit are an error that leaves the log untouched.
/// Evaluations (run, step, scope) and checkpoints (run, step) are INSERT OR REPLACE; a step's reward evaluation
/// (`reward_evals`, `reward_eval_rollouts`) replaces whatever the log held for (run, step).
/// Doubles that are not finite are stored as NULL (SQLite has no NaN) and read back as NaN.
public final class RolloutLog: Sendable {
    public static let fileName = "rollouts.sqlite"
    public static let schemaVersion = "rollout-log-v1"
    /// The paired reward evaluation (tables `reward_evals`, `reward_eval_rollouts`) and ρ statistics over every inner
    /// iteration (`steps.ratio_deviation_mean/max`). Logs written before it read as before (no reward evaluations).
    public static let rewardEvalVersion = "rollout-log-v2-reward-evals"
    /// The reward monitor (the other reward source, weight 0): `snapshots.monitor_score`, `steps.monitor_mean`,
    /// `reward_evals.monitor_mean`, `reward_eval_rollouts.monitor_score`, and the reward–judge agreement of a run's
    /// checkpoints (`reward_agreements`, written by `pararl reward-agreement --run`). Older logs read nil / none there.
    public static let monitorVersion = "rollout-log-v3-reward-monitor"

    public let path: String
    public let queue: DatabaseQueue
    /// How writes wait for another connection's lock.
    public let timing: RunDatabase.BusyTiming

    static let migrations = [
        SchemaMigration(schemaVersion) { db in
            try db.execute(sql: """
                CREATE TABLE runs (
                    run_id TEXT PRIMARY KEY NOT NULL,
                    config_yaml TEXT NOT NULL,
                    seed INTEGER NOT NULL,
                    code_version TEXT NOT NULL,
                    objective TEXT NOT NULL,
                    sampled_steps INTEGER NOT NULL,
                    clip_mu REAL NOT NULL,
                    clip_sigma REAL NOT NULL,
                    started_at TEXT NOT NULL,
                    ended_at TEXT);
                CREATE TABLE steps (
                    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                    step INTEGER NOT NULL,
                    loss REAL, policy_loss REAL, kl REAL,
                    reward_mean REAL, reward_std REAL, advantage_mean REAL, advantage_std REAL,
                    clip_fraction_low REAL, clip_fraction_high REAL, frac_zero_std REAL,
                    grad_norm REAL, lr REAL, skipped INTEGER NOT NULL, output_alignment REAL,
                    seconds_rollout REAL, seconds_scoring REAL, seconds_update REAL, seconds_total REAL,
                    PRIMARY KEY (run_id, step));
                CREATE TABLE groups (
                    run_id TEXT NOT NULL,
                    step INTEGER NOT NULL,
                    group_index INTEGER NOT NULL,
                    task_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    category TEXT NOT NULL,
                    instruction TEXT NOT NULL,
                    input_image_png BLOB,
                    sampled_steps TEXT NOT NULL,
                    PRIMARY KEY (run_id, step, group_index),
                    FOREIGN KEY (run_id, step) REFERENCES steps(run_id, step) ON DELETE CASCADE);
                CREATE INDEX groups_by_task ON groups(task_id);
                CREATE INDEX groups_by_category ON groups(run_id, category);
                CREATE TABLE rollouts (
                    run_id TEXT NOT NULL,
                    step INTEGER NOT NULL,
                    group_index INTEGER NOT NULL,
                    rollout_index INTEGER NOT NULL,
                    final_text TEXT NOT NULL,
                    final_image_png BLOB NOT NULL,
                    trajectory BLOB NOT NULL,
                    sampler_seed INTEGER NOT NULL,
                    PRIMARY KEY (run_id, step, group_index, rollout_index),
                    FOREIGN KEY (run_id, step, group_index) REFERENCES groups(run_id, step, group_index) ON DELETE CASCADE);
                CREATE TABLE snapshots (
                    run_id TEXT NOT NULL,
                    step INTEGER NOT NULL,
                    group_index INTEGER NOT NULL,
                    rollout_index INTEGER NOT NULL,
                    t INTEGER NOT NULL,
                    partial_text TEXT NOT NULL,
                    partial_image_png BLOB NOT NULL,
                    clip_score REAL, reward REAL, advantage REAL,
                    PRIMARY KEY (run_id, step, group_index, rollout_index, t),
                    FOREIGN KEY (run_id, step, group_index, rollout_index)
                        REFERENCES rollouts(run_id, step, group_index, rollout_index) ON DELETE CASCADE);
                CREATE TABLE evaluations (
                    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                    step INTEGER NOT NULL,
                    scope TEXT NOT NULL,
                    tasks INTEGER NOT NULL,
                    text_quality REAL, text_alignment REAL, image_consistency REAL, image_alignment REAL,
                    image_quality REAL, output_alignment REAL, overall REAL,
                    PRIMARY KEY (run_id, step, scope));
                CREATE TABLE checkpoints (
                    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                    step INTEGER NOT NULL,
                    path TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    PRIMARY KEY (run_id, step));
                """)
        },
        SchemaMigration(rewardEvalVersion) { db in
            try db.execute(sql: """
                ALTER TABLE steps ADD COLUMN ratio_deviation_mean REAL;
                ALTER TABLE steps ADD COLUMN ratio_deviation_max REAL;
                CREATE TABLE reward_evals (
                    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                    step INTEGER NOT NULL,
                    t INTEGER NOT NULL,
                    tasks INTEGER NOT NULL,
                    rollouts INTEGER NOT NULL,
                    clip_mean REAL, reward_mean REAL, reward_std REAL,
                    PRIMARY KEY (run_id, step, t));
                CREATE TABLE reward_eval_rollouts (
                    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                    step INTEGER NOT NULL,
                    task_id TEXT NOT NULL,
                    rollout_index INTEGER NOT NULL,
                    t INTEGER NOT NULL,
                    sampler_seed INTEGER NOT NULL,
                    clip_score REAL, reward REAL,
                    PRIMARY KEY (run_id, step, task_id, rollout_index, t));
                """)
        },
        SchemaMigration(monitorVersion) { db in
            try db.execute(sql: """
                ALTER TABLE snapshots ADD COLUMN monitor_score REAL;
                ALTER TABLE steps ADD COLUMN monitor_mean REAL;
                ALTER TABLE reward_evals ADD COLUMN monitor_mean REAL;
                ALTER TABLE reward_eval_rollouts ADD COLUMN monitor_score REAL;
                CREATE TABLE reward_agreements (
                    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
                    step INTEGER NOT NULL,
                    source TEXT NOT NULL,
                    measure TEXT NOT NULL,
                    tasks INTEGER NOT NULL,
                    rollouts INTEGER NOT NULL,
                    pooled_spearman REAL, within_task_spearman REAL, within_task_count INTEGER NOT NULL,
                    concordance REAL, pairs INTEGER NOT NULL,
                    PRIMARY KEY (run_id, step, source, measure));
                """)
        },
    ]

    /// Opens (creating if needed) the log at `path` for writing, in WAL mode with the schema applied.
    public init(path: String, timing: RunDatabase.BusyTiming = .standard) throws {
        self.path = path
        self.timing = timing
        queue = try RunDatabase(path: path, migrations: Self.migrations, timing: timing).queue
    }

    /// Opens an existing log read-only (for `inspect` and `report`): a missing file or a database that is not a
    /// rollout log is an error naming the file; nothing is created or migrated.
    public init(readingAt path: String) throws {
        self.path = path
        timing = .standard
        guard FileManager.default.fileExists(atPath: path) else { throw RolloutLogError.missing(path: path) }
        do {
            queue = try DatabaseQueue(path: path, configuration: RunDatabase.configuration(readonly: true))
            let applied = try queue.read { db -> Bool in
                guard try db.tableExists("grdb_migrations") else { return false }
                return try DatabaseMigrator().appliedIdentifiers(db).contains(Self.schemaVersion)
            }
            guard applied else { throw RolloutLogError.notARolloutLog(path: path) }
            try queue.read { db in try RunDatabase.checkColumns(db, path: path, migrations: Self.migrations) }
        } catch let error as RolloutLogError {
            throw error
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.cannotOpen(path: path, reason: "\(error)")
        }
    }

    /// The journal mode SQLite reports (expected: "wal").
    public func journalMode() throws -> String {
        try read("reading the journal mode") { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    // MARK: Writing

    /// Records a run; a repeat of the same run id (a resumed run) keeps the original row.
    public func recordRun(_ run: RunRecord) throws {
        try write("recording run \(run.runID)") { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO runs (run_id, config_yaml, seed, code_version, objective, sampled_steps,
                    clip_mu, clip_sigma, started_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [run.runID, run.configYAML, Int64(bitPattern: run.seed), run.codeVersion, run.objective,
                                 run.sampledSteps, run.clipMu, run.clipSigma, Self.timestamp(run.startedAt),
                                 run.endedAt.map(Self.timestamp)])
        }
    }

    /// Marks the run finished at `endedAt`.
    public func finishRun(runID: String, endedAt: Date) throws {
        try write("finishing run \(runID)") { db in
            try db.execute(sql: "UPDATE runs SET ended_at = ? WHERE run_id = ?", arguments: [Self.timestamp(endedAt), runID])
        }
    }

    /// Writes one training step — its metrics, groups, rollouts, snapshots and any evaluations — in one
    /// transaction, replacing whatever the log held for (run, step). Every row must belong to `step.step`.
    public func commitStep(runID: String, step: StepRecord, groups: [GroupRecord], rollouts: [RolloutRecord],
                           snapshots: [SnapshotRecord], evaluations: [EvaluationRecord],
                           rewardEvaluation: RewardEvaluationRows? = nil) throws {
        let n = step.step
        func invalid(_ why: String) -> RolloutLogError { .invalidCommit(path: path, runID: runID, step: n, reason: why) }
        if let g = groups.first(where: { $0.step != n }) { throw invalid("group \(g.group) is labelled step \(g.step)") }
        if let r = rollouts.first(where: { $0.step != n }) { throw invalid("rollout \(r.group):\(r.rollout) is labelled step \(r.step)") }
        if let s = snapshots.first(where: { $0.step != n }) {
            throw invalid("snapshot \(s.group):\(s.rollout) t=\(s.t) is labelled step \(s.step)")
        }
        if let e = evaluations.first(where: { $0.step != n }) { throw invalid("evaluation \(e.scope) is labelled step \(e.step)") }
        if let e = rewardEvaluation, e.summaries.contains(where: { $0.step != n }) || e.rollouts.contains(where: { $0.step != n }) {
            throw invalid("a reward evaluation row is labelled with another step")
        }
        try write("committing step \(n) of run \(runID)") { db in
            for table in ["snapshots", "rollouts", "groups", "steps"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE run_id = ? AND step = ?", arguments: [runID, n])
            }
            try db.execute(sql: """
                INSERT INTO steps (run_id, step, loss, policy_loss, kl, reward_mean, reward_std, advantage_mean,
                    advantage_std, clip_fraction_low, clip_fraction_high, frac_zero_std, grad_norm, lr, skipped,
                    output_alignment, seconds_rollout, seconds_scoring, seconds_update, seconds_total,
                    ratio_deviation_mean, ratio_deviation_max, monitor_mean)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: StatementArguments(Self.stepValues(runID: runID, step)))
            for g in groups {
                try db.execute(sql: """
                    INSERT INTO groups (run_id, step, group_index, task_id, kind, category, instruction, input_image_png,
                        sampled_steps) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [runID, n, g.group, g.taskID, g.kind, g.category, g.instruction, g.inputImagePNG,
                                     Self.jsonArray(g.sampledSteps)])
            }
            for r in rollouts {
                try db.execute(sql: """
                    INSERT INTO rollouts (run_id, step, group_index, rollout_index, final_text, final_image_png,
                        trajectory, sampler_seed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [runID, n, r.group, r.rollout, r.finalText, r.finalImagePNG, r.trajectory,
                                     Int64(bitPattern: r.samplerSeed)])
            }
            for s in snapshots {
                try db.execute(sql: """
                    INSERT INTO snapshots (run_id, step, group_index, rollout_index, t, partial_text, partial_image_png,
                        clip_score, reward, advantage, monitor_score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [runID, n, s.group, s.rollout, s.t, s.partialText, s.partialImagePNG,
                                     Self.real(s.clipScore), Self.real(s.reward), Self.real(s.advantage),
                                     s.monitorScore.map(Self.real) ?? nil])
            }
            try Self.insertEvaluations(db, runID: runID, evaluations)
            if let rewardEvaluation { try Self.insertRewardEvaluation(db, runID: runID, step: n, rewardEvaluation) }
        }
    }

    /// Records a reward evaluation outside a step commit (the starting policy at step 0), replacing whatever the
    /// log held for (run, step) in those two tables. Every row must belong to `step`.
    public func recordRewardEvaluation(runID: String, step: Int, _ rows: RewardEvaluationRows) throws {
        guard !rows.summaries.contains(where: { $0.step != step }) && !rows.rollouts.contains(where: { $0.step != step }) else {
            throw RolloutLogError.invalidCommit(path: path, runID: runID, step: step, reason: "a reward evaluation row is labelled with another step")
        }
        try write("recording the reward evaluation of step \(step) of run \(runID)") { db in
            try Self.insertRewardEvaluation(db, runID: runID, step: step, rows)
        }
    }

    /// Records evaluations outside a step commit (e.g. the starting checkpoint at step 0), replacing any with the
    /// same (run, step, scope).
    public func recordEvaluations(runID: String, _ evaluations: [EvaluationRecord]) throws {
        try write("recording evaluations of run \(runID)") { db in try Self.insertEvaluations(db, runID: runID, evaluations) }
    }

    /// Records a complete checkpoint, replacing any row for the same (run, step); with `kept` (the steps whose
    /// checkpoints are still on disk) the rows of pruned ones are removed.
    public func recordCheckpoint(runID: String, _ checkpoint: CheckpointRecord, kept: [Int]? = nil) throws {
        try write("recording the checkpoint of step \(checkpoint.step) of run \(runID)") { db in
            try db.execute(sql: "INSERT OR REPLACE INTO checkpoints (run_id, step, path, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [runID, checkpoint.step, checkpoint.path, Self.timestamp(checkpoint.createdAt)])
            if let kept {
                let steps = Set(kept + [checkpoint.step]).sorted().map(String.init).joined(separator: ", ")
                try db.execute(sql: "DELETE FROM checkpoints WHERE run_id = ? AND step NOT IN (\(steps))", arguments: [runID])
            }
        }
    }

    /// Deletes every row of `runID` from steps after `step` (steps, groups, rollouts, snapshots, evaluations,
    /// checkpoints): a resume from the checkpoint of `step` rewrites them.
    public func discardSteps(runID: String, after step: Int) throws {
        try write("discarding the steps of run \(runID) after \(step)") { db in
            for table in ["snapshots", "rollouts", "groups", "steps", "evaluations", "checkpoints", "reward_evals",
                          "reward_eval_rollouts"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE run_id = ? AND step > ?", arguments: [runID, step])
            }
        }
    }

    // MARK: Reading

    /// Every run, in the order they started.
    public func runs() throws -> [RunRecord] {
        try read("reading runs") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM runs ORDER BY started_at, run_id").map { row in
                RunRecord(runID: try row.value("run_id"), configYAML: try row.value("config_yaml"), seed: UInt64(bitPattern: try row.value("seed")),
                          codeVersion: try row.value("code_version"), objective: try row.value("objective"), sampledSteps: try row.value("sampled_steps"),
                          clipMu: try row.value("clip_mu"), clipSigma: try row.value("clip_sigma"),
                          startedAt: try self.date(try row.value("started_at"), table: "runs"),
                          endedAt: try (try row.optionalValue("ended_at") as String?).map { try self.date($0, table: "runs") })
            }
        }
    }

    /// Logged training steps over all runs of this log.
    public func stepCount() throws -> Int {
        try read("counting steps") { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM steps") ?? 0 }
    }

    /// The steps of a run in order.
    public func steps(runID: String) throws -> [StepRecord] {
        try read("reading the steps of run \(runID)") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM steps WHERE run_id = ? ORDER BY step", arguments: [runID]).map { row in
                func d(_ c: String) throws -> Double { Self.double(try row.optionalValue(c)) }
                return StepRecord(step: try row.value("step"), loss: try d("loss"), policyLoss: try d("policy_loss"), kl: try d("kl"),
                                  rewardMean: try d("reward_mean"), rewardStd: try d("reward_std"),
                                  advantageMean: try d("advantage_mean"), advantageStd: try d("advantage_std"),
                                  clipFractionLow: try d("clip_fraction_low"), clipFractionHigh: try d("clip_fraction_high"),
                                  fracZeroStd: try d("frac_zero_std"), gradNorm: try d("grad_norm"), lr: try d("lr"),
                                  skipped: (try row.value("skipped") as Int) != 0, outputAlignment: try d("output_alignment"),
                                  secondsRollout: try d("seconds_rollout"), secondsScoring: try d("seconds_scoring"),
                                  secondsUpdate: try d("seconds_update"), secondsTotal: try d("seconds_total"),
                                  ratioDeviationMean: try d("ratio_deviation_mean"), ratioDeviationMax: try d("ratio_deviation_max"),
                                  monitorMean: try row.optionalValue("monitor_mean"))
            }
        }
    }

    /// The groups of a step (all steps when `step` is nil), ordered by step and group.
    public func groups(runID: String, step: Int? = nil) throws -> [GroupRecord] {
        try read("reading the groups of run \(runID)") { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM groups WHERE run_id = ? AND (?2 IS NULL OR step = ?2) ORDER BY step, group_index
                """, arguments: [runID, step]).map { row in
                GroupRecord(step: try row.value("step"), group: try row.value("group_index"), taskID: try row.value("task_id"), kind: try row.value("kind"),
                            category: try row.value("category"), instruction: try row.value("instruction"), inputImagePNG: try row.optionalValue("input_image_png"),
                            sampledSteps: try self.intArray(try row.value("sampled_steps"), table: "groups"))
            }
        }
    }

    /// The rollouts of a run, narrowed to a step and a group when given, ordered by key.
    public func rollouts(runID: String, step: Int? = nil, group: Int? = nil) throws -> [RolloutRecord] {
        try read("reading the rollouts of run \(runID)") { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM rollouts WHERE run_id = ?1 AND (?2 IS NULL OR step = ?2) AND (?3 IS NULL OR group_index = ?3)
                ORDER BY step, group_index, rollout_index
                """, arguments: [runID, step, group]).map { row in
                RolloutRecord(step: try row.value("step"), group: try row.value("group_index"), rollout: try row.value("rollout_index"),
                              finalText: try row.value("final_text"), finalImagePNG: Self.blob(try row.optionalValue("final_image_png")),
                              trajectory: Self.blob(try row.optionalValue("trajectory")), samplerSeed: UInt64(bitPattern: try row.value("sampler_seed")))
            }
        }
    }

    /// The snapshots of a run, narrowed to a step, group and rollout when given, ordered by key then t.
    public func snapshots(runID: String, step: Int? = nil, group: Int? = nil, rollout: Int? = nil) throws -> [SnapshotRecord] {
        try read("reading the snapshots of run \(runID)") { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM snapshots WHERE run_id = ?1 AND (?2 IS NULL OR step = ?2) AND (?3 IS NULL OR group_index = ?3)
                    AND (?4 IS NULL OR rollout_index = ?4)
                ORDER BY step, group_index, rollout_index, t
                """, arguments: [runID, step, group, rollout]).map { row in
                SnapshotRecord(step: try row.value("step"), group: try row.value("group_index"), rollout: try row.value("rollout_index"), t: try row.value("t"),
                               partialText: try row.value("partial_text"), partialImagePNG: Self.blob(try row.optionalValue("partial_image_png")),
                               clipScore: Self.double(try row.optionalValue("clip_score")), reward: Self.double(try row.optionalValue("reward")),
                               advantage: Self.double(try row.optionalValue("advantage")),
                               monitorScore: try row.optionalValue("monitor_score"))
            }
        }
    }

    /// Records the reward–judge agreement rows of one checkpoint (`step`), replacing what the log held for (run, step).
    public func recordRewardAgreement(runID: String, step: Int, _ rows: [RewardAgreementRecord]) throws {
        guard !rows.contains(where: { $0.step != step }) else {
            throw RolloutLogError.invalidCommit(path: path, runID: runID, step: step, reason: "an agreement row is labelled with another step")
        }
        try write("recording the reward agreement of step \(step) of run \(runID)") { db in
            try db.execute(sql: "DELETE FROM reward_agreements WHERE run_id = ? AND step = ?", arguments: [runID, step])
            for r in rows {
                try db.execute(sql: """
                    INSERT INTO reward_agreements (run_id, step, source, measure, tasks, rollouts, pooled_spearman,
                        within_task_spearman, within_task_count, concordance, pairs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [runID, step, r.source, r.measure, r.tasks, r.rollouts, r.pooledSpearman.map(Self.real) ?? nil,
                                     r.withinTaskSpearman.map(Self.real) ?? nil, r.withinTaskCount, r.concordance.map(Self.real) ?? nil,
                                     r.pairs])
            }
        }
    }

    /// The reward–judge agreement rows of a run in step order (empty for logs without the table).
    public func rewardAgreements(runID: String) throws -> [RewardAgreementRecord] {
        try read("reading the reward agreements of run \(runID)") { db in
            guard try db.tableExists("reward_agreements") else { return [] }
            return try Row.fetchAll(db, sql: "SELECT * FROM reward_agreements WHERE run_id = ? ORDER BY step, rowid", arguments: [runID]).map { row in
                RewardAgreementRecord(step: try row.value("step"), source: try row.value("source"), measure: try row.value("measure"),
                                      tasks: try row.value("tasks"), rollouts: try row.value("rollouts"),
                                      pooledSpearman: try row.optionalValue("pooled_spearman"),
                                      withinTaskSpearman: try row.optionalValue("within_task_spearman"),
                                      withinTaskCount: try row.value("within_task_count"), concordance: try row.optionalValue("concordance"),
                                      pairs: try row.value("pairs"))
            }
        }
    }

    /// The evaluations of a run, ordered by step and scope.
    public func evaluations(runID: String) throws -> [EvaluationRecord] {
        try read("reading the evaluations of run \(runID)") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM evaluations WHERE run_id = ? ORDER BY step, scope", arguments: [runID]).map { row in
                func d(_ c: String) throws -> Double { Self.double(try row.optionalValue(c)) }
                return EvaluationRecord(step: try row.value("step"), scope: try row.value("scope"), tasks: try row.value("tasks"), textQuality: try d("text_quality"),
                                        textAlignment: try d("text_alignment"), imageConsistency: try row.optionalValue("image_consistency"),
                                        imageAlignment: try d("image_alignment"), imageQuality: try d("image_quality"),
                                        outputAlignment: try d("output_alignment"), overall: try d("overall"))
            }
        }
    }

    /// The paired reward evaluation rows of a run, ordered by step and t (empty for logs written before the table).
    public func rewardEvaluations(runID: String) throws -> [RewardEvalRecord] {
        try read("reading the reward evaluations of run \(runID)") { db in
            guard try db.tableExists("reward_evals") else { return [] }
            return try Row.fetchAll(db, sql: "SELECT * FROM reward_evals WHERE run_id = ? ORDER BY step, t", arguments: [runID]).map { row in
                RewardEvalRecord(step: try row.value("step"), t: try row.value("t"), tasks: try row.value("tasks"), rollouts: try row.value("rollouts"),
                                 clipMean: Self.double(try row.optionalValue("clip_mean")), rewardMean: Self.double(try row.optionalValue("reward_mean")),
                                 rewardStd: Self.double(try row.optionalValue("reward_std")),
                                 monitorMean: try row.optionalValue("monitor_mean"))
            }
        }
    }

    /// The per-rollout scores of the paired reward evaluation, narrowed to a step when given, ordered by step, task,
    /// rollout and t.
    public func rewardEvaluationRollouts(runID: String, step: Int? = nil) throws -> [RewardEvalRolloutRecord] {
        try read("reading the reward evaluation rollouts of run \(runID)") { db in
            guard try db.tableExists("reward_eval_rollouts") else { return [] }
            return try Row.fetchAll(db, sql: """
                SELECT * FROM reward_eval_rollouts WHERE run_id = ?1 AND (?2 IS NULL OR step = ?2)
                ORDER BY step, task_id, rollout_index, t
                """, arguments: [runID, step]).map { row in
                RewardEvalRolloutRecord(step: try row.value("step"), taskID: try row.value("task_id"), rollout: try row.value("rollout_index"), t: try row.value("t"),
                                        samplerSeed: UInt64(bitPattern: try row.value("sampler_seed")),
                                        clipScore: Self.double(try row.optionalValue("clip_score")), reward: Self.double(try row.optionalValue("reward")),
                                        monitorScore: try row.optionalValue("monitor_score"))
            }
        }
    }

    /// The checkpoints of a run, ordered by step.
    public func checkpoints(runID: String) throws -> [CheckpointRecord] {
        try read("reading the checkpoints of run \(runID)") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM checkpoints WHERE run_id = ? ORDER BY step", arguments: [runID]).map { row in
                CheckpointRecord(step: try row.value("step"), path: try row.value("path"), createdAt: try self.date(try row.value("created_at"), table: "checkpoints"))
            }
        }
    }

    // MARK: Helpers

    func write<T>(_ operation: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try RunDatabase.retryingBusy(timing) { try queue.write(body) }
        } catch let error as RolloutLogError {
            throw error
        } catch {
            throw RolloutLogError.database(path: path, operation: operation, reason: "\(error)")
        }
    }

    func read<T>(_ operation: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.read(body)
        } catch let error as RolloutLogError {
            throw error
        } catch {
            throw RolloutLogError.database(path: path, operation: operation, reason: "\(error)")
        }
    }

    static func insertEvaluations(_ db: Database, runID: String, _ evaluations: [EvaluationRecord]) throws {
        for e in evaluations {
            try db.execute(sql: """
                INSERT OR REPLACE INTO evaluations (run_id, step, scope, tasks, text_quality, text_alignment,
                    image_consistency, image_alignment, image_quality, output_alignment, overall)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [runID, e.step, e.scope, e.tasks, real(e.textQuality), real(e.textAlignment),
                                 e.imageConsistency.map(real), real(e.imageAlignment), real(e.imageQuality),
                                 real(e.outputAlignment), real(e.overall)])
        }
    }

    static func insertRewardEvaluation(_ db: Database, runID: String, step: Int, _ rows: RewardEvaluationRows) throws {
        for table in ["reward_evals", "reward_eval_rollouts"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE run_id = ? AND step = ?", arguments: [runID, step])
        }
        for e in rows.summaries {
            try db.execute(sql: """
                INSERT INTO reward_evals (run_id, step, t, tasks, rollouts, clip_mean, reward_mean, reward_std, monitor_mean)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [runID, e.step, e.t, e.tasks, e.rollouts, real(e.clipMean), real(e.rewardMean), real(e.rewardStd),
                                 e.monitorMean.map(real) ?? nil])
        }
        for r in rows.rollouts {
            try db.execute(sql: """
                INSERT INTO reward_eval_rollouts (run_id, step, task_id, rollout_index, t, sampler_seed, clip_score, reward,
                    monitor_score)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [runID, r.step, r.taskID, r.rollout, r.t, Int64(bitPattern: r.samplerSeed), real(r.clipScore),
                                 real(r.reward), r.monitorScore.map(real) ?? nil])
        }
    }

    static func stepValues(runID: String, _ s: StepRecord) -> [(any DatabaseValueConvertible)?] {
        let metrics = [s.loss, s.policyLoss, s.kl, s.rewardMean, s.rewardStd, s.advantageMean, s.advantageStd,
                       s.clipFractionLow, s.clipFractionHigh, s.fracZeroStd, s.gradNorm, s.lr].map(real)
        let timings = [s.outputAlignment, s.secondsRollout, s.secondsScoring, s.secondsUpdate, s.secondsTotal,
                       s.ratioDeviationMean, s.ratioDeviationMax].map(real)
        return [runID, s.step] + metrics + [s.skipped ? 1 : 0] + timings + [s.monitorMean.map(real) ?? DatabaseValue.null]
    }

    /// A finite double, or NULL.
    static func real(_ x: Double) -> DatabaseValue { x.isFinite ? x.databaseValue : .null }
    static func double(_ x: Double?) -> Double { x ?? .nan }
    static func blob(_ x: Data?) -> Data { x ?? Data() }

    /// S as JSON text, e.g. `[3,7,12]`, so `sqlite3` shows it and `json_each` can expand it.
    static func jsonArray(_ xs: [Int]) -> String { "[" + xs.map(String.init).joined(separator: ",") + "]" }

    func intArray(_ text: String, table: String) throws -> [Int] {
        guard let data = text.data(using: .utf8), let xs = try? JSONDecoder().decode([Int].self, from: data) else {
            throw RolloutLogError.corruptRow(path: path, table: table, reason: "sampled_steps is not a JSON array of integers: \(text)")
        }
        return xs
    }

    /// Times are UTC ISO 8601 with milliseconds (`2026-11-27T12:30:11.250Z`), which SQLite's date functions read.
    static func timestamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }

    func date(_ text: String, table: String) throws -> Date {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let d = f.date(from: text) else {
            throw RolloutLogError.corruptRow(path: path, table: table, reason: "unreadable time \(text)")
        }
        return d
    }
}

/// A stored value that does not have the type its column should hold (e.g. text in a REAL column written by hand).
public struct RowValueError: Error, CustomStringConvertible {
    public var column: String, value: String, type: String
    public var description: String { "column \(column) holds \(value), not a \(type)" }
}

extension Row {
    /// The value of `column` as `T`, or an error naming the column and the value (GRDB's subscript would trap).
    public func value<T: DatabaseValueConvertible>(_ column: String) throws -> T {
        guard let raw: DatabaseValue = self[column] else { throw RowValueError(column: column, value: "no such column", type: "\(T.self)") }
        guard let v = T.fromDatabaseValue(raw) else { throw RowValueError(column: column, value: "\(raw)", type: "\(T.self)") }
        return v
    }

    /// The value of `column` as `T`, nil for NULL, or an error naming the column and the value.
    /// A column the row lacks (a log written before a migration added it) reads as nil too.
    public func optionalValue<T: DatabaseValueConvertible>(_ column: String) throws -> T? {
        guard let raw: DatabaseValue = self[column], !raw.isNull else { return nil }
        guard let v = T.fromDatabaseValue(raw) else { throw RowValueError(column: column, value: "\(raw)", type: "\(T.self)") }
        return v
    }
}
