// Run folders written before the run kit (checkpoints carrying `sft_config.yaml` and a trainer state with
// "mask_stream") still load and resume. The committed fixture is a micro SFT run stopped at step 2 by that code,
// with the step-4 weights, optimiser and state the uninterrupted old run wrote. Those were written on another CPU
// (an AVX-512 Xeon), and oneDNN's and OpenBLAS's sgemm round differently on AVX2 and AVX-512, so float bits made
// elsewhere are compared with a stated tolerance; the bitwise part is a property of this machine: two resumes of the
// same old checkpoint by today's code give identical bytes.
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

    /// The resumed steps 3–4 must reproduce the old run's weight change within this fraction of its size:
    /// ‖w₄ − w₄ᵒˡᵈ‖ / ‖w₄ᵒˡᵈ − w₂‖. Rounding differences between CPUs' GEMM kernels are ~1e-7 relative per product and
    /// Adam's m/√v amplifies them only where v is tiny. Measured on an AVX2 EPYC against the AVX-512 fixture:
    /// 2.8e-7 (moments 1.3e-7, rows 7.4e-8), so 1e-3 leaves a margin of over 3,000. A misread old state (another
    /// mask stream or data position) changes the masks or samples of both steps, and so the change itself: measured
    /// 0.29–0.45, over 280× the tolerance (tested below).
    static let updateTolerance = 1e-3
    /// The same bound for Adam's moments, relative to their norm (they are built from the same two gradients).
    static let momentTolerance = 1e-3
    /// Losses, accuracies, gradient norm and learning rate of the step rows, relative (absolute below 1e-6).
    static let rowTolerance = 1e-4
    /// Columns of `SFTRunLog.stepRows()` that count (step, masked tokens, skipped, truncated): compared exactly.
    static let exactColumns: Set<Int> = [0, 6, 7, 10, 11]

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
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// A copy of the fixture with its placeholder paths pointing at the copy; `edit` may change the old state file.
    static func copy(editState edit: ((String) -> String)? = nil) throws -> URL {
        let fm = FileManager.default
        let folder = fm.temporaryDirectory.appendingPathComponent("legacy-sft-\(UUID().uuidString)")
        try fm.copyItem(at: fixture, to: folder)
        for file in ["config.yaml", "checkpoints/step-00000002/sft_config.yaml"] {
            let url = folder.appendingPathComponent(file)
            let text = try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "FIXTURE_RUN", with: folder.path)
            try Data(text.utf8).write(to: url)
        }
        if let edit {
            let url = folder.appendingPathComponent("checkpoints/step-00000002/\(TrainingCheckpoint.stateFile)")
            let text = try String(contentsOf: url, encoding: .utf8)
            let edited = edit(text)
            precondition(edited != text, "the state edit changed nothing")
            try Data(edited.utf8).write(to: url)
        }
        return folder
    }

    /// Resumes a copy of the fixture with today's `pararl sft --resume` on the portable kernels (the old code's
    /// kernels; the test process's own are chosen for this CPU and shared with the tests running beside this one).
    static func resumedCopy(editState edit: ((String) -> String)? = nil) throws -> (run: URL, status: Int32) {
        let run = try copy(editState: edit)
        let status = try pararl(["sft", "--resume", run.path, "--threads", "2"], environment: ["PARARL_ISA": "portable"])
        return (run, status)
    }

    /// Edits of the old state file that a wrong reader would amount to.
    static func misreading(_ what: String) -> (String) -> String {
        switch what {
        case "mask_stream key": return { $0.replacingOccurrences(of: "11267873302829205933", with: "11267873302829205934") }
        case "data position": return { $0.replacingOccurrences(of: "\"data_position\" : 8", with: "\"data_position\" : 9") }
        default: return { $0.replacingOccurrences(of: "\"step\" : 2", with: "\"step\" : 1") }
        }
    }

    /// The old run's step rows, read from a fresh copy (opening a log migrates it: the committed fixture stays as it is).
    static func fixtureRows() throws -> [[Double]] {
        let folder = try copy()
        defer { try? FileManager.default.removeItem(at: folder) }
        return try SFTRunLog(path: folder.appendingPathComponent(SFTRunLog.fileName).path).stepRows()
    }

    static func l2(_ a: [Float], minus b: [Float]? = nil) -> Double {
        var s = 0.0
        for i in a.indices { let d = Double(a[i]) - Double(b?[i] ?? 0); s += d * d }
        return s.squareRoot()
    }

    /// ‖w₄ − w₄ᵒˡᵈ‖ / ‖w₄ᵒˡᵈ − w₂‖ over every weight of the model, and max over Adam's two moments of
    /// ‖m − mᵒˡᵈ‖ / ‖mᵒˡᵈ‖, for the step-4 checkpoint of a resumed copy.
    static func distances(run: URL) throws -> (update: Double, moments: Double) {
        let got = run.appendingPathComponent("checkpoints/step-00000004")
        let expected = run.appendingPathComponent("expected")
        let start = run.appendingPathComponent("checkpoints/step-00000002")
        let w = try SafetensorsFile.read(url: got.appendingPathComponent(Policy.weightsFileName))
        let wOld = try SafetensorsFile.read(url: expected.appendingPathComponent(Policy.weightsFileName))
        let w2 = try SafetensorsFile.read(url: start.appendingPathComponent(Policy.weightsFileName))
        #expect(w.tensorNames.sorted() == wOld.tensorNames.sorted())
        var difference = 0.0, change = 0.0
        for name in wOld.tensorNames {
            let a = try w.floats(name), b = try wOld.floats(name), c = try w2.floats(name)
            guard a.count == b.count else { Issue.record("\(name): \(a.count) vs \(b.count) values"); continue }
            difference += pow(l2(a, minus: b), 2)
            change += pow(l2(b, minus: c), 2)
        }
        let o = try SafetensorsFile.read(url: got.appendingPathComponent(TrainingCheckpoint.optimizerFile))
        let oOld = try SafetensorsFile.read(url: expected.appendingPathComponent(TrainingCheckpoint.optimizerFile))
        var moments = 0.0
        for name in ["exp_avg", "exp_avg_sq"] {
            let a = try o.floats(name), b = try oOld.floats(name)
            guard a.count == b.count else { Issue.record("\(name): \(a.count) vs \(b.count) values"); continue }
            moments = max(moments, l2(a, minus: b) / max(l2(b), 1e-30))
        }
        return (difference.squareRoot() / max(change.squareRoot(), 1e-30), moments)
    }

    /// The rows' differences: exact columns must match, the others within `rowTolerance`.
    static func rowsAgree(_ rows: [[Double]], _ old: [[Double]]) -> (agree: Bool, worst: Double) {
        guard rows.count == old.count else { return (false, .infinity) }
        var worst = 0.0
        for (r, o) in zip(rows, old) {
            guard r.count == o.count else { return (false, .infinity) }
            for c in r.indices {
                if exactColumns.contains(c) {
                    if r[c] != o[c] { return (false, .infinity) }
                } else {
                    worst = max(worst, abs(r[c] - o[c]) / max(abs(o[c]), 1e-6))
                }
            }
        }
        return (worst <= rowTolerance, worst)
    }

    @Test("an SFT run stopped by the old code resumes to the old uninterrupted run's weights, optimiser and rows (tolerance), bitwise reproducibly on this machine")
    func legacySFTResume() throws {
        let fixtureRows = try Self.fixtureRows()
        #expect(fixtureRows.count == 4)
        let run = try Self.copy()
        defer { try? FileManager.default.removeItem(at: run) }
        let legacyState = try TrainingCheckpoint.readState(run.appendingPathComponent("checkpoints/step-00000002"))
        #expect(legacyState.step == 2 && legacyState.dataPosition == 8)
        #expect(try SFTRun.resume(runDirectory: run).step == 2)
        let status = try Self.pararl(["sft", "--resume", run.path, "--threads", "2"], environment: ["PARARL_ISA": "portable"])
        #expect(status == 0, "pararl sft --resume exited with \(status)")
        let folder = run.appendingPathComponent("checkpoints/step-00000004")
        let expected = run.appendingPathComponent("expected")

        // Against the old run, made on another CPU: the integer state exactly, floats within the stated tolerances.
        #expect(try TrainingCheckpoint.readState(folder) == TrainingCheckpoint.readState(expected))
        let (update, moments) = try Self.distances(run: run)
        #expect(update <= Self.updateTolerance, "the resumed steps' weight change is \(update) of the old run's away from it")
        #expect(moments <= Self.momentTolerance, "Adam's moments are \(moments) (relative) from the old run's")
        let rows = try SFTRunLog(path: run.appendingPathComponent(SFTRunLog.fileName).path).stepRows()
        let agreement = Self.rowsAgree(rows, fixtureRows)
        #expect(agreement.agree, "step rows differ from the old run's (worst relative difference \(agreement.worst))")
        print("legacy resume vs the old run: weight change \(update), moments \(moments), rows \(agreement.worst)")

        // Bitwise on this machine: a second resume of the same old checkpoint by today's code.
        let (again, againStatus) = try Self.resumedCopy()
        #expect(againStatus == 0, "the second pararl sft --resume exited with \(againStatus)")
        defer { try? FileManager.default.removeItem(at: again) }
        for file in [Policy.weightsFileName, TrainingCheckpoint.optimizerFile, TrainingCheckpoint.stateFile] {
            #expect(try Data(contentsOf: folder.appendingPathComponent(file))
                    == Data(contentsOf: again.appendingPathComponent("checkpoints/step-00000004/\(file)")),
                    "\(file) differs between two resumes on this machine")
        }
        #expect(try SFTRunLog(path: again.appendingPathComponent(SFTRunLog.fileName).path).stepRows() == rows)

        // Today's format: the layout has its own file, and the bundle loader reads it.
        let layout = try SequenceLayoutFile.read(checkpoint: folder)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(SequenceLayoutFile.fileName).path))
        #expect(layout.instructionLength == 24 && layout.textLength == 16 && layout.textFiller == .eos)
        #expect(try SequenceLayoutFile.read(checkpoint: run.appendingPathComponent("checkpoints/step-00000002")) == layout)
    }

    /// Old folders read wrongly must fail the comparison above: the tolerance is far below what a misread costs.
    @Test("a misread old state (mask stream, data position) lands far outside the tolerance",
          arguments: ["mask_stream key", "data position"])
    func misreadStateFails(_ what: String) throws {
        let (run, status) = try Self.resumedCopy(editState: Self.misreading(what))
        defer { try? FileManager.default.removeItem(at: run) }
        #expect(status == 0, "\(what): pararl sft --resume exited with \(status)")
        let (update, moments) = try Self.distances(run: run)
        let rows = try SFTRunLog(path: run.appendingPathComponent(SFTRunLog.fileName).path).stepRows()
        let fixtureRows = try Self.fixtureRows()
        #expect(update > 10 * Self.updateTolerance, "\(what): weight change only \(update) from the old run's")
        #expect(!Self.rowsAgree(rows, fixtureRows).agree, "\(what): the step rows still agree")
        print("legacy resume with a wrong \(what): weight change \(update), moments \(moments)")
    }

    @Test("an old state with a wrong step count does not pass for the old run: refused, or other rows and state")
    func wrongStepFails() throws {
        let (run, status) = try Self.resumedCopy(editState: Self.misreading("step"))
        defer { try? FileManager.default.removeItem(at: run) }
        print("legacy resume with a wrong step count: pararl sft --resume exited with \(status)")
        guard status == 0 else { return }  // refused: the folder name and the state disagree
        let rows = try SFTRunLog(path: run.appendingPathComponent(SFTRunLog.fileName).path).stepRows()
        let fixtureRows = try Self.fixtureRows()
        #expect(!Self.rowsAgree(rows, fixtureRows).agree, "the step rows agree though the old step was misread")
    }
}
