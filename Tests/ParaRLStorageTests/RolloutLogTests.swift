// The rollout log round-trips every row type, never duplicates a repeated step, commits a step atomically,
// drops steps past a checkpoint, runs in WAL mode and keeps its rows across reopening.
import Foundation
import GRDB
import Testing
@testable import ParaRLStorage

@Suite("Rollout log")
struct RolloutLogTests {
    static func tempPath() throws -> (dir: URL, path: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pararl-rollouts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return (dir, dir.appendingPathComponent(RolloutLog.fileName).path)
    }

    static let run = RunRecord(runID: "run-a", configYAML: "objective: trajectory\nsampled_steps: 2\n", seed: 0xFEED_0000_0000_0001,
                               codeVersion: "test", objective: "trajectory", sampledSteps: 2, clipMu: 24.5, clipSigma: 3.25,
                               startedAt: Date(timeIntervalSince1970: 1_790_000_000.25))

    /// A step with `groups` groups of `g` rollouts and S = {1, 3} (+ step so rows differ between steps).
    static func content(step: Int, groups: Int = 2, g: Int = 3, scale: Double = 1)
        -> (StepRecord, [GroupRecord], [RolloutRecord], [SnapshotRecord]) {
        let s = StepRecord(step: step, loss: 0.5 * scale + Double(step), policyLoss: 0.25, kl: 0.01 * Double(step), rewardMean: 0.3,
                           rewardStd: 0.1, advantageMean: 0, advantageStd: 0.9, clipFractionLow: 0.02, clipFractionHigh: 0.03,
                           fracZeroStd: 0.25, gradNorm: 1.5, lr: 1e-5, skipped: step % 2 == 1, outputAlignment: 60,
                           secondsRollout: 1, secondsScoring: 0.5, secondsUpdate: 2, secondsTotal: 3.5)
        var gs: [GroupRecord] = [], rs: [RolloutRecord] = [], ss: [SnapshotRecord] = []
        for k in 0..<groups {
            let sampled = [1, 3 + k]
            gs.append(GroupRecord(step: step, group: k, taskID: "task-\(step)-\(k)", kind: k == 0 ? "edit" : "generate",
                                  category: k == 0 ? "spatial" : "generation", instruction: "move the <b>red</b> circle",
                                  inputImagePNG: k == 0 ? Data([0x89, 0x50, UInt8(k)]) : nil, sampledSteps: sampled))
            for i in 0..<g {
                rs.append(RolloutRecord(step: step, group: k, rollout: i, finalText: "final \(step).\(k).\(i)",
                                        finalImagePNG: Data([1, 2, UInt8(i)]), trajectory: Data(repeating: UInt8(i), count: 5),
                                        samplerSeed: UInt64(100 * k + i) | (1 << 63)))
                for t in sampled {
                    ss.append(SnapshotRecord(step: step, group: k, rollout: i, t: t, partialText: "partial t=\(t)",
                                             partialImagePNG: Data([UInt8(t)]), clipScore: 20 + Double(i) * scale,
                                             reward: Double(i) / 10, advantage: Double(i) - 1))
                }
            }
        }
        return (s, gs, rs, ss)
    }

    static func evaluation(step: Int, scope: String = "overall", consistency: Double? = 70) -> EvaluationRecord {
        EvaluationRecord(step: step, scope: scope, tasks: 12, textQuality: 80, textAlignment: 40 + Double(step),
                         imageConsistency: consistency, imageAlignment: 55, imageQuality: 90, outputAlignment: 61,
                         overall: 66)
    }

    static func commit(_ log: RolloutLog, step: Int, evaluations: [EvaluationRecord] = [], scale: Double = 1) throws {
        let (s, g, r, sn) = content(step: step, scale: scale)
        try log.commitStep(runID: run.runID, step: s, groups: g, rollouts: r, snapshots: sn, evaluations: evaluations)
    }

    static func count(_ log: RolloutLog, _ table: String) throws -> Int {
        try log.queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM \(table)") ?? -1 }
    }

