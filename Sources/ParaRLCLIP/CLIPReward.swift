// The ParaRL reward of DESIGN §3.5 (Eq. 4 of MMaDA-Parallel): ĉ = (c − μ_CLIP) / σ_CLIP, R = ½ (1 + clip(ĉ, −1, 1)),
// and the calibration that estimates μ_CLIP and σ_CLIP once, before training, on a random 1% of the training data.
import Foundation
import ParaRLCore
import ParaRLWorld

/// μ_CLIP and σ_CLIP with how they were measured; stored with the run as `clip_calibration.json`.
public struct CLIPCalibration: Codable, Sendable, Equatable {
    public static let fileName = "clip_calibration.json"
    public var mu: Double
    /// Population standard deviation of the calibration scores.
    public var sigma: Double
    public var count: Int
    public var source: String
    public var model: String
    public var seed: UInt64
    public var fraction: Double

    public init(mu: Double, sigma: Double, count: Int, source: String, model: String, seed: UInt64, fraction: Double) {
        self.mu = mu; self.sigma = sigma; self.count = count; self.source = source
        self.model = model; self.seed = seed; self.fraction = fraction
    }

    /// μ and the population σ of `scores`.
    public static func statistics(_ scores: [Float]) -> (mu: Double, sigma: Double) {
        guard !scores.isEmpty else { return (0, 0) }
        let n = Double(scores.count)
        let mu = scores.reduce(0.0) { $0 + Double($1) } / n
        let variance = scores.reduce(0.0) { $0 + (Double($1) - mu) * (Double($1) - mu) } / n
        return (mu, variance.squareRoot())
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try encoder.encode(self).write(to: url, options: .atomic) } catch {
            throw CLIPError.io(path: url.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    public static func read(from url: URL) throws -> CLIPCalibration {
        do { return try JSONDecoder().decode(CLIPCalibration.self, from: Data(contentsOf: url)) } catch {
            throw CLIPError.config(path: url.path, reason: "not a CLIP calibration: \(error)")
        }
    }

    /// Tasks in a `fraction` of `trainTasks` (at least one): the calibration subset's size for either source.
    public static func subsetSize(trainTasks: Int, fraction: Double) -> Int {
        max(1, Int((Double(trainTasks) * fraction).rounded()))
    }

    /// The calibration on reference pairs (`referencePairs`) drawn with `seed`, scored by `scorer`.
    public static func fromReferences(scorer: CLIPScorer, worldSeed: UInt64, trainTasks: Int, fraction: Double, seed: UInt64,
                                      model: String) throws -> CLIPCalibration {
        var rng = RandomStream(seed: seed).split("calibrate")
        let pairs = referencePairs(source: WorldTaskSource(seed: worldSeed), trainTasks: trainTasks, fraction: fraction, rng: &rng)
        let scores = try scorer.scores(texts: pairs.texts, images: pairs.images)
        let (mu, sigma) = statistics(scores)
        return CLIPCalibration(mu: mu, sigma: sigma, count: scores.count, source: "references", model: model, seed: seed,
                               fraction: fraction)
    }

    /// The reference pairs of a random `fraction` of the first `trainTasks` training tasks (at least one),
    /// drawn without replacement: each task's reasoning trace with its rendered target scene.
    public static func referencePairs(source: WorldTaskSource, trainTasks: Int, fraction: Double,
                                      rng: inout RandomStream) -> (texts: [String], images: [RGBImage]) {
        let count = subsetSize(trainTasks: trainTasks, fraction: fraction)
        var indices = Array(0..<trainTasks)
        rng.shuffle(&indices)
        let renderer = SceneRenderer(imageSize: 32)
        let tasks = indices.prefix(count).sorted().map(source.trainTask(index:))
        return (tasks.map(\.reasoning), tasks.map { renderer.render($0.targetScene) })
    }
}

/// R = ½ (1 + clip((c − μ) / σ, −1, 1)) ∈ [0, 1] (Eq. 4).
public struct CLIPReward: Sendable, Equatable {
    public var mu: Double
    public var sigma: Double

    public init(mu: Double, sigma: Double) { self.mu = mu; self.sigma = sigma }
    public init(_ calibration: CLIPCalibration) { self.init(mu: calibration.mu, sigma: calibration.sigma) }

    /// The reward of a raw CLIP score c = 100 · cos. A zero σ makes every score above μ 1, below 0, at μ ½.
    public func reward(score c: Double) -> Double {
        let normalised = sigma > 0 ? (c - mu) / sigma : (c > mu ? 1 : c < mu ? -1 : 0)
        return 0.5 * (1 + min(max(normalised, -1), 1))
    }
}
