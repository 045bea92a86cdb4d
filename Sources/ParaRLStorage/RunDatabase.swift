// Opens a run's SQLite database through GRDB: WAL journal, foreign keys, and a versioned schema
// applied by named migrations, so later code adds tables without breaking older run files (DESIGN §4).
import Foundation
import GRDB

public enum StorageError: Error, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case migrationFailed(path: String, reason: String)
    public var description: String {
        switch self {
        case .cannotOpen(let p, let r): return "\(p): cannot open run database: \(r)"
        case .migrationFailed(let p, let r): return "\(p): cannot bring the run database schema up to date: \(r)"
        }
    }
}

/// A migration: a name recorded in the database once applied, and the statements that apply it.
public struct SchemaMigration: Sendable {
    public let name: String
    public let apply: @Sendable (Database) throws -> Void
    public init(_ name: String, apply: @escaping @Sendable (Database) throws -> Void) {
        self.name = name
        self.apply = apply
    }
}

/// A run database in WAL mode with its migrations applied.
public final class RunDatabase: Sendable {
    public let path: String
    public let queue: DatabaseQueue

    /// Opens (creating if needed) the database at `path` and applies `migrations` in order.
    public init(path: String, migrations: [SchemaMigration]) throws {
        self.path = path
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.journalMode = .wal
        config.busyMode = .timeout(10)
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
        } catch {
            throw StorageError.cannotOpen(path: path, reason: "\(error)")
        }
        var migrator = DatabaseMigrator()
        for m in migrations { migrator.registerMigration(m.name, migrate: m.apply) }
        do {
            try migrator.migrate(queue)
        } catch {
            throw StorageError.migrationFailed(path: path, reason: "\(error)")
        }
    }

    /// The journal mode SQLite reports (expected: "wal").
    public func journalMode() throws -> String {
        try queue.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// Names of the migrations applied to this database.
    public func appliedMigrations() throws -> [String] {
        try queue.read { db in try Array(DatabaseMigrator().appliedIdentifiers(db)) }
    }
}
