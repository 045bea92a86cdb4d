// Bad files and configs end in errors naming the file and key, before anything large is allocated (issue
// "Hardening"): each case below trapped, allocated gigabytes or was accepted before.
import Foundation
import Testing
import ParaRLCore
import ParaRLMedia
import ParaRLPolicy
import ParaRLRunKit
import ParaRLSFT
@testable import ParaRLTrainer

@Suite("Hardening: configs and files")
struct HardeningTests {
    static func temporary() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hardening-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("ParaRL counts beyond their bounds are errors naming the key (steps, warm-up, iterations, prompts)")
    func rlCounts() throws {
        for (key, edit) in [("steps", { (c: inout ParaRLConfig) in c.steps = Int.max }),
                            ("warmup_steps", { $0.warmupSteps = Int.max }), ("num_iterations", { $0.numIterations = Int.max }),
                            ("prompts_per_step", { $0.promptsPerStep = Int.max }), ("group_size", { $0.groupSize = Int.max })] {
            var c = ParaRLConfig()
            edit(&c)
            #expect { try c.validate(source: "r.yaml") } throws: { "\($0)".contains("\"\(key)\"") }
        }
    }

    @Test("SFT sizes and the architecture file: huge batch, NaN init_std, a model that cannot fit")
    func sftSizes() throws {
        #expect { try SFTConfig.parse("batch_size: 100000000000\n", source: "s.yaml") } throws: { "\($0)".contains("batch_size") }
        let dir = try Self.temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (text, key) in [("init_std: .nan\n", "init_std"), ("n_layers: 10000000\n", "n_layers"), ("d_model: 0\n", "d_model")] {
            let url = dir.appendingPathComponent("model.yaml")
            try Data(text.utf8).write(to: url)
            #expect { try PolicyArchitecture.load(url) } throws: { "\($0)".contains(key) && "\($0)".contains(url.path) }
        }
    }

    @Test("a VQ file whose patch_size overflows, and a 100-byte PNG declaring 32768×32768, are errors naming the file")
    func fileSizes() throws {
        let dir = try Self.temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let vq = dir.appendingPathComponent("vq.safetensors")
        var w = SafetensorsWriter(metadata: ["format": PatchVQ.format, "patch_size": "9223372036854775807",
                                             "image_width": "32", "image_height": "32"])
        try w.add("codebook", shape: [2, 3], floats: [0, 0, 0, 1, 1, 1])
        try w.write(to: vq)
        #expect { try PatchVQ.load(from: vq) } throws: { "\($0)".contains("patch_size") && "\($0)".contains(vq.path) }
        // A valid PNG header and IHDR for 32768×32768 RGB, then nothing: refused before any pixel buffer exists.
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
        png += Data([0, 0, 0x80, 0, 0, 0, 0x80, 0, 8, 2, 0, 0, 0])
        png += Data(crc32(png.suffix(17)).bigEndianBytes)
        let idat = Data([0x49, 0x44, 0x41, 0x54]) + Data(repeating: 0x78, count: 100 - png.count - 12)
        png += Data(UInt32(idat.count - 4).bigEndianBytes) + idat + Data(crc32(idat).bigEndianBytes)
        #expect { try PNGCodec.decode(png, path: "bomb.png") } throws: { "\($0)".contains("bomb.png") && "\($0)".contains("32768") }
        #expect { try PNGCodec.read(URL(fileURLWithPath: "/dev/zero")) } throws: { "\($0)".contains("a device") }
    }

    func crc32(_ data: Data) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }

    @Test("config.json metadata that cannot change the computation (transformers' dtype) loads; unknown keys stay errors")
    func configMetadata() throws {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ParaRLPolicyTests/Fixtures/policy_micro/config.json")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any])
        let plain = try PolicyModelConfig.parse(try JSONSerialization.data(withJSONObject: json), source: "c.json")
        json["dtype"] = "bfloat16"
        #expect(try PolicyModelConfig.parse(try JSONSerialization.data(withJSONObject: json), source: "c.json") == plain)
        json["n_experts"] = 8
        #expect(throws: ParaRLError.unknownKey(file: "c.json", key: "n_experts")) {
            try PolicyModelConfig.parse(try JSONSerialization.data(withJSONObject: json), source: "c.json")
        }
    }
}

extension UInt32 {
    var bigEndianBytes: [UInt8] { [UInt8(self >> 24), UInt8((self >> 16) & 0xFF), UInt8((self >> 8) & 0xFF), UInt8(self & 0xFF)] }
}
