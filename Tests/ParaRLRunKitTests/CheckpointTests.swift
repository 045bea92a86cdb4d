// Checkpoint files: the manifest's CRC-32 (zlib's), verification naming the damaged file, a failed write that
// leaves no temporary folder behind, and the run-folder lock shared inside one process.
import Foundation
import Testing
import ParaRLCore
@testable import ParaRLRunKit

/// A model of four weights; `failing` throws from `save` as a full disk does.
struct TinyModel: CheckpointModel {
    var failing = false
    func save(directory: URL) throws {
        if failing { throw ParaRLError.io(path: directory.path, reason: "No space left on device") }
        var writer = SafetensorsWriter()
        try writer.add("w", shape: [4], floats: [1, 2, 3, 4])
        try writer.write(to: directory.appendingPathComponent("model.safetensors"))
    }
}

@Suite("Checkpoint integrity")
struct CheckpointTests {
    static func folder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pararl-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func write(_ run: URL, step: Int, model: TinyModel = TinyModel()) throws -> URL {
        let optimizer = try AdamW(parameterCount: 4)
        return try TrainingCheckpoint.write(runDirectory: run, model: model, optimizer: optimizer,
                                            state: TrainerState(step: step, dataPosition: step, rootStream: RandomStream(seed: 1).state),
                                            files: [(name: "extra.json", data: Data("{}".utf8))], keep: 10)
    }

    @Test("CRC-32 is zlib's (check value of \"123456789\", pieces continue a running value)")
    func crc() {
        #expect(CRC32.checksum(Data("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum(Data()) == 0)
        let bytes = Data((0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 37) })
        let whole = CRC32.checksum(bytes)
        let split = bytes.prefix(333).withUnsafeBytes { a in
            bytes.suffix(from: 333).withUnsafeBytes { b in CRC32.update(CRC32.update(0, a), b) }
        }
        #expect(whole == split)
    }

    @Test("a checkpoint lists every file in its manifest; a flipped byte, a truncated file or a missing one fails verify naming it")
    func verifyNamesTheFile() throws {
        let run = try Self.folder()
        defer { try? FileManager.default.removeItem(at: run) }
        let good = try Self.write(run, step: 1)
        try TrainingCheckpoint.verify(good)
        let manifest = try JSONDecoder().decode(TrainingCheckpoint.Manifest.self,
                                                from: Data(contentsOf: good.appendingPathComponent(TrainingCheckpoint.manifestFile)))
        #expect(Set(manifest.files.keys) == ["model.safetensors", "optimizer.safetensors", "trainer_state.json", "extra.json"])
        let cases: [(String, (URL) throws -> Void, String)] = [
            ("flip", { url in
                var d = try Data(contentsOf: url); d[d.count - 1] ^= 0x01; try d.write(to: url)
            }, "CRC-32"),
            ("truncate", { url in try Data(contentsOf: url).prefix(10).write(to: url) }, "bytes"),
            ("remove", { url in try FileManager.default.removeItem(at: url) }, "missing"),
        ]
        for (i, (name, damage, words)) in cases.enumerated() {
            let folder = try Self.write(run, step: 2 + i)
            let target = folder.appendingPathComponent("model.safetensors")
            try damage(target)
            do {
                try TrainingCheckpoint.verify(folder)
                Issue.record("\(name): a damaged checkpoint verified")
            } catch {
                #expect("\(error)".contains(target.path) && "\(error)".contains(words), "\(name): \(error)")
            }
        }
        // The newest that verifies is the first one; the damaged ones are reported.
        var skipped: [String] = []
        let chosen = try TrainingCheckpoint.newestVerified(runDirectory: run) { folder, _ in skipped.append(folder.lastPathComponent) }
        #expect(chosen.standardizedFileURL.path == good.standardizedFileURL.path)
        #expect(skipped == ["step-00000004", "step-00000003", "step-00000002"])
    }

    @Test("a checkpoint write that fails (disk full) leaves no temporary folder and no checkpoint")
    func failedWriteCleansUp() throws {
        let run = try Self.folder()
        defer { try? FileManager.default.removeItem(at: run) }
        #expect(throws: ParaRLError.self) { try Self.write(run, step: 1, model: TinyModel(failing: true)) }
        let left = try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent(TrainingCheckpoint.folderName).path)
        #expect(left.isEmpty, "\(left)")
    }

    @Test("the run lock is shared inside a process, recorded with the PID, and a folder it made and nothing filled goes again")
    func lockInProcess() throws {
        let run = try Self.folder()
        defer { try? FileManager.default.removeItem(at: run) }
        let fresh = run.appendingPathComponent("fresh")
        do {
            let a = try RunLock(runDirectory: fresh, command: "pararl train")
            let b = try RunLock(runDirectory: fresh, command: "pararl train")
            let note = try String(contentsOf: fresh.appendingPathComponent(RunLock.fileName), encoding: .utf8)
            #expect(note == "\(getpid()) pararl train\n")
            withExtendedLifetime((a, b)) {}
        }
        #expect(!FileManager.default.fileExists(atPath: fresh.path))
        let used = run.appendingPathComponent("used")
        do {
            let lock = try RunLock(runDirectory: used)
            try Data("x".utf8).write(to: used.appendingPathComponent("config.yaml"))
            withExtendedLifetime(lock) {}
        }
        #expect(FileManager.default.fileExists(atPath: used.appendingPathComponent("config.yaml").path))
    }
}
