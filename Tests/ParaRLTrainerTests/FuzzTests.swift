// Fuzzing every input format the trainer reads (issue "Hardening"): valid safetensors, patch-VQ files, policy
// config.json, YAML run configs (ParaRL, SFT, CLIP), dataset JSONL with its PNGs, and trajectory records are mutated
// (bit flips, byte edits, cuts, splices, numbers made huge or negative, YAML anchors) and loaded; every case must end
// in a clean error or a valid result — a trap ends the test process, a case slower than 10 s is recorded.
// So that a loader rejecting everything cannot pass, each input type also checks that the unmutated input (and every
// mutation that left it unchanged) loads to the expected content, read independently of the loader where one exists
// (JSONSerialization for the safetensors header and config.json, the YAML text's own lines, the written tasks), that
// a copy with changed values loads to those values, and that some mutated cases still load where mutations can keep
// an input valid (all but the CRC-covered trajectory records).
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

    /// Runs `cases` mutations of `original` through `load`, counting clean errors and valid results. The unmutated
    /// input, and any mutation that left it unchanged, must load and pass `check` (the expected content); with
    /// `canStayValid` and at least `minimumCasesForShare` cases, some mutated cases must load too.
    func fuzz<T>(_ name: String, _ original: Data, text: Bool = false, canStayValid: Bool = true,
                 _ load: (Data) throws -> T, check: (T) throws -> Void) throws {
        switch Result(catching: { try load(original) }) {
        case .success(let value):
            try check(value)
        case .failure(let error):
            Issue.record("\(name): the unmutated input was rejected: \(error)")
        }
        var rng = RandomStream(seed: Self.seed).split(name)
        var ok = 0, errors = 0, slow = 0, unchanged = 0, mutatedValid = 0
        let source = String(decoding: original, as: UTF8.self)
        for _ in 0..<Self.cases {
            let input = text ? Self.mutateText(source, &rng) : Self.mutate(original, &rng)
            let start = Date()
            let result = Result(catching: { try load(input) })
            if Date().timeIntervalSince(start) > 10 { slow += 1 }
            let same = input == original
            if same { unchanged += 1 }
            switch result {
            case .success(let value):
                ok += 1
                if same { try check(value) } else { mutatedValid += 1 }
            case .failure(let error):
                errors += 1
                if same { Issue.record("\(name): a mutation that left the input unchanged was rejected: \(error)") }
            }
        }
        print("fuzz \(name): \(Self.cases) cases, \(ok) valid, \(errors) clean errors, \(slow) slower than 10 s, 0 crashes"
              + " (\(unchanged) unchanged, \(mutatedValid) changed and valid)")
        #expect(slow == 0, "\(name): \(slow) cases took more than 10 s")
        if canStayValid && Self.cases >= Self.minimumCasesForShare {
            #expect(mutatedValid > 0, "\(name): none of \(Self.cases) mutated inputs loaded; a loader that rejects everything?")
        }
    }

    /// The fewest cases per type at which some changed input must load. The rarest valid share is the PNGs' (9 of 400
    /// at seed 1, about 2%: libpng checks the chunk CRCs), so 400 cases (the default) leave about 1 in 10,000 seeds
    /// where a working loader would show none; the other types are 7–22% valid at seeds 1 and 2.
    static let minimumCasesForShare = 400

    /// The value of the top-level `key:` line of a YAML text (comment and surrounding blanks removed).
    static func yamlValue(_ text: String, _ key: String) throws -> String {
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("\(key):") }, "no top-level \(key) in the config")
        let value = line.dropFirst(key.count + 1).split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return value.trimmingCharacters(in: .whitespaces)
    }

    static func yamlInt(_ text: String, _ key: String) throws -> Int { try #require(Int(try yamlValue(text, key))) }
    static func yamlDouble(_ text: String, _ key: String) throws -> Double { try #require(Double(try yamlValue(text, key))) }

    /// `text` with the values of top-level keys replaced (their comments dropped).
    static func yamlSetting(_ text: String, _ values: [String: String]) throws -> String {
        var seen: Set<String> = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard let key = values.keys.first(where: { line.hasPrefix("\($0):") }) else { return String(line) }
            seen.insert(key)
            return "\(key): \(values[key]!)"
        }
        #expect(seen == Set(values.keys), "keys missing from the config: \(Set(values.keys).subtracting(seen).sorted())")
        return lines.joined(separator: "\n")
    }

    /// The tensors of a safetensors file read without SafetensorsFile: the header through JSONSerialization, the F32
    /// data as little-endian bit patterns (the fixture is all F32).
    static func referenceTensors(_ data: Data) throws -> (tensors: [String: (shape: [Int], bits: [UInt32])], metadata: [String: String]) {
        let bytes = [UInt8](data)
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
        var tensors: [String: (shape: [Int], bits: [UInt32])] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            let entry = try #require(value as? [String: Any])
            if name == "__metadata__" { metadata = try #require(value as? [String: String]); continue }
            #expect(entry["dtype"] as? String == "F32")
            let shape = try #require(entry["shape"] as? [Int]), offsets = try #require(entry["data_offsets"] as? [Int])
            let bits = stride(from: 8 + n + offsets[0], to: 8 + n + offsets[1], by: 4).map { at in
                (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * $1) }
            }
            tensors[name] = (shape, bits)
        }
        return (tensors, metadata)
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
        let reference = try Self.referenceTensors(weights)
        #expect(reference.tensors.count == 21)
        try fuzz("safetensors", weights, { data in
            try data.write(to: file)
            let f = try SafetensorsFile.read(url: file)
            return (f, try f.tensorNames.map { try f.floats($0) })
        }, check: { loaded throws in
            let (f, floats) = loaded
            #expect(Set(f.tensorNames) == Set(reference.tensors.keys))
            #expect(f.metadata == reference.metadata)
            for (name, values) in zip(f.tensorNames, floats) {
                #expect(try f.shape(name) == reference.tensors[name]?.shape, "\(name)")
                #expect(values.map(\.bitPattern) == reference.tensors[name]?.bits, "\(name)")
            }
        })
        let world = WorldTaskSource(seed: 0), renderer = SceneRenderer(imageSize: 32)
        let vq = try PatchVQ.fit(images: (0..<4).map { renderer.render(world.trainTask(index: $0).targetScene) }, patchSize: 8,
                                 codebookSize: 4, iterations: 2).tokenizer
        let vqFile = dir.appendingPathComponent("vq.safetensors")
        try vq.save(to: vqFile)
        let image = renderer.render(world.trainTask(index: 9).targetScene)
        let expectedCodes = try vq.encode(image), expectedImage = try vq.decode(expectedCodes)
        try fuzz("vq", try Data(contentsOf: vqFile), { data in
            try data.write(to: vqFile)
            let t = try PatchVQ.load(from: vqFile)
            if t.imageWidth == 32 && t.imageHeight == 32 { _ = try t.decode(try t.encode(image)) }
            return t
        }, check: { t throws in
            #expect(t == vq)
            #expect(try t.encode(image) == expectedCodes)
            #expect(try t.decode(expectedCodes) == expectedImage)
        })
        let config = try Data(contentsOf: policy.appendingPathComponent("config.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: config) as? [String: Any])
        let pararl = try #require(json["pararl"] as? [String: Any])
        try fuzz("config.json", config, text: true, { data in try PolicyModelConfig.parse(data, source: "config.json") }, check: { c in
            #expect(c.transformer.dModel == json["d_model"] as? Int)
            #expect(c.transformer.nLayers == json["n_layers"] as? Int)
            #expect(c.transformer.nHeads == json["n_heads"] as? Int)
            #expect(c.transformer.mlpHiddenSize == json["mlp_hidden_size"] as? Int)
            #expect(c.transformer.vocabSize == json["vocab_size"] as? Int)
            #expect(c.transformer.embeddingSize == json["embedding_size"] as? Int)
            #expect(c.transformer.maskTokenID == json["mask_token_id"] as? Int)
            #expect(c.transformer.ropeTheta == (json["rope_theta"] as? Double).map(Float.init))
            #expect(c.maxSequenceLength == json["max_sequence_length"] as? Int)
            #expect(c.vocabulary?.textCount == pararl["text_vocab_size"] as? Int)
            #expect(c.vocabulary?.codebookSize == pararl["codebook_size"] as? Int)
            #expect(c.vocabulary?.codebookOffset == pararl["codebook_offset"] as? Int)
        })
        // Changed values load as those values.
        var edited = json
        edited["d_model"] = 32; edited["n_heads"] = 4; edited["n_kv_heads"] = 4; edited["max_sequence_length"] = 48
        let c = try PolicyModelConfig.parse(try JSONSerialization.data(withJSONObject: edited), source: "config.json")
        #expect(c.transformer.dModel == 32 && c.transformer.nHeads == 4 && c.maxSequenceLength == 48)
    }

    @Test("YAML run configs: ParaRL, SFT, CLIP training, model architecture")
    func yamlConfigs() throws {
        let dir = try Self.temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let configs = Self.root.appendingPathComponent("rl-configs")
        let rl = try String(contentsOf: configs.appendingPathComponent("pararl-s3.yaml"), encoding: .utf8)
        func parseRL(_ data: Data) throws -> ParaRLConfig {
            let c = try ParaRLConfig.parse(String(decoding: data, as: UTF8.self), source: "r.yaml")
            try c.validate(source: "r.yaml")
            return c
        }
        func checkRL(_ text: String) throws -> (ParaRLConfig) throws -> Void {
            let want = (seed: UInt64(try Self.yamlInt(text, "seed")), groupSize: try Self.yamlInt(text, "group_size"),
                        prompts: try Self.yamlInt(text, "prompts_per_step"), steps: try Self.yamlInt(text, "steps"),
                        sampled: try Self.yamlInt(text, "sampled_steps"), warmup: try Self.yamlInt(text, "warmup_steps"),
                        lr: try Self.yamlDouble(text, "lr"), beta: try Self.yamlDouble(text, "beta"))
            return { c in
                #expect(c.seed == want.seed && c.groupSize == want.groupSize && c.promptsPerStep == want.prompts)
                #expect(c.steps == want.steps && c.sampledSteps == want.sampled && c.warmupSteps == want.warmup)
                #expect(c.lr == want.lr && c.beta == want.beta)
            }
        }
        try fuzz("yaml-pararl", Data(rl.utf8), text: true, parseRL, check: try checkRL(rl))
        let rlEdited = try Self.yamlSetting(rl, ["seed": "11", "group_size": "5", "prompts_per_step": "3", "steps": "42",
                                                 "warmup_steps": "2", "lr": "3.0e-5"])
        try checkRL(rlEdited)(try parseRL(Data(rlEdited.utf8)))

        let sft = try String(contentsOf: configs.appendingPathComponent("sft-world-policy.yaml"), encoding: .utf8)
        func parseSFT(_ data: Data) throws -> SFTConfig { try SFTConfig.parse(String(decoding: data, as: UTF8.self), source: "s.yaml") }
        func checkSFT(_ text: String) throws -> (SFTConfig) throws -> Void {
            let want = (batch: try Self.yamlInt(text, "batch_size"), steps: try Self.yamlInt(text, "steps"), lr: try Self.yamlDouble(text, "lr"),
                        warmup: try Self.yamlInt(text, "warmup_steps"), textLength: try Self.yamlInt(text, "text_length"),
                        instructionLength: try Self.yamlInt(text, "instruction_length"), evalEvery: try Self.yamlInt(text, "eval_every"))
            return { c in
                #expect(c.batchSize == want.batch && c.steps == want.steps && c.lr == want.lr && c.warmupSteps == want.warmup)
                #expect(c.textLength == want.textLength && c.instructionLength == want.instructionLength && c.evalEvery == want.evalEvery)
            }
        }
        try fuzz("yaml-sft", Data(sft.utf8), text: true, parseSFT, check: try checkSFT(sft))
        let sftEdited = try Self.yamlSetting(sft, ["batch_size": "12", "steps": "123", "lr": "5.0e-4"])
        try checkSFT(sftEdited)(try parseSFT(Data(sftEdited.utf8)))

        let clip = try String(contentsOf: configs.appendingPathComponent("clip-tiny.yaml"), encoding: .utf8)
        func parseCLIP(_ data: Data) throws -> CLIPTrainConfig { try CLIPTrainConfig.parse(yaml: String(decoding: data, as: UTF8.self), path: "c.yaml") }
        func checkCLIP(_ text: String) throws -> (CLIPTrainConfig) throws -> Void {
            let want = (tasks: try Self.yamlInt(text, "train_tasks"), steps: try Self.yamlInt(text, "steps"),
                        batch: try Self.yamlInt(text, "batch_size"), lr: try Self.yamlDouble(text, "learning_rate"),
                        warmup: try Self.yamlInt(text, "warmup_steps"), evalScenes: try Self.yamlInt(text, "eval_scenes"))
            return { c in
                #expect(c.trainTasks == want.tasks && c.steps == want.steps && c.batchSize == want.batch)
                #expect(c.learningRate == want.lr && c.warmupSteps == want.warmup && c.evalScenes == want.evalScenes)
            }
        }
        try fuzz("yaml-clip", Data(clip.utf8), text: true, parseCLIP, check: try checkCLIP(clip))
        let clipEdited = try Self.yamlSetting(clip, ["steps": "77", "batch_size": "8", "learning_rate": "2.0e-3"])
        try checkCLIP(clipEdited)(try parseCLIP(Data(clipEdited.utf8)))

        let model = dir.appendingPathComponent("model.yaml")
        let arch = try String(contentsOf: configs.appendingPathComponent("model-tiny.yaml"), encoding: .utf8)
        func parseModel(_ data: Data) throws -> PolicyArchitecture {
            try data.write(to: model)
            return try PolicyArchitecture.load(model)
        }
        func checkModel(_ text: String) throws -> (PolicyArchitecture) throws -> Void {
            let want = (d: try Self.yamlInt(text, "d_model"), layers: try Self.yamlInt(text, "n_layers"), heads: try Self.yamlInt(text, "n_heads"),
                        mlp: try Self.yamlInt(text, "mlp_hidden_size"), seq: try Self.yamlInt(text, "max_sequence_length"))
            return { a in
                #expect(a.dModel == want.d && a.nLayers == want.layers && a.nHeads == want.heads)
                #expect(a.mlpHiddenSize == want.mlp && a.maxSequenceLength == want.seq)
            }
        }
        try fuzz("yaml-model", Data(arch.utf8), text: true, parseModel, check: try checkModel(arch))
        let archEdited = try Self.yamlSetting(arch, ["d_model": "128", "n_layers": "3", "max_sequence_length": "300"])
        try checkModel(archEdited)(try parseModel(Data(archEdited.utf8)))
    }

    @Test("dataset JSONL with PNG images, and trajectory records")
    func datasetsAndTrajectories() throws {
        let dir = try Self.temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tasks = (0..<3).map { WorldTaskSource(seed: 0).trainTask(index: $0) }
        let jsonl = try WorldDataset.write(tasks, name: "train", to: dir)
        let original = try Data(contentsOf: jsonl)
        let renderer = SceneRenderer(imageSize: 32)
        func checkRecords(_ records: [DatasetRecord]) throws {
            #expect(records.map(\.id) == tasks.map(\.id))
            #expect(records.map(\.instruction) == tasks.map { Optional($0.instruction) })
            #expect(records.map(\.reasoning) == tasks.map(\.reasoning))
            #expect(records.map(\.targetScene) == tasks.map { Optional($0.targetScene) })
            for (r, t) in zip(records, tasks) { #expect(try r.loadOutputImage() == renderer.render(t.targetScene)) }
        }
        try fuzz("dataset-jsonl", original, text: true, { data in
            try data.write(to: jsonl)
            return try WorldDataset.load(jsonl, schema: .dataset, checkImages: true)
        }, check: checkRecords)
        try original.write(to: jsonl)
        let records = try WorldDataset.load(jsonl, schema: .dataset, checkImages: false)
        let png = try #require(records.first).outputImage
        let pngData = try Data(contentsOf: png)
        try fuzz("dataset-png", pngData, { data in
            try data.write(to: png)
            return try WorldDataset.load(jsonl, schema: .dataset, checkImages: true)
        }, check: checkRecords)
        let record = TrajectoryRecord(seed: 7, steps: 6, tokens: (0..<40).map { Int32($0 % 13) },
                                      revealStep: (0..<40).map { Int32(1 + $0 % 6) }, logProb: (0..<40).map { -Float($0) / 10 })
        let blob = record.encoded()
        // What decodes verifies: the CRC covers every byte, so a mutation that decodes is the original, and no changed
        // input is expected to load.
        try fuzz("trajectory", blob, canStayValid: false, { data in
            let decoded = try TrajectoryRecord(encoded: data)
            #expect(decoded == record)
            return decoded
        }, check: { decoded in #expect(decoded == record) })
    }
}
