// SFT data sources: a dataset JSONL is encoded once, the last records are held out, and every epoch visits
// each training record once in a seeded order; world samples depend only on their index.
import Foundation
import Testing
import ParaRLCore
import ParaRLMedia
import ParaRLWorld
import ParaRLPolicy
@testable import ParaRLSFT

@Suite("Policy SFT data")
struct SFTDataTests {
    @Test("JSONL: held-out tail, one visit per record per epoch, order fixed by the seed")
    func dataset() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sft-data-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let world = WorldTaskSource(seed: 0)
        let url = try WorldDataset.write(world.trainTasks(0..<6), name: "train", to: dir)
        let (source, _) = try SFTTrainerTests.source()
        let data = try DatasetSampleSource.load(data: url, evalData: nil, evalCount: 2, encoder: source.encoder, seed: 1)
        #expect(data.train.count == 4 && data.eval.map(\.id) == ["train-000004", "train-000005"])
        let epoch0 = try (0..<4).map { try data.trainSample(index: $0).id }
        let epoch1 = try (4..<8).map { try data.trainSample(index: $0).id }
        #expect(Set(epoch0) == Set(data.train.map(\.id)) && Set(epoch1) == Set(epoch0))
        let again = try DatasetSampleSource.load(data: url, evalData: nil, evalCount: 2, encoder: source.encoder, seed: 1)
        #expect(try (0..<8).map { try again.trainSample(index: $0).id } == epoch0 + epoch1)
        // The record's tokens equal the world sample's (same tokenizers, same images).
        #expect(try data.trainSample(index: 0).outputImage == (try source.trainSample(index: Int(epoch0[0].dropFirst(6)) ?? -1)).outputImage)
    }

    @Test("a dataset image of the wrong size is an error naming the file, the line and the field")
    func wrongImageSize() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sft-data-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let world = WorldTaskSource(seed: 0)
        let url = try WorldDataset.write(world.trainTasks(0..<3), name: "train", to: dir)
        // The second record's output image rendered at 64×64 instead of the tokenizer's size.
        let records = try WorldDataset.load(url)
        try PNGCodec.write(SceneRenderer(imageSize: 64).render(records[1].targetScene!), to: records[1].outputImage)
        let (source, _) = try SFTTrainerTests.source()
        do {
            _ = try DatasetSampleSource.load(data: url, evalData: nil, evalCount: 1, encoder: source.encoder, seed: 1)
            Issue.record("a 64×64 image was accepted")
        } catch {
            #expect("\(error)".hasPrefix("\(url.path):2: field \"output_image\""), "\(error)")
            #expect("\(error)".contains("64"), "\(error)")
        }
    }

    @Test("a symbolic-link loop is reported as one, not as a missing file")
    func symlinkLoop() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sft-loop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.yaml"), b = dir.appendingPathComponent("b.yaml")
        try FileManager.default.createSymbolicLink(atPath: a.path, withDestinationPath: b.path)
        try FileManager.default.createSymbolicLink(atPath: b.path, withDestinationPath: a.path)
        do {
            _ = try SFTConfig.load(a)
            Issue.record("a symlink loop loaded")
        } catch {
            #expect("\(error)".contains("symbolic-link loop") && "\(error)".contains(a.path), "\(error)")
        }
    }
}
