// The JSONL dataset format: byte-identical writes, a loader that reads back what was written, and errors
// that name the file, line and field for malformed records, missing files and unreadable images.
import Foundation
import Testing
import TestSupport
import ParaRLMedia
@testable import ParaRLWorld

/// A fresh temporary folder.
func temporaryFolder(_ name: String = #function) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("pararl-world-tests-\(getpid())-\(name.filter { $0.isLetter })-\(UInt64(Date().timeIntervalSince1970 * 1e6))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite struct DatasetTests {
    /// Six eval tasks: one per category.
    var sample: [WorldTask] { [0, 40, 80, 120, 160, 200].map { worldSource.evalTasks[$0] } }

    @Test func writeIsByteIdenticalAndLoadsBack() throws {
        let a = try temporaryFolder("a"), b = try temporaryFolder("b")
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let ua = try WorldDataset.write(sample, name: "eval", to: a)
        let ub = try WorldDataset.write(sample, name: "eval", to: b)
        #expect(try Data(contentsOf: ua) == Data(contentsOf: ub))
        for t in sample {
            let name = "images/\(t.id)-output.png"
            #expect(try Data(contentsOf: a.appendingPathComponent(name)) == Data(contentsOf: b.appendingPathComponent(name)))
        }
        let records = try WorldDataset.load(ua)
        #expect(records.count == sample.count)
        let renderer = SceneRenderer()
        for (r, t) in zip(records, sample) {
            #expect(r.id == t.id && r.kind == t.kind && r.category == t.category.rawValue)
            #expect(r.instruction == t.instruction && r.reasoning == t.reasoning)
            #expect(r.targetScene == t.targetScene && r.inputScene == t.inputScene)
            #expect(r.line == records.firstIndex(of: r).map { $0 + 1 })
            #expect(try r.loadOutputImage() == renderer.render(t.targetScene))
            #expect(try r.loadInputImage() == t.inputScene.map(renderer.render))
        }
        let first = try #require(String(data: Data(contentsOf: ua), encoding: .utf8)?.split(separator: "\n").first)
        #expect(first.hasPrefix("{\"id\": \"eval-spatial-000\", \"task\": \"edit\", \"category\": \"spatial\", \"instruction\": "))
    }

    /// Writes `lines` as a JSONL file beside one valid image and returns the loader's error.
    func loadError(_ lines: [String], schema: WorldDataset.Schema = .dataset) throws -> DatasetError? {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try PNGCodec.write(SceneRenderer().render(Scene(background: .day, objects: [])), to: dir.appendingPathComponent("ok.png"))
        try Data("not a png".utf8).write(to: dir.appendingPathComponent("bad.png"))
        let url = dir.appendingPathComponent("data.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: url)
        do {
            _ = try WorldDataset.load(url, schema: schema)
            return nil
        } catch let e as DatasetError {
            // Errors name the file; compare without the temporary path.
            return e
        }
    }

    static let good = #"{"id": "a", "task": "generate", "category": "x", "instruction": "i", "reasoning": "r", "output_image": "ok.png"}"#

    @Test func malformedRecordsNameLineAndField() throws {
        func expect(_ lines: [String], _ check: (DatasetError) -> Bool, schema: WorldDataset.Schema = .dataset,
                    sourceLocation: SourceLocation = #_sourceLocation) throws {
            let e = try loadError(lines, schema: schema)
            #expect(e.map(check) ?? false, "got \(String(describing: e))", sourceLocation: sourceLocation)
        }
        try expect([Self.good, "", "{not json"]) { if case .malformedLine(_, 3, _) = $0 { return true }; return false }
        try expect([Self.good, "[1, 2]"]) { if case .malformedLine(_, 2, _) = $0 { return true }; return false }
        try expect([#"{"id": "a", "task": "generate", "category": "x", "reasoning": "r", "output_image": "ok.png"}"#]) {
            $0 == .missingField(file: self.path($0), line: 1, field: "instruction")
        }
        try expect([Self.good.replacingOccurrences(of: "\"generate\"", with: "\"paint\"")]) {
            if case .invalidField(_, 1, "task", _) = $0 { return true }; return false
        }
        try expect([Self.good.replacingOccurrences(of: "\"generate\"", with: "\"edit\"")]) {
            $0 == .missingField(file: self.path($0), line: 1, field: "input_image")
        }
        try expect([Self.good.replacingOccurrences(of: "\"r\"", with: "7")]) {
            if case .invalidField(_, 1, "reasoning", _) = $0 { return true }; return false
        }
        try expect([Self.good, Self.good]) { if case .duplicateID(_, 2, "a", 1) = $0 { return true }; return false }
        try expect([Self.good.replacingOccurrences(of: "ok.png", with: "gone.png")]) {
            if case .missingFile(_, 1, "output_image", let p) = $0 { return p.hasSuffix("gone.png") }; return false
        }
        try expect([Self.good.replacingOccurrences(of: "ok.png", with: "bad.png")]) {
            if case .unreadableImage(_, 1, "output_image", _, _) = $0 { return true }; return false
        }
        let badScene = Self.good.replacingOccurrences(of: "}", with: #", "target_scene": {"background": "day", "objects": [{"color": "teal", "size": "small", "shape": "ring", "position": "center"}]}}"#)
        try expect([badScene]) { if case .invalidField(_, 1, "target_scene.objects[0].color", _) = $0 { return true }; return false }
        // Images live beside the JSONL: absolute paths and paths that climb out are refused (for predictions too).
        try expect([Self.good.replacingOccurrences(of: "ok.png", with: "/etc/passwd")]) {
            if case .invalidField(_, 1, "output_image", let r) = $0 { return r.contains("absolute") }; return false
        }
        try expect([Self.good.replacingOccurrences(of: "ok.png", with: "images/../../x.png")]) {
            if case .invalidField(_, 1, "output_image", let r) = $0 { return r.contains("leaves") }; return false
        }
        try expect([#"{"id": "a", "reasoning": "r", "output_image": "/etc/passwd"}"#], {
            if case .invalidField(_, 1, "output_image", _) = $0 { return true }; return false
        }, schema: .predictions)
        // Predictions need only id, reasoning and output_image.
        #expect(try loadError([#"{"id": "a", "reasoning": "r", "output_image": "ok.png"}"#], schema: .predictions) == nil)
        try expect([#"{"id": "a", "output_image": "ok.png"}"#], { $0 == .missingField(file: self.path($0), line: 1, field: "reasoning") },
                   schema: .predictions)
    }

    @Test func missingFileIsAnError() {
        let url = URL(fileURLWithPath: "/nonexistent/data.jsonl")
        #expect(throws: DatasetError.cannotRead(file: url.path, reason: "no such file")) { try WorldDataset.load(url) }
    }

    @Test func errorMessagesNameFileLineAndField() {
        let e = DatasetError.invalidField(file: "d.jsonl", line: 4, field: "task", reason: "must be \"edit\" or \"generate\"")
        #expect(e.description == "d.jsonl:4: field \"task\": must be \"edit\" or \"generate\"")
    }

    func path(_ e: DatasetError) -> String {
        switch e {
        case let .cannotRead(f, _), let .malformedLine(f, _, _), let .missingField(f, _, _), let .invalidField(f, _, _, _),
             let .duplicateID(f, _, _, _), let .missingFile(f, _, _, _), let .unreadableImage(f, _, _, _, _): return f
        case let .cannotWrite(p, _): return p
        }
    }
}