    @Test("every row type reads back as written")
    func roundTrip() throws {
        let (dir, path) = try Self.tempPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try RolloutLog(path: path)
        try log.recordRun(Self.run)
        let evals = [Self.evaluation(step: 1), Self.evaluation(step: 1, scope: "kind:generate", consistency: nil)]
        try Self.commit(log, step: 1, evaluations: evals)
        try Self.commit(log, step: 2)
        try log.recordEvaluations(runID: Self.run.runID, [Self.evaluation(step: 0)])
        let ckpt = CheckpointRecord(step: 2, path: "/runs/x/step-00000002", createdAt: Date(timeIntervalSince1970: 1_790_000_100.5))
        try log.recordCheckpoint(runID: Self.run.runID, ckpt)
        let end = Date(timeIntervalSince1970: 1_790_000_200.75)
        try log.finishRun(runID: Self.run.runID, endedAt: end)

        var expectedRun = Self.run
        expectedRun.endedAt = end
        #expect(try log.runs() == [expectedRun])
        let c1 = Self.content(step: 1), c2 = Self.content(step: 2)
        #expect(try log.steps(runID: "run-a") == [c1.0, c2.0])
        #expect(try log.groups(runID: "run-a", step: 1) == c1.1)
        #expect(try log.groups(runID: "run-a") == c1.1 + c2.1)
        #expect(try log.rollouts(runID: "run-a", step: 2) == c2.2)
        #expect(try log.rollouts(runID: "run-a", step: 2, group: 1) == c2.2.filter { $0.group == 1 })
        #expect(try log.snapshots(runID: "run-a", step: 1, group: 0, rollout: 2) == c1.3.filter { $0.group == 0 && $0.rollout == 2 })
        #expect(try log.snapshots(runID: "run-a").count == c1.3.count + c2.3.count)
        #expect(try log.evaluations(runID: "run-a") == [Self.evaluation(step: 0)] + evals.sorted { $0.scope < $1.scope })
        #expect(try log.checkpoints(runID: "run-a") == [ckpt])
        // S is readable JSON for sqlite3 users.
        let s = try log.queue.read { try String.fetchOne($0, sql: "SELECT sampled_steps FROM groups WHERE step = 1 AND group_index = 1") }
        #expect(s == "[1,4]")
        // A different run in the same file reads nothing of run-a.
        #expect(try log.steps(runID: "run-b").isEmpty)
    }

    @Test("non-finite metrics are stored as NULL and read back as NaN")
    func nonFinite() throws {
        let (dir, path) = try Self.tempPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try RolloutLog(path: path)
        try log.recordRun(Self.run)
        var (s, _, _, _) = Self.content(step: 1)
        s.gradNorm = .nan
        s.loss = .infinity
        try log.commitStep(runID: "run-a", step: s, groups: [], rollouts: [], snapshots: [], evaluations: [])
        let back = try #require(try log.steps(runID: "run-a").first)
        #expect(back.gradNorm.isNaN && back.loss.isNaN && back.kl == s.kl)
        let nulls = try log.queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM steps WHERE grad_norm IS NULL") }
        #expect(nulls == 1)
    }

    @Test("a repeated run or step replaces, never duplicates")
    func uniqueKeys() throws {
        let (dir, path) = try Self.tempPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try RolloutLog(path: path)
        try log.recordRun(Self.run)
        var resumed = Self.run
        resumed.configYAML = "changed"
        try log.recordRun(resumed)
        #expect(try log.runs() == [Self.run], "a resumed run keeps its original row")

        try Self.commit(log, step: 1, evaluations: [Self.evaluation(step: 1)])
        let counts = try ["steps", "groups", "rollouts", "snapshots", "evaluations"].map { try Self.count(log, $0) }
        try Self.commit(log, step: 1, evaluations: [Self.evaluation(step: 1)])
        #expect(try ["steps", "groups", "rollouts", "snapshots", "evaluations"].map { try Self.count(log, $0) } == counts)
        // A re-commit with different values replaces the step's rows.
        try Self.commit(log, step: 1, scale: 2)
        let c = Self.content(step: 1, scale: 2)
        #expect(try log.steps(runID: "run-a") == [c.0])
        #expect(try log.snapshots(runID: "run-a") == c.3)
        // Checkpoints too.
        let ck = CheckpointRecord(step: 1, path: "/a", createdAt: Date(timeIntervalSince1970: 1_790_000_000))
        try log.recordCheckpoint(runID: "run-a", ck)
        try log.recordCheckpoint(runID: "run-a", ck)
        #expect(try log.checkpoints(runID: "run-a") == [ck])
    }

