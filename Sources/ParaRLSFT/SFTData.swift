// Where SFT samples come from: the built-in world (tasks generated on the fly, sample i = train task i) or
// a dataset JSONL (sample i = record perm_e[i mod n] of epoch e = i / n, the permutation seeded per epoch),
// so the data position is one integer and resuming needs nothing else.
import Foundation
import ParaRLCore
import ParaRLPolicy
import ParaRLRunKit
import ParaRLWorld

public protocol SFTSampleSource: Sendable {
    /// Training sample number `index` (0, 1, 2, … across epochs).
    func trainSample(index: Int) throws -> PolicySample
    /// The fixed held-out samples.
    func evalSamples(count: Int) throws -> [PolicySample]
}

/// The built-in world: training task i of `WorldTaskSource(seed:)`, held-out samples spread evenly over its
/// fixed evaluation split (all categories).
public struct WorldSampleSource: SFTSampleSource {
    public let world: WorldTaskSource
    public let encoder: SampleEncoder
    let renderer: SceneRenderer

    public init(seed: UInt64, encoder: SampleEncoder) {
        world = WorldTaskSource(seed: seed)
        self.encoder = encoder
        renderer = SceneRenderer(imageSize: encoder.image.imageWidth)
    }

    public func trainSample(index: Int) throws -> PolicySample {
        try encoder.sample(world.trainTask(index: index), renderer: renderer)
    }

    public func evalSamples(count: Int) throws -> [PolicySample] {
        let all = world.evalTasks, n = min(count, all.count)
        return try (0..<n).map { try encoder.sample(all[$0 * all.count / n], renderer: renderer) }
    }
}

/// A dataset JSONL, encoded once; held-out records from `evalRecords` or the last records of the file.
public struct DatasetSampleSource: SFTSampleSource {
    public let train: [PolicySample]
    public let eval: [PolicySample]
    let orderStream: RandomStream

    public init(train: [PolicySample], eval: [PolicySample], seed: UInt64) throws {
        guard !train.isEmpty else { throw ParaRLError.invalidInput("the training data has no records") }
        guard !eval.isEmpty else { throw ParaRLError.invalidInput("the held-out data has no records") }
        self.train = train
        self.eval = eval
        orderStream = RandomStream(seed: seed).split("data-order")
    }

    /// Loads `data` (and `evalData`, else holds out the last `evalCount` records of `data`).
    public static func load(data: URL, evalData: URL?, evalCount: Int, encoder: SampleEncoder, seed: UInt64) throws -> DatasetSampleSource {
        let records = try WorldDataset.load(data, schema: .dataset, checkImages: false).map(encoder.sample)
        if let evalData {
            return try DatasetSampleSource(train: records, eval: try WorldDataset.load(evalData).map(encoder.sample), seed: seed)
        }
        guard records.count > evalCount else {
            throw ParaRLError.invalidInput("\(data.path): \(records.count) records cannot hold out \(evalCount) for evaluation")
        }
        return try DatasetSampleSource(train: Array(records.dropLast(evalCount)), eval: Array(records.suffix(evalCount)), seed: seed)
    }

    public func trainSample(index: Int) throws -> PolicySample {
        let n = train.count
        var rng = orderStream.split(index / n)
        return train[rng.permutation(n)[index % n]]
    }

    public func evalSamples(count: Int) throws -> [PolicySample] { Array(eval.prefix(count)) }
}
