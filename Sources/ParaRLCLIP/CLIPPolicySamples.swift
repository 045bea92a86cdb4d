// Agreement training data and loss for the world CLIP (`policy_samples:` of `pararl clip train`): a policy's own
// (partial text, partial image) pairs with their exact world reward s ∈ [0, 100] (`pararl clip samples`), grouped by
// (task, t) — the rollouts a group advantage compares. The loss asks the cosine of each pair for a target linear in s,
// cos* = low + (high − low) · s / 100, and, weighted separately, for the within-group differences of the targets:
//   L = w · [ mean_i (cos_i − cos*_i)² + λ · mean_i ((cos_i − mean_g cos) − (cos*_i − mean_g cos*))² ]
// so the CLIP learns both the absolute level (pooled agreement) and the order inside a group (what GRPO uses).
import Foundation
import ParaRLCore
import ParaRLMedia
import ParaRLRunKit

/// The pairs of `pararl clip samples`, grouped by (task, t).
public struct CLIPPolicySamples: Sendable {
    public struct Pair: Sendable {
        public var text: String
        public var image: RGBImage
        public var score: Double
    }
    /// Groups of pairs that share a task and a step t (the rollouts of one prompt at one state).
    public var groups: [[Pair]]

    struct Line: Decodable { var group: Int, t: Int, rollout: Int, text: String, image: String, score: Double }

    /// Reads a JSONL file of `pararl clip samples`; a bad line is an error naming the file and the line.
    public static func load(_ url: URL) throws -> CLIPPolicySamples {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ParaRLError.io(path: url.path, reason: "cannot read the policy samples: \(error.localizedDescription)")
        }
        var byKey: [Int: [Int: [Pair]]] = [:]
        var order: [(Int, Int)] = []
        let decoder = JSONDecoder()
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let where_ = "\(url.path):\(n + 1)"
            guard let parsed = try? decoder.decode(Line.self, from: Data(line.utf8)) else {
                throw ParaRLError.invalidInput("\(where_): not a policy sample line (group, t, rollout, text, image, score)")
            }
            guard parsed.score.isFinite, (0...100).contains(parsed.score) else {
                throw ParaRLError.invalidInput("\(where_): score \(parsed.score) is outside 0…100")
            }
            guard let png = Data(base64Encoded: parsed.image) else { throw ParaRLError.invalidInput("\(where_): image is not base64") }
            let image = try PNGCodec.decode(png, path: where_)
            if byKey[parsed.group]?[parsed.t] == nil { order.append((parsed.group, parsed.t)) }
            byKey[parsed.group, default: [:]][parsed.t, default: []].append(Pair(text: parsed.text, image: image, score: parsed.score))
        }
        let groups = order.compactMap { byKey[$0.0]?[$0.1] }
        guard !groups.isEmpty else { throw ParaRLError.invalidInput("\(url.path): no policy samples") }
        return CLIPPolicySamples(groups: groups)
    }
}

/// The agreement loss of the header on the matched pairs (text_i, image_i) of `groups` (ranges of rows).
public enum CLIPScoreRegression {
    public struct Result {
        public var loss: Double
        /// Gradients of the unnormalised text and image features [N, P].
        public var dText: [Float], dImage: [Float]
    }

    /// `text`, `image` [N, P] unnormalised features; `targets[i]` = cos*_i; `groups` partition 0..<N.
    public static func evaluate(text: [Float], image: [Float], p: Int, targets: [Double], groups: [Range<Int>],
                                weight: Double, withinWeight: Double) -> Result {
        let n = targets.count
        let tn = CLIPScoring.normalised(text, dim: p), vn = CLIPScoring.normalised(image, dim: p)
        var cos = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var dot: Float = 0
            for d in 0..<p { dot += tn[i * p + d] * vn[i * p + d] }
            cos[i] = Double(dot)
        }
        var loss = 0.0
        var dcos = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let e = cos[i] - targets[i]
            loss += weight * e * e / Double(n)
            dcos[i] += weight * 2 * e / Double(n)
        }
        for g in groups where !g.isEmpty {
            let mc = g.reduce(0.0) { $0 + cos[$1] } / Double(g.count), mt = g.reduce(0.0) { $0 + targets[$1] } / Double(g.count)
            for i in g {
                // d/dcos_i Σ_j e_j² = 2 e_i − (2/K) Σ_j e_j = 2 e_i, as Σ_j e_j = 0.
                let e = (cos[i] - mc) - (targets[i] - mt)
                loss += weight * withinWeight * e * e / Double(n)
                dcos[i] += weight * withinWeight * 2 * e / Double(n)
            }
        }
        var dtn = [Float](repeating: 0, count: n * p), dvn = [Float](repeating: 0, count: n * p)
        for i in 0..<n {
            let g = Float(dcos[i])
            for d in 0..<p {
                dtn[i * p + d] = g * vn[i * p + d]
                dvn[i * p + d] = g * tn[i * p + d]
            }
        }
        return Result(loss: loss, dText: CLIPContrastiveLoss.normaliseBackward(dtn, x: text, xn: tn, p: p),
                      dImage: CLIPContrastiveLoss.normaliseBackward(dvn, x: image, xn: vn, p: p))
    }
}
