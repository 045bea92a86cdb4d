// `pararl policy export` (the shipped models/world-policy's format): a self-contained folder that loads wherever it
// is moved, with exact F32 weights or BF16-rounded ones, the same layout and tokenizers; refuses to overwrite; a
// truncated or mismatched file is an error naming the file.
import Foundation
import Testing
import ParaRLCore
import ParaRLPolicy
import ParaRLSampling
import ParaRLWorld

@Suite("Policy export")
struct PolicyExportTests {
    func exported(_ dtype: SafetensorsDType) throws -> (source: PolicyBundle, folder: URL) {
        let f = try MicroFixture.shared.get()
        let source = try PolicyBundle.load(checkpoint: f.checkpoint)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pararl-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let first = dir.appendingPathComponent("written")
        try source.export(to: first, dtype: dtype)
        #expect(throws: SamplingError.self) { try source.export(to: first, dtype: dtype) }
        // Moved elsewhere, the folder still loads: its tokenizer paths are relative.
        let moved = dir.appendingPathComponent("elsewhere/policy")
        try FileManager.default.createDirectory(at: moved.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: first, to: moved)
        return (source, moved)
    }

    @Test("F32 export loads from anywhere with identical weights, layout and tokenizers")
    func exactExport() throws {
        let (source, folder) = try exported(.f32)
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent().deletingLastPathComponent()) }
        let loaded = try PolicyBundle.load(checkpoint: folder)
        #expect(Array(loaded.policy.model.params.buffer) == Array(source.policy.model.params.buffer))
        #expect(loaded.layout == source.layout && loaded.vocabulary == source.vocabulary)
        #expect(loaded.encoder.text.count == source.encoder.text.count && loaded.encoder.image.codeCount == source.encoder.image.codeCount)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("optimizer.safetensors").path))
    }

    @Test("BF16 export stores every weight rounded to bfloat16; a truncated weights file is an error naming it")
    func bf16Export() throws {
        let (source, folder) = try exported(.bf16)
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent().deletingLastPathComponent()) }
        let loaded = try PolicyBundle.load(checkpoint: folder)
        let rounded = source.policy.model.params.buffer.map { HalfFloat.float(bf16Bits: HalfFloat.bf16Bits($0)) }
        #expect(Array(loaded.policy.model.params.buffer) == rounded)
        let weights = folder.appendingPathComponent(Policy.weightsFileName)
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count - 10).write(to: weights)
        do {
            _ = try PolicyBundle.load(checkpoint: folder)
            Issue.record("a truncated model.safetensors loaded")
        } catch {
            #expect("\(error)".contains(Policy.weightsFileName), "\(error)")
        }
    }
}
