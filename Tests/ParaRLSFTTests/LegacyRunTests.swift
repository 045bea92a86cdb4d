// Run folders written before the run kit (checkpoints carrying `sft_config.yaml` and a trainer state with
// "mask_stream") still load and resume: the committed fixture is a micro SFT run stopped at step 2 by that code,
// with its step-4 weights, optimiser and state as written by the uninterrupted old run; resuming it now must give
// those bytes, the same step rows, and a checkpoint in today's format.
import Foundation
import Testing
import ParaRLCore
import ParaRLPolicy
import ParaRLRunKit
@testable import ParaRLSFT

@Suite("Legacy run folders")
struct LegacyRunTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/legacy-sft-run")

    /// Runs the `pararl` built beside this test runner with `arguments` and extra `environment`; returns its exit status.
    static func pararl(_ arguments: [String], environment: [String: String]) throws -> Int32 {
        var folder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        var executable: URL?
        for _ in 0..<4 where executable == nil {  // the runner may sit inside a bundle folder
            let candidate = folder.appendingPathComponent("pararl")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { executable = candidate }
            folder = folder.deletingLastPathComponent()
        }
        guard let executable else {
            Issue.record("pararl is not built beside the test runner: run `swift build -c release --build-tests`")
            return -1
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// A copy of the fixture with its placeholder paths pointing at the copy.
    static func copy() throws -> URL {
        let fm = FileManager.default
        let folder = fm.temporaryDirectory.appendingPathComponent("legacy-sft-\(UUID().uuidString)")
        try fm.copyItem(at: fixture, to: folder)
        for file in ["config.yaml", "checkpoints/step-00000002/sft_config.yaml"] {
            let url = folder.appendingPathComponent(file)
            let text = try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "FIXTURE_RUN", with: folder.path)
            try Data(text.utf8).write(to: url)
        }
        return folder
    }

    @Test("an SFT run stopped by the old code resumes to bitwise the old uninterrupted run's weights, optimiser and rows")
    func legacySFTResume() throws {
        let run = try Self.copy()
        defer { try? FileManager.default.removeItem(at: run) }
        let expected = run.appendingPathComponent("expected")
        let oldRows = try SFTRunLog(path: run.appendingPathComponent(SFTRunLog.fileName).path).stepRows()
        #expect(oldRows.count == 4)

        let legacyState = try TrainingCheckpoint.readState(run.appendingPathComponent("checkpoints/step-00000002"))
        #expect(legacyState.step == 2 && legacyState.dataPosition == 8)
        #expect(try SFTRun.resume(runDirectory: run).step == 2)
        // The old code's float bits are those of the portable kernels: the resume runs in a `pararl` process that uses
        // them (the test process's kernels are chosen for this CPU and shared with tests running beside this one).
        let status = try Self.pararl(["sft", "--resume", run.path, "--threads", "2"], environment: ["PARARL_ISA": "portable"])
        #expect(status == 0, "pararl sft --resume exited with \(status)")
        let log = try SFTRunLog(path: run.appendingPathComponent(SFTRunLog.fileName).path)

        let folder = run.appendingPathComponent("checkpoints/step-00000004")
        for file in [Policy.weightsFileName, TrainingCheckpoint.optimizerFile] {
            #expect(try Data(contentsOf: folder.appendingPathComponent(file)) == Data(contentsOf: expected.appendingPathComponent(file)),
                    "\(file) differs from the old run's")
        }
        #expect(try TrainingCheckpoint.readState(folder) == TrainingCheckpoint.readState(expected))
        #expect(try log.stepRows() == oldRows)
        // Today's format: the layout has its own file, and the bundle loader reads it.
        let layout = try SequenceLayoutFile.read(checkpoint: folder)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(SequenceLayoutFile.fileName).path))
        #expect(layout.instructionLength == 24 && layout.textLength == 16 && layout.textFiller == .eos)
        #expect(try SequenceLayoutFile.read(checkpoint: run.appendingPathComponent("checkpoints/step-00000002")) == layout)
    }
}
