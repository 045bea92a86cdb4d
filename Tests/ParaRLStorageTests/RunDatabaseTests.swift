// The run database opens in WAL mode, applies migrations once, keeps committed rows across reopen.
import Foundation
import GRDB
import Testing
@testable import ParaRLStorage

@Suite("Run database")
struct RunDatabaseTests {
    static let migrations = [
        SchemaMigration("v1-notes") { db in
            try db.execute(sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, step INTEGER NOT NULL UNIQUE, text TEXT NOT NULL)")
        },
    ]

    @Test("WAL mode, migrations applied once, rows survive reopening, UNIQUE keys enforced")
    func reopen() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pararl-db-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.sqlite").path
        do {
            let db = try RunDatabase(path: path, migrations: Self.migrations)
            #expect(try db.journalMode() == "wal")
            try db.queue.write { try $0.execute(sql: "INSERT INTO notes (step, text) VALUES (1, 'a')") }
            #expect(throws: DatabaseError.self) {
                try db.queue.write { try $0.execute(sql: "INSERT INTO notes (step, text) VALUES (1, 'dup')") }
            }
        }
        let again = try RunDatabase(path: path, migrations: Self.migrations)
        #expect(try again.appliedMigrations() == ["v1-notes"])
        let count = try again.queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM notes") }
        #expect(count == 1)
    }

    @Test("an unwritable path fails with a message naming it")
    func badPath() {
        do {
            _ = try RunDatabase(path: "/nonexistent-dir/x/run.sqlite", migrations: [])
            Issue.record("opening a database in a missing folder should fail")
        } catch {
            #expect("\(error)".contains("/nonexistent-dir/x/run.sqlite"))
        }
    }
}

/// Logs of a newer build, hand-edited logs and a reader that holds the write lock.
@Suite("Run database schema and locks")
struct RunDatabaseSchemaTests {
    static func folder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pararl-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func makeLog(_ dir: URL) throws -> String {
        let path = dir.appendingPathComponent("rollouts.sqlite").path
        _ = try RolloutLog(path: path)
        return path
    }

    /// What `body` does to the file through a plain connection (not RunDatabase's checks).
    static func edit(_ path: String, _ sql: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { try $0.execute(sql: sql) }
    }

    @Test("a log with a newer user_version or an unknown migration is refused for writing, naming both versions or the migration")
    func newerSchemaRefused() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let version = try Self.makeLog(dir)
        try Self.edit(version, "PRAGMA user_version = 99")
        let known = RolloutLog.migrations.count
        do {
            _ = try RolloutLog(path: version)
            Issue.record("a log of schema version 99 was opened for writing")
        } catch {
            #expect("\(error)".contains("99") && "\(error)".contains("\(known)") && "\(error)".contains(version), "\(error)")
        }
        let other = dir.appendingPathComponent("b")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        let migration = try Self.makeLog(other)
        try Self.edit(migration, "INSERT INTO grdb_migrations (identifier) VALUES ('rollout-log-v99-future')")
        do {
            _ = try RolloutLog(path: migration)
            Issue.record("a log with an unknown migration was opened for writing")
        } catch {
            #expect("\(error)".contains("rollout-log-v99-future"), "\(error)")
        }
        // A current log opens and records its schema version.
        let fresh = dir.appendingPathComponent("c")
        try FileManager.default.createDirectory(at: fresh, withIntermediateDirectories: true)
        let current = try Self.makeLog(fresh)
        let stored = try DatabaseQueue(path: current).read { try Int.fetchOne($0, sql: "PRAGMA user_version") }
        #expect(stored == known)
    }

    @Test("a renamed column is an error naming table and column, for writers and for readers")
    func missingColumn() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.makeLog(dir)
        try Self.edit(path, "ALTER TABLE steps RENAME COLUMN kl TO kl_renamed")
        for open in [{ _ = try RolloutLog(path: path) }, { _ = try RolloutLog(readingAt: path) }] {
            do {
                try open()
                Issue.record("a log without steps.kl was opened")
            } catch {
                #expect("\(error)".contains("\"steps\"") && "\(error)".contains("\"kl\""), "\(error)")
            }
        }
    }

    @Test("a write waits out a reader holding an exclusive lock longer than SQLite's busy timeout, and fails without the retries")
    func busyRetry() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.makeLog(dir)
        try RolloutLog(path: path).recordRun(RolloutLogTests.run)
        let record = CheckpointRecord(step: 1, path: "/x", createdAt: Date())
        for (wait, succeeds) in [(8.0, true), (0.0, false)] {
            let log = try RolloutLog(path: path, timing: .init(timeout: 0.1, wait: wait))
            let holding = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
            let other = try DatabaseQueue(path: path)
            Thread.detachNewThread {
                try? other.writeWithoutTransaction { db in
                    try db.execute(sql: "BEGIN EXCLUSIVE")
                    holding.signal()
                    Thread.sleep(forTimeInterval: 1.0)
                    try db.execute(sql: "COMMIT")
                }
                done.signal()
            }
            holding.wait()
            if succeeds {
                try log.recordCheckpoint(runID: RolloutLogTests.run.runID, record)
            } else {
                #expect(throws: (any Error).self) { try log.recordCheckpoint(runID: RolloutLogTests.run.runID, record) }
            }
            done.wait()
        }
    }
}
