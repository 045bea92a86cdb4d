// `pararl inspect export`: a run's table as CSV (RFC 4180) or JSON Lines, without image or trajectory blobs.
// Snapshots are joined with their group and rollout so each line stands alone.
import Foundation
import ParaRLMedia
import GRDB
import ParaRLStorage

public enum ExportFormat: String, CaseIterable, Sendable { case csv, jsonl }

public enum ExportTable: String, CaseIterable, Sendable {
    case steps, groups, rollouts, snapshots, evaluations, checkpoints
    case rewardEvals = "reward_evals", rewardEvalRollouts = "reward_eval_rollouts"

    /// Tables that logs written before the paired reward evaluation do not have (exported as empty).
    var addedLater: Bool { self == .rewardEvals || self == .rewardEvalRollouts }

    /// The query; its only parameter is the run id (bound, never pasted).
    var sql: String {
        switch self {
        case .steps:
            // Every column in table order: logs written before ratio_deviation_mean/max existed export without them.
            return "SELECT * FROM steps WHERE run_id = ? ORDER BY step"
        case .groups:
            return """
                SELECT run_id, step, group_index, task_id, kind, category, instruction, sampled_steps
                FROM groups WHERE run_id = ? ORDER BY step, group_index
                """
        case .rollouts:
            return """
                SELECT run_id, step, group_index, rollout_index, step || ':' || group_index || ':' || rollout_index AS rollout_id,
                    sampler_seed, final_text
                FROM rollouts WHERE run_id = ? ORDER BY step, group_index, rollout_index
                """
        case .snapshots:
            return """
                SELECT s.run_id, s.step, s.group_index, s.rollout_index,
                    s.step || ':' || s.group_index || ':' || s.rollout_index AS rollout_id, s.t, g.task_id, g.kind, g.category,
                    g.sampled_steps, s.clip_score, s.reward, s.advantage, s.partial_text, r.final_text
                FROM snapshots s
                JOIN groups g ON g.run_id = s.run_id AND g.step = s.step AND g.group_index = s.group_index
                JOIN rollouts r ON r.run_id = s.run_id AND r.step = s.step AND r.group_index = s.group_index
                    AND r.rollout_index = s.rollout_index
                WHERE s.run_id = ? ORDER BY s.step, s.group_index, s.rollout_index, s.t
                """
        case .evaluations:
            return """
                SELECT run_id, step, scope, tasks, text_quality, text_alignment, image_consistency, image_alignment,
                    image_quality, output_alignment, overall
                FROM evaluations WHERE run_id = ? ORDER BY step, scope
                """
        case .checkpoints:
            return "SELECT run_id, step, path, created_at FROM checkpoints WHERE run_id = ? ORDER BY step"
        case .rewardEvals:
            return """
                SELECT run_id, step, t, tasks, rollouts, clip_mean, reward_mean, reward_std
                FROM reward_evals WHERE run_id = ? ORDER BY step, t
                """
        case .rewardEvalRollouts:
            return """
                SELECT run_id, step, task_id, rollout_index, t, sampler_seed, clip_score, reward
                FROM reward_eval_rollouts WHERE run_id = ? ORDER BY step, task_id, rollout_index, t
                """
        }
    }
}

public enum Export {
    /// Column names and rows of `table` for the run; seeds are shown unsigned.
    public static func rows(_ run: LoggedRun, table: ExportTable) throws -> (columns: [String], rows: [[DatabaseValue]]) {
        try run.log.queue.read { db in
            if table.addedLater, try !db.tableExists(table.rawValue) { return ([], []) }
            let rows = try Row.fetchAll(db, sql: table.sql, arguments: [run.runID])
            let columns = try db.makeStatement(sql: table.sql).columnNames
            return (columns, rows.map { row in
                columns.indices.map { i in
                    let v = row[i] as DatabaseValue
                    if columns[i] == "sampler_seed", case .int64(let x) = v.storage {
                        return String(UInt64(bitPattern: x)).databaseValue
                    }
                    return v
                }
            })
        }
    }

    public static func text(_ run: LoggedRun, table: ExportTable, format: ExportFormat) throws -> String {
        let (columns, rows) = try rows(run, table: table)
        switch format {
        case .csv:
            let lines = [columns.map(csvField).joined(separator: ",")] + rows.map { $0.map { csvField(plain($0)) }.joined(separator: ",") }
            return lines.joined(separator: "\r\n") + "\r\n"
        case .jsonl:
            return rows.map { row in
                "{" + zip(columns, row).map { "\(jsonString($0)):\(jsonValue($1, column: $0))" }.joined(separator: ",") + "}\n"
            }.joined()
        }
    }

    static func plain(_ v: DatabaseValue) -> String {
        switch v.storage {
        case .null: return ""
        case .int64(let x): return String(x)
        case .double(let x): return "\(x)"
        case .string(let s): return s
        case .blob(let d): return "<\(d.count) bytes>"
        }
    }

    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    static func jsonValue(_ v: DatabaseValue, column: String) -> String {
        switch v.storage {
        case .null: return "null"
        case .int64(let x): return String(x)
        case .double(let x): return x.isFinite ? "\(x)" : "null"
        // S is stored as JSON text already; the unsigned seed is a number.
        case .string(let s): return column == "sampled_steps" || column == "sampler_seed" ? s : jsonString(s)
        case .blob(let d): return jsonString("<\(d.count) bytes>")
        }
    }

    static func jsonString(_ s: String) -> String { JSONText.quote(s) }
}
