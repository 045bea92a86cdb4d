// Fuzzing every input format the trainer reads (issue "Hardening"): valid safetensors, patch-VQ files, policy
// config.json, YAML run configs (ParaRL, SFT, CLIP), dataset JSONL with its PNGs, and trajectory records are mutated
// (bit flips, byte edits, cuts, splices, numbers made huge or negative, YAML anchors) and loaded; every case must end
// in a clean error or a valid result — a trap ends the test process, a case slower than 10 s is recorded.
// PARARL_FUZZ_CASES (per input type, default 400 here; tools/fuzz.sh runs any count) and PARARL_FUZZ_SEED choose the run.
import Foundation
import Testing
import ParaRLCLIP
import ParaRLCore
import ParaRLMedia
import ParaRLPolicy
import ParaRLRunKit
import ParaRLSampling
import ParaRLSFT
@testable import ParaRLTrainer
import ParaRLWorld

@Suite("Fuzzing the input formats")
struct FuzzTests {
    static let environment = ProcessInfo.processInfo.environment
    static let cases = Int(environment["PARARL_FUZZ_CASES"] ?? "") ?? 400
    static let seed = UInt64(environment["PARARL_FUZZ_SEED"] ?? "") ?? 1
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// One mutation of `data`: flips, byte edits, cuts, splices, repeated spans.
    static func mutate(_ data: Data, _ rng: inout RandomStream) -> Data {
        var b = [UInt8](data)
        for _ in 0...rng.int(below: 4) {
            guard !b.isEmpty else { b = [UInt8(rng.int(below: 256))]; continue }
            let i = rng.int(below: b.count)
            switch rng.int(below: 7) {
            case 0: b[i] ^= UInt8(1 << rng.int(below: 8))
            case 1: b[i] = [0, 0xFF, 0x7F, 0x80, 0x20, 0x22, 0x5C][rng.int(below: 7)]
            case 2: b.removeSubrange(i..<min(b.count, i + 1 + rng.int(below: 16)))
            case 3: b = Array(b.prefix(i))
            case 4: b.insert(contentsOf: (0..<(1 + rng.int(below: 8))).map { _ in UInt8(rng.int(below: 256)) }, at: i)
            case 5: let j = rng.int(below: b.count); b.insert(contentsOf: b[min(i, j)..<max(i, j)].prefix(64), at: rng.int(below: b.count))
            default: b.insert(contentsOf: Array("9223372036854775807".utf8), at: i)
            }
        }
        return Data(b)
    }

    /// Text mutations that keep it mostly well-formed: numbers made huge, negative or NaN, anchors and aliases,
    /// deleted or duplicated lines, then sometimes byte mutations too.
    static func mutateText(_ text: String, _ rng: inout RandomStream) -> Data {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for _ in 0...rng.int(below: 3) {
            guard !lines.isEmpty else { break }
            let i = rng.int(below: lines.count)
            switch rng.int(below: 6) {
            case 0: lines[i] = lines[i].replacingOccurrences(of: #"-?[0-9]+(\.[0-9]+)?(e-?[0-9]+)?"#,
                                                            with: ["9223372036854775807", "-1", "0", "1e308", ".nan", "-9223372036854775808",
                                                                   "100000000000"][rng.int(below: 7)], options: .regularExpression)
            case 1: lines.remove(at: i)
            case 2: lines.insert(lines[i], at: i)
            case 3: lines[i] += [" &a", " *a", ": [", " {", "\t"][rng.int(below: 5)]
            case 4: lines.insert("x\(rng.int(below: 9)): &b [*b]", at: i)
            default: lines[i] = String(lines[i].reversed())
            }
        }
        let data = Data(lines.joined(separator: "\n").utf8)
        return rng.int(below: 3) == 0 ? mutate(data, &rng) : data
    }

    /// Runs `cases` mutations of `original` through `load`, counting clean errors and valid results.
    func fuzz(_ name: String, _ original: Data, text: Bool = false, _ load: (Data) throws -> Void) {
        var rng = RandomStream(seed: Self.seed).split(name)
        var ok = 0, errors = 0, slow = 0
        let source = String(decoding: original, as: UTF8.self)
        for _ in 0..<Self.cases {
            let input = text ? Self.mutateText(source, &rng) : Self.mutate(original, &rng)
            let start = Date()
            do { try load(input); ok += 1 } catch { errors += 1 }
            if Date().timeIntervalSince(start) > 10 { slow += 1 }
        }
        print("fuzz \(name): \(Self.cases) cases, \(ok) valid, \(errors) clean errors, \(slow) slower than 10 s, 0 crashes")
        #expect(slow == 0, "\(name): \(slow) cases took more than 10 s")
    }

