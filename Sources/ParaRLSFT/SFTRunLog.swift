// The SFT run's SQLite log (docs/design.md §4): the resolved config, one row per training step, held-out
// evaluations and checkpoints, keyed by step with INSERT OR REPLACE so a resumed run never duplicates rows.
// Ranks other than 0 of a data-parallel run hold a disabled log with the same API that writes nothing.
import Foundation
import GRDB
import ParaRLStorage

public final class SFTRunLog: Sendable {
    public static let fileName = "run.sqlite"
    /// The database; nil for a disabled log.
    public let database: RunDatabase?

    static let migrations = [
        SchemaMigration("sft-v1") { db in
            try db.execute(sql: """
                CREATE TABLE sft_run (id INTEGER PRIMARY KEY CHECK (id = 1), config_yaml TEXT NOT NULL,
                    model_config_json TEXT NOT NULL, seed INTEGER NOT NULL, code_version TEXT NOT NULL,
                    started_at TEXT NOT NULL);
                CREATE TABLE sft_steps (step INTEGER PRIMARY KEY, loss REAL NOT NULL, text_loss REAL NOT NULL,
                    image_loss REAL NOT NULL, text_accuracy REAL NOT NULL, image_accuracy REAL NOT NULL,
                    text_masked INTEGER NOT NULL, image_masked INTEGER NOT NULL, grad_norm REAL NOT NULL,
                    lr REAL NOT NULL, skipped INTEGER NOT NULL, truncated INTEGER NOT NULL, seconds REAL NOT NULL);
                CREATE TABLE sft_evals (step INTEGER PRIMARY KEY, loss REAL NOT NULL, text_loss REAL NOT NULL,
                    image_loss REAL NOT NULL, text_accuracy REAL NOT NULL, image_accuracy REAL NOT NULL,
                    text_masked INTEGER NOT NULL, image_masked INTEGER NOT NULL, samples INTEGER NOT NULL);
                CREATE TABLE sft_checkpoints (step INTEGER PRIMARY KEY, path TEXT NOT NULL, created_at TEXT NOT NULL);
                """)
        },
    ]

    public init(path: String) throws {
        database = try RunDatabase(path: path, migrations: Self.migrations)
    }

    private init() { database = nil }

    /// A log that records nothing and reads as empty (ranks other than 0).
    public static func disabled() -> SFTRunLog { SFTRunLog() }

    /// Runs `body` in a write transaction; nothing for a disabled log.
    private func write(_ body: (Database) throws -> Void) throws {
        guard let database else { return }
        try RunDatabase.retryingBusy(database.timing) { try database.queue.write(body) }
    }

    static func now() -> String { ISO8601DateFormatter().string(from: Date()) }

    func recordRun(configYAML: String, modelConfigJSON: String, seed: UInt64, codeVersion: String) throws {
        try write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO sft_run VALUES (1, ?, ?, ?, ?, ?)",
                           arguments: [configYAML, modelConfigJSON, Int64(bitPattern: seed), codeVersion, Self.now()])
        }
    }

    func recordStep(_ s: SFTStepReport) throws {
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO sft_steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           arguments: [s.step, s.result.loss, s.result.textLoss, s.result.imageLoss, s.result.textAccuracy,
                                       s.result.imageAccuracy, s.result.textMasked, s.result.imageMasked,
                                       s.gradNorm.isFinite ? s.gradNorm : -1, s.lr, s.skipped ? 1 : 0, s.truncated, s.seconds])
        }
    }

    func recordEval(step: Int, _ r: SFTLossResult, samples: Int) throws {
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO sft_evals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           arguments: [step, r.loss, r.textLoss, r.imageLoss, r.textAccuracy, r.imageAccuracy,
                                       r.textMasked, r.imageMasked, samples])
        }
    }

    /// Records a complete checkpoint and forgets the rows of checkpoints no longer on disk (`kept`: the steps that are).
    func recordCheckpoint(step: Int, path: String, kept: [Int]) throws {
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO sft_checkpoints VALUES (?, ?, ?)", arguments: [step, path, Self.now()])
            let steps = Set(kept + [step]).sorted().map(String.init).joined(separator: ", ")
            try db.execute(sql: "DELETE FROM sft_checkpoints WHERE step NOT IN (\(steps))")
        }
    }

    /// Held-out evaluations in step order: (step, text accuracy, image accuracy).
    public func evaluations() throws -> [(step: Int, textAccuracy: Double, imageAccuracy: Double)] {
        guard let database else { return [] }
        return try database.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT step, text_accuracy, image_accuracy FROM sft_evals ORDER BY step").map {
                (step: try $0.value("step"), textAccuracy: try $0.value("text_accuracy"), imageAccuracy: try $0.value("image_accuracy"))
            }
        }
    }

    /// Every step row without its wall time, in step order (to compare runs).
    public func stepRows() throws -> [[Double]] {
        guard let database else { return [] }
        return try database.queue.read { db in
            try Row.fetchAll(db, sql: """
                SELECT step, loss, text_loss, image_loss, text_accuracy, image_accuracy, text_masked, image_masked, grad_norm,
                    lr, skipped, truncated FROM sft_steps ORDER BY step
                """).map { row in row.databaseValues.map { Double.fromDatabaseValue($0) ?? -.infinity } }
        }
    }

    public func stepCount() throws -> Int {
        guard let database else { return 0 }
        return try database.queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sft_steps") ?? 0 }
    }
}
