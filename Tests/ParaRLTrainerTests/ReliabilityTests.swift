// Reliability of a run folder under misuse, on the micro run: one writer per folder, checkpoints verified on resume
// with a fallback to the newest one that verifies, no silent σ ≤ 0, config values checked before a folder exists,
// errors naming the user's file, a stop request that ends at a checkpointed step, and the rows of pruned checkpoints.
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import ParaRLCore
import ParaRLRunKit
import ParaRLStorage
@testable import ParaRLTrainer

@Suite("Run folder reliability", .serialized)
struct ReliabilityTests {
    func fixture() throws -> MicroFixture { try MicroFixture.shared.get() }
    func weights(_ trainer: ParaRLTrainer) -> [Float] { Array(trainer.policy.model.params.buffer) }

    @Test("a folder held by another process refuses train at once, naming the holder's PID; the kernel frees it when the holder dies")
    func secondWriterRefused() throws {
        let f = try fixture()
        let folder = f.folder.appendingPathComponent("locked")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let lockFile = folder.appendingPathComponent(RunLock.fileName).path
        // Another process holds the lock as a trainer does: flock(1) writes nothing, so the note is written first.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        holder.arguments = ["-c", "echo \"$$ pararl train\" > '\(lockFile)'; exec flock -x '\(lockFile)' sleep 30"]
        try holder.run()
        defer { if holder.isRunning { holder.terminate() } }
        // Wait until it holds the lock (probing without writing the note, as RunLock would).
        var held = false
        for _ in 0..<200 where !held {
            let fd = open(lockFile, O_RDWR)
            if fd >= 0 {
                if flock(fd, LOCK_EX | LOCK_NB) == 0 { flock(fd, LOCK_UN) } else { held = true }
                close(fd)
            }
            if !held { Thread.sleep(forTimeInterval: 0.05) }
        }
        #expect(held, "the helper never took the lock")
        let started = Date()
        do {
            _ = try f.start("locked", keepFolder: true)
            Issue.record("a second writer started on a held folder")
        } catch {
            #expect("\(error)".contains("PID \(holder.processIdentifier)") && "\(error)".contains("pararl train"), "\(error)")
        }
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent(ParaRLRun.configFile).path))
        holder.terminate()
        holder.waitUntilExit()
        let trainer = try f.start("locked", keepFolder: true) { $0.steps = 1; $0.evalTasks = 0 }
        try trainer.train()
        #expect(trainer.step == 1)
    }

    @Test("resume skips a newest checkpoint that does not verify (flipped optimiser bytes, NaN weights, bad state) and equals the uninterrupted run")
    func resumeFallsBack() throws {
        let f = try fixture()
        let full = try f.start("fallback-full") { $0.keepCheckpoints = 3 }
        try full.train()
        for damage in ["optimizer", "nan-weight", "state"] {
            let stopped = try f.start("fallback-\(damage)") { $0.keepCheckpoints = 3 }
            try stopped.train(until: 2)
            let newest = TrainingCheckpoint.folder(runDirectory: stopped.runDirectory, step: 2)
            switch damage {
            case "optimizer":  // 0xff bytes in the last moment values, as a disk or a hand would leave them
                let url = newest.appendingPathComponent(TrainingCheckpoint.optimizerFile)
                var data = try Data(contentsOf: url)
                data.replaceSubrange((data.count - 4)..<data.count, with: [0xff, 0xff, 0xff, 0xff])
                try data.write(to: url)
            case "nan-weight":  // a NaN written with a matching manifest: only the finiteness check sees it
                let url = newest.appendingPathComponent("model.safetensors")
                let file = try SafetensorsFile.read(url: url)
                var writer = SafetensorsWriter(metadata: file.metadata)
                for (i, name) in file.tensorNames.enumerated() {
                    var values = try file.floats(name)
                    if i == 0 { values[0] = .nan }
                    try writer.add(name, shape: try file.shape(name), floats: values)
                }
                try writer.write(to: url)
                let manifest = try JSONEncoder().encode(try TrainingCheckpoint.manifest(of: newest))
                try manifest.write(to: newest.appendingPathComponent(TrainingCheckpoint.manifestFile))
            default:
                try Data("garbage".utf8).write(to: newest.appendingPathComponent(TrainingCheckpoint.stateFile))
            }
            #expect(throws: (any Error).self) { try TrainingCheckpoint.verify(newest) }
            let resumed = try ParaRLRun.resume(runDirectory: stopped.runDirectory)
            #expect(resumed.step == 1, "\(damage)")
            #expect(FileManager.default.fileExists(atPath: newest.deletingLastPathComponent()
                .appendingPathComponent(TrainingCheckpoint.rejectedPrefix + newest.lastPathComponent).path))
            try resumed.train()
            #expect(weights(resumed) == weights(full), "\(damage)")
            #expect(try LoggedRun(resumed).steps == LoggedRun(full).steps, "\(damage)")
        }
    }

    @Test("a calibration file with σ 0 or −2 is refused naming the key and the file, before a run folder exists")
    func calibrationSigma() throws {
        let f = try fixture()
        for sigma in [0.0, -2.0] {
            let url = f.folder.appendingPathComponent("sigma\(sigma).json")
            try CLIPCalibration(mu: 1, sigma: sigma, count: 4, source: "references", model: "m", seed: 0, fraction: 0.1).write(to: url)
            do {
                _ = try CLIPCalibration.read(from: url)
                Issue.record("σ \(sigma) read")
            } catch let TrainerError.invalidConfig(file, key, reason, _) {
                #expect(file == url.path && key == "sigma" && reason.contains("got \(sigma)"), "\(reason)")
            }
            do {
                _ = try f.start("sigma") { $0.calibration = url.path }
                Issue.record("σ \(sigma) accepted")
            } catch {
                #expect("\(error)".contains("sigma") && "\(error)".contains(url.path), "\(error)")
            }
            #expect(!FileManager.default.fileExists(atPath: f.folder.appendingPathComponent("sigma").path))
        }
    }

    @Test("beta2 1.5 and a bad clip_model are errors naming the user's config file and key, and leave no run folder")
    func errorsNameTheUsersFile() throws {
        let f = try fixture()
        let config = MicroFixture.repositoryRoot().appendingPathComponent("rl-configs/pararl-micro.yaml").path
        let folder = f.folder.appendingPathComponent("bad-values")
        let line = try #require(StrictYAML.line(of: "beta2", in: try String(contentsOfFile: config, encoding: .utf8)))
        #expect(throws: TrainerError.invalidConfig(file: config, key: "beta2", reason: "must be in [0, 1), got 1.5", line: line)) {
            try f.start("bad-values") { $0.beta2 = 1.5 }
        }
        #expect(!FileManager.default.fileExists(atPath: folder.path))
        do {
            _ = try f.start("bad-values") { $0.clipModel = f.checkpoint.path }  // a policy folder, not a CLIP
            Issue.record("a policy folder was accepted as clip_model")
        } catch {
            #expect("\(error)".hasPrefix(config) && "\(error)".contains("clip_model"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.path))
    }

    @Test("a stop request ends training after the current step, checkpointed; the resumed run equals the uninterrupted one")
    func stopAtSafePoint() throws {
        let f = try fixture()
        // Checkpoints only at the end: the one at step 1 is the stop's.
        let full = try f.start("stop-full") { $0.checkpointEvery = 3 }
        try full.train()
        let stopped = try f.start("stop-early") { $0.checkpointEvery = 3 }
        defer { StopSignal.reset() }
        do {
            try stopped.train { event in
                if case .step(let r) = event, r.record.step == 1 { StopSignal.request(signal: SIGTERM) }
            }
            Issue.record("training did not stop")
        } catch let stop as StopRequested {
            #expect(stop.step == 1 && stop.signal == SIGTERM)
            #expect(stop.checkpoint?.standardizedFileURL.path == TrainingCheckpoint.folder(runDirectory: stopped.runDirectory, step: 1).standardizedFileURL.path)
        }
        StopSignal.reset()
        #expect(try TrainingCheckpoint.completed(runDirectory: stopped.runDirectory).map(\.step) == [1])
        let resumed = try ParaRLRun.resume(runDirectory: stopped.runDirectory)
        try resumed.train()
        #expect(weights(resumed) == weights(full))
        let (a, b) = (try LoggedRun(resumed), try LoggedRun(full))
        #expect(a.steps == b.steps && a.snapshots == b.snapshots && a.evaluations == b.evaluations)
    }

    @Test("the checkpoints table keeps only the checkpoints still on disk")
    func prunedCheckpointRows() throws {
        let f = try fixture()
        let trainer = try f.start("pruned") { $0.keepCheckpoints = 1; $0.evalTasks = 0 }
        try trainer.train()
        let log = try RolloutLog(readingAt: trainer.runDirectory.appendingPathComponent(RolloutLog.fileName).path)
        #expect(try log.checkpoints(runID: trainer.runID).map(\.step) == [3])
        #expect(try TrainingCheckpoint.completed(runDirectory: trainer.runDirectory).map(\.step) == [3])
    }
}
