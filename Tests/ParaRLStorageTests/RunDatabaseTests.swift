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
