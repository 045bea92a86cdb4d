// Opens a run's SQLite database through GRDB: WAL journal, foreign keys, and a versioned schema
// applied by named migrations, so later code adds tables without breaking older run files (docs/design.md §4).
// A database written by a newer build (a migration this build does not know, or a larger `user_version`) is
// refused before anything is written into it; a table or column missing from what the applied migrations create
// (a hand-edited log) is an error naming it. Writes wait for another connection's lock (`BusyTiming`: 10 s per
// attempt) and are retried until 600 s have passed, so a reader holding a long transaction does not end a run.
import Foundation
import GRDB

public enum StorageError: Error, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case migrationFailed(path: String, reason: String)
    /// Written by a newer build, or its tables differ from what its migrations create.
    case schema(path: String, reason: String)
    public var description: String {
        switch self {
        case .cannotOpen(let p, let r): return "\(p): cannot open run database: \(r)"
        case .migrationFailed(let p, let r): return "\(p): cannot bring the run database schema up to date: \(r)"
        case .schema(let p, let r): return "\(p): \(r)"
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

    /// How a connection waits for another's lock: SQLite's busy timeout per attempt, then retries of the whole
    /// transaction until `wait` has passed (defaults: 10 s per attempt, 600 s in all).
    public struct BusyTiming: Sendable {
        public var timeout: TimeInterval
        public var wait: TimeInterval
        public init(timeout: TimeInterval = 10, wait: TimeInterval = 600) { self.timeout = timeout; self.wait = wait }
        public static let standard = BusyTiming()
    }

    public let timing: BusyTiming

    /// The connection settings of every run database (`readonly` for `inspect`/`report`).
    public static func configuration(readonly: Bool = false, timing: BusyTiming = .standard) -> Configuration {
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.readonly = readonly
        if !readonly { config.journalMode = .wal }
        config.busyMode = .timeout(timing.timeout)
        return config
    }

    /// Opens (creating if needed) the database at `path` and applies `migrations` in order; refuses a database of a
    /// newer build and one whose tables lack a column the migrations create.
    public init(path: String, migrations: [SchemaMigration], timing: BusyTiming = .standard) throws {
        self.path = path
        self.timing = timing
        do {
            queue = try DatabaseQueue(path: path, configuration: Self.configuration(timing: timing))
        } catch {
            throw StorageError.cannotOpen(path: path, reason: "\(error)")
        }
        let queue = queue
        try Self.retryingBusy(timing) { try queue.read { db in try Self.checkNotNewer(db, path: path, migrations: migrations) } }
        var migrator = DatabaseMigrator()
        for m in migrations { migrator.registerMigration(m.name, migrate: m.apply) }
        do {
            try Self.retryingBusy(timing) {
                try migrator.migrate(queue)
                try queue.write { db in try db.execute(sql: "PRAGMA user_version = \(migrations.count)") }
            }
        } catch let e as StorageError {
            throw e
        } catch {
            throw StorageError.migrationFailed(path: path, reason: "\(error)")
        }
        try Self.retryingBusy(timing) { try queue.read { db in try Self.checkColumns(db, path: path, migrations: migrations) } }
    }

    /// `body`, retried while it fails with SQLITE_BUSY or SQLITE_LOCKED until `timing.wait` has passed.
    public static func retryingBusy<T>(_ timing: BusyTiming, _ body: () throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(timing.wait)
        while true {
            do { return try body() } catch let error as DatabaseError
                where (error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED) && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
    }

    /// Refuses a database with a migration not in `migrations` or a `user_version` above their count.
    public static func checkNotNewer(_ db: Database, path: String, migrations: [SchemaMigration]) throws {
        let known = Set(migrations.map(\.name))
        let applied = try DatabaseMigrator().appliedIdentifiers(db)
        if let unknown = applied.subtracting(known).sorted().first {
            throw StorageError.schema(path: path, reason: "written by a newer ParaRL: it has the migration \"\(unknown)\", which this "
                                      + "build does not know (its schema version is \(migrations.count)); open it with that build")
        }
        let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        if version > migrations.count {
            throw StorageError.schema(path: path, reason: "schema version \(version) is newer than this build's \(migrations.count); "
                                      + "open it with the build that wrote it")
        }
    }

    /// Every table and column the applied ones of `migrations` create must be there (extra ones are allowed).
    public static func checkColumns(_ db: Database, path: String, migrations: [SchemaMigration]) throws {
        let applied = try DatabaseMigrator().appliedIdentifiers(db)
        let reference = try DatabaseQueue()
        var migrator = DatabaseMigrator()
        for m in migrations where applied.contains(m.name) { migrator.registerMigration(m.name, migrate: m.apply) }
        try migrator.migrate(reference)
        let expected = try reference.read { ref -> [(String, [String])] in
            let tables = try String.fetchAll(ref, sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'
                ORDER BY name
                """)
            return try tables.map { ($0, try ref.columns(in: $0).map(\.name)) }
        }
        for (table, columns) in expected {
            guard try db.tableExists(table) else {
                throw StorageError.schema(path: path, reason: "the table \"\(table)\" is missing (dropped or renamed by hand?)")
            }
            let present = Set(try db.columns(in: table).map(\.name))
            if let missing = columns.first(where: { !present.contains($0) }) {
                throw StorageError.schema(path: path, reason: "the table \"\(table)\" has no column \"\(missing)\" (renamed or dropped by hand?)")
            }
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