    static func temporary() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("safetensors, patch-VQ files and policy config.json")
    func binaryFormats() throws {
        let dir = try Self.temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let policy = Self.root.appendingPathComponent("Tests/ParaRLPolicyTests/Fixtures/policy_micro")
        let weights = try Data(contentsOf: policy.appendingPathComponent("model.safetensors"))
        let file = dir.appendingPathComponent("f.safetensors")
        fuzz("safetensors", weights) { data in
            try data.write(to: file)
            let f = try SafetensorsFile.read(url: file)
            for name in f.tensorNames { _ = try f.floats(name) }
        }
        let world = WorldTaskSource(seed: 0), renderer = SceneRenderer(imageSize: 32)
        let vq = try PatchVQ.fit(images: (0..<4).map { renderer.render(world.trainTask(index: $0).targetScene) }, patchSize: 8,
                                 codebookSize: 4, iterations: 2).tokenizer
        let vqFile = dir.appendingPathComponent("vq.safetensors")
        try vq.save(to: vqFile)
        let image = renderer.render(world.trainTask(index: 9).targetScene)
        fuzz("vq", try Data(contentsOf: vqFile)) { data in
            try data.write(to: vqFile)
            let t = try PatchVQ.load(from: vqFile)
            if t.imageWidth == 32 && t.imageHeight == 32 { _ = try t.decode(try t.encode(image)) }
        }
        let config = try Data(contentsOf: policy.appendingPathComponent("config.json"))
        fuzz("config.json", config, text: true) { data in _ = try PolicyModelConfig.parse(data, source: "config.json") }
    }

    @Test("YAML run configs: ParaRL, SFT, CLIP training, model architecture")
    func yamlConfigs() throws {
        let dir = try Self.temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let configs = Self.root.appendingPathComponent("rl-configs")
        let rl = try Data(contentsOf: configs.appendingPathComponent("pararl-s3.yaml"))
        fuzz("yaml-pararl", rl, text: true) { data in
            let c = try ParaRLConfig.parse(String(decoding: data, as: UTF8.self), source: "r.yaml")
            try c.validate(source: "r.yaml")
        }
        fuzz("yaml-sft", try Data(contentsOf: configs.appendingPathComponent("sft-world-policy.yaml")), text: true) { data in
            _ = try SFTConfig.parse(String(decoding: data, as: UTF8.self), source: "s.yaml")
        }
        fuzz("yaml-clip", try Data(contentsOf: configs.appendingPathComponent("clip-tiny.yaml")), text: true) { data in
            _ = try CLIPTrainConfig.parse(yaml: String(decoding: data, as: UTF8.self), path: "c.yaml")
        }
        let model = dir.appendingPathComponent("model.yaml")
        fuzz("yaml-model", try Data(contentsOf: configs.appendingPathComponent("model-tiny.yaml")), text: true) { data in
            try data.write(to: model)
            _ = try PolicyArchitecture.load(model)
        }
    }

    @Test("dataset JSONL with PNG images, and trajectory records")
    func datasetsAndTrajectories() throws {
        let dir = try Self.temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tasks = (0..<3).map { WorldTaskSource(seed: 0).trainTask(index: $0) }
        let jsonl = try WorldDataset.write(tasks, name: "train", to: dir)
        let original = try Data(contentsOf: jsonl)
        fuzz("dataset-jsonl", original, text: true) { data in
            try data.write(to: jsonl)
            _ = try WorldDataset.load(jsonl, schema: .dataset, checkImages: true)
        }
        try original.write(to: jsonl)
        let records = try WorldDataset.load(jsonl, schema: .dataset, checkImages: false)
        let png = try #require(records.first).outputImage
        let pngData = try Data(contentsOf: png)
        fuzz("dataset-png", pngData) { data in
            try data.write(to: png)
            _ = try WorldDataset.load(jsonl, schema: .dataset, checkImages: true)
        }
        let record = TrajectoryRecord(seed: 7, steps: 6, tokens: (0..<40).map { Int32($0 % 13) },
                                      revealStep: (0..<40).map { Int32(1 + $0 % 6) }, logProb: (0..<40).map { -Float($0) / 10 })
        let blob = record.encoded()
        #expect(try TrajectoryRecord(encoded: blob) == record)
        fuzz("trajectory", blob) { data in
            let decoded = try TrajectoryRecord(encoded: data)
            // What decodes verifies: the CRC covers every byte, so a mutation that decodes is the original.
            #expect(decoded == record)
        }
    }
}