    @Test("a failing commit leaves nothing of that step and keeps the previous one")
    func atomicity() throws {
        let (dir, path) = try Self.tempPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try RolloutLog(path: path)
        try log.recordRun(Self.run)
        try Self.commit(log, step: 1)
        // Step 2 with a duplicated snapshot: the last insert fails after step, groups and rollouts went in.
        let (s, g, r, sn) = Self.content(step: 2)
        let bad = sn + [try #require(sn.last)]
        #expect(throws: RolloutLogError.self) {
            try log.commitStep(runID: "run-a", step: s, groups: g, rollouts: r, snapshots: bad, evaluations: [Self.evaluation(step: 2)])
        }
        #expect(try log.steps(runID: "run-a").map(\.step) == [1])
        #expect(try log.groups(runID: "run-a", step: 2).isEmpty)
        #expect(try log.rollouts(runID: "run-a", step: 2).isEmpty)
        #expect(try log.evaluations(runID: "run-a").isEmpty)
        // A failing re-commit of step 1 (snapshot of a rollout that does not exist) keeps the old step 1 intact.
        let c1 = Self.content(step: 1)
        var orphan = try #require(c1.3.first)
        orphan.rollout = 99
        #expect(throws: RolloutLogError.self) {
            try log.commitStep(runID: "run-a", step: c1.0, groups: c1.1, rollouts: [], snapshots: [orphan], evaluations: [])
        }
        #expect(try log.snapshots(runID: "run-a") == c1.3)
        // Rows labelled with another step are refused before anything is written, with a message naming the file.
        do {
            try log.commitStep(runID: "run-a", step: s, groups: c1.1, rollouts: [], snapshots: [], evaluations: [])
            Issue.record("a group of step 1 in a commit of step 2 should be refused")
        } catch {
            #expect("\(error)".contains(path) && "\(error)".contains("step 2"))
        }
        #expect(try log.steps(runID: "run-a").map(\.step) == [1])
    }

    @Test("discardSteps drops every row after the checkpoint step")
    func discard() throws {
        let (dir, path) = try Self.tempPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try RolloutLog(path: path)
        try log.recordRun(Self.run)
        for step in 1...4 {
            try Self.commit(log, step: step, evaluations: [Self.evaluation(step: step)])
            try log.recordCheckpoint(runID: "run-a", CheckpointRecord(step: step, path: "/c\(step)", createdAt: Date(timeIntervalSince1970: 1_790_000_000)))
        }
        try log.discardSteps(runID: "run-a", after: 2)
        #expect(try log.steps(runID: "run-a").map(\.step) == [1, 2])
        #expect(Set(try log.groups(runID: "run-a").map(\.step)) == [1, 2])
        #expect(Set(try log.rollouts(runID: "run-a").map(\.step)) == [1, 2])
        #expect(Set(try log.snapshots(runID: "run-a").map(\.step)) == [1, 2])
        #expect(try log.evaluations(runID: "run-a").map(\.step) == [1, 2])
        #expect(try log.checkpoints(runID: "run-a").map(\.step) == [1, 2])
        // A resume rewriting steps 3 and 4 gives the same rows as the uninterrupted log.
        try Self.commit(log, step: 3)
        #expect(try log.snapshots(runID: "run-a", step: 3) == Self.content(step: 3).3)
    }

    @Test("WAL mode, schema applied once, rows survive reopening, read-only opening")
    func reopen() throws {
        let (dir, path) = try Self.tempPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            let log = try RolloutLog(path: path)
            #expect(try log.journalMode() == "wal")
            try log.recordRun(Self.run)
            try Self.commit(log, step: 1)
        }
        let again = try RolloutLog(path: path)
        #expect(try Set(again.queue.read { try DatabaseMigrator().appliedIdentifiers($0) }) == [RolloutLog.schemaVersion, RolloutLog.rewardEvalVersion, RolloutLog.monitorVersion])
        #expect(try again.steps(runID: "run-a") == [Self.content(step: 1).0])
        try Self.commit(again, step: 2)
        let reader = try RolloutLog(readingAt: path)
        #expect(try reader.steps(runID: "run-a").map(\.step) == [1, 2])
        #expect(throws: (any Error).self) { try reader.recordRun(Self.run) }

        // Read-only opening refuses a missing file and a database that is not a rollout log, naming the path.
        let missing = dir.appendingPathComponent("nope.sqlite").path
        #expect(throws: RolloutLogError.self) { _ = try RolloutLog(readingAt: missing) }
        #expect(!FileManager.default.fileExists(atPath: missing))
        let other = dir.appendingPathComponent("other.sqlite").path
        _ = try RunDatabase(path: other, migrations: [SchemaMigration("x") { try $0.execute(sql: "CREATE TABLE x (a)") }])
        do {
            _ = try RolloutLog(readingAt: other)
            Issue.record("a database without the rollout-log schema should be refused")
        } catch {
            #expect("\(error)".contains(other))
        }
    }

    @Test("reward evaluations: rows round-trip, a step's rows replace earlier ones, discard drops them past a checkpoint")
    func rewardEvaluations() throws {
        let (dir, path) = try Self.tempPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try RolloutLog(path: path)
        try log.recordRun(Self.run)
        func rows(_ step: Int, _ shift: Double) -> RewardEvaluationRows {
            var out: [RewardEvalRolloutRecord] = []
            for task in 0..<2 { for i in 0..<2 { for t in 1...3 {
                let seed = UInt64(task * 10 + i) | (1 << 63)
                let x = Double(t)
                out.append(RewardEvalRolloutRecord(step: step, taskID: "eval-\(task)", rollout: i, t: t, samplerSeed: seed,
                                                   clipScore: 20 + x + shift, reward: 0.1 * x + shift))
            } } }
            return RewardEvaluationRows(step: step, rollouts: out)
        }
        try log.recordRewardEvaluation(runID: "run-a", step: 0, rows(0, 0))
        let (s1, g1, r1, ss1) = Self.content(step: 1)
        try log.commitStep(runID: "run-a", step: s1, groups: g1, rollouts: r1, snapshots: ss1, evaluations: [], rewardEvaluation: rows(1, 0.5))
        try log.commitStep(runID: "run-a", step: s1, groups: g1, rollouts: r1, snapshots: ss1, evaluations: [], rewardEvaluation: rows(1, 0.25))
        #expect(try log.rewardEvaluationRollouts(runID: "run-a", step: 0) == rows(0, 0).rollouts)
        #expect(try log.rewardEvaluationRollouts(runID: "run-a", step: 1) == rows(1, 0.25).rollouts)
        #expect(try log.rewardEvaluations(runID: "run-a") == rows(0, 0).summaries + rows(1, 0.25).summaries)
        #expect(throws: RolloutLogError.self) { try log.recordRewardEvaluation(runID: "run-a", step: 2, rows(1, 0)) }
        try log.discardSteps(runID: "run-a", after: 0)
        #expect(try log.rewardEvaluations(runID: "run-a").map(\.step) == [0, 0, 0])
        #expect(try log.rewardEvaluationRollouts(runID: "run-a").allSatisfy { $0.step == 0 })
    }

    @Test("a log written before the reward evaluation reads (no rows, NaN ρ statistics) and upgrades when opened to write")
    func olderLogs() throws {
        let (dir, path) = try Self.tempPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        let old = try RunDatabase(path: path, migrations: [RolloutLog.migrations[0]])
        try old.queue.write { db in
            try db.execute(sql: "INSERT INTO runs (run_id, config_yaml, seed, code_version, objective, sampled_steps, clip_mu, clip_sigma, started_at) VALUES ('old', '', 0, 'v1', 'trajectory', 3, 1, 1, '2026-11-27T12:30:11.250Z')")
            try db.execute(sql: "INSERT INTO steps (run_id, step, loss, skipped) VALUES ('old', 1, 0.5, 0)")
        }
        let reader = try RolloutLog(readingAt: path)
        #expect(try reader.rewardEvaluations(runID: "old").isEmpty && reader.rewardEvaluationRollouts(runID: "old").isEmpty)
        let steps = try reader.steps(runID: "old")
        #expect(steps.count == 1 && steps[0].loss == 0.5 && steps[0].ratioDeviationMean.isNaN)
        let upgraded = try RolloutLog(path: path)
        #expect(try upgraded.steps(runID: "old").count == 1)
        try upgraded.recordRewardEvaluation(runID: "old", step: 0, RewardEvaluationRows(step: 0, rollouts: [
            RewardEvalRolloutRecord(step: 0, taskID: "t", rollout: 0, t: 1, samplerSeed: 1, clipScore: 2, reward: 0.5)]))
        #expect(try upgraded.rewardEvaluations(runID: "old").map(\.rewardMean) == [0.5])
    }
}
