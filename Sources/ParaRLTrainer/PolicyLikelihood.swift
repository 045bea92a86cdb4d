// Exact log-likelihoods of scored tokens on rebuilt states (docs/design.md §3.7): one sequence per (rollout, sampled
// step), batched; logits only at the scored positions over their modality's slice, log-softmax at temperature 1;
// and the backward of any per-token loss ℓ(l) through the restricted head and the transformer, reusing the
// SFT objective's kernels (MaskedCrossEntropy gives −l and the softmax; dℓ/dz = dℓ/dl · (onehot − p)).
import Foundation
import ParaRLCore
import ParaRLPolicy

/// One sequence of the update: a state and the output tokens whose log-likelihood is scored on it.
public struct ScoredState: Sendable, Equatable {
    public var tokens: [Int32]
    public var keyMask: [UInt8]
    /// Sequence positions (0..<length) of the scored tokens.
    public var positions: [Int]
    /// Their token ids (unified vocabulary).
    public var targets: [Int32]
    public var modalities: [Modality]

    public init(tokens: [Int32], keyMask: [UInt8], positions: [Int], targets: [Int32], modalities: [Modality]) {
        self.tokens = tokens; self.keyMask = keyMask; self.positions = positions; self.targets = targets
        self.modalities = modalities
    }
}

/// Forward (and backward) of log π over scored states in micro-batches of at most `batch` sequences.
public final class PolicyLikelihood {
    public let length: Int
    public let batch: Int
    let vocabulary: UnifiedVocabulary
    let config: TransformerConfig
    /// Activations per (micro-batch size, training), shared by every policy of this config (the trained one and the
    /// reference); forward-only passes (π_ref, log-probabilities without a gradient) use inference activations.
    var activations: [Int: TransformerActivations] = [:]

    public init(config: PolicyModelConfig, length: Int, batch: Int) throws {
        guard batch >= 1 else { throw TrainerError.invalidInput("the update micro-batch must be at least 1") }
        guard length <= config.maxSequenceLength else {
            throw TrainerError.invalidInput("sequence length \(length) exceeds max_sequence_length \(config.maxSequenceLength)")
        }
        guard let v = config.vocabulary else {
            throw TrainerError.invalidInput("the policy's config.json has no \"pararl\" vocabulary section")
        }
        self.length = length; self.batch = batch; vocabulary = v; self.config = config.transformer
    }

    func acts(_ b: Int, training: Bool) -> TransformerActivations {
        let key = 2 * b + (training ? 1 : 0)
        if let a = activations[key] { return a }
        let a = TransformerActivations(config: config, b: b, t: length, training: training)
        activations[key] = a
        return a
    }

    /// log π(target | state) for every scored token of every state (forward only), under `policy`.
    public func logProbs(_ states: [ScoredState], policy: Policy) throws -> [[Float]] {
        try run(states, policy: policy, gradient: nil)
    }

    /// Log-probabilities as `logProbs`; with `gradient`, which maps (state index, its log-probs) to dℓ/dl of each
    /// of its tokens, adds dℓ/dθ into `policy`'s gradient arena (clear it first).
    @discardableResult
    public func run(_ states: [ScoredState], policy: Policy, gradient: ((Int, [Float]) -> [Float])?) throws -> [[Float]] {
        let t = length, model = policy.model
        var out = [[Float]](repeating: [], count: states.count)
        for start in stride(from: 0, to: states.count, by: batch) {
            let end = min(start + batch, states.count), b = end - start
            var tokens = [Int32](), keyMask = [UInt8]()
            tokens.reserveCapacity(b * t); keyMask.reserveCapacity(b * t)
            // Per modality: head rows, slice columns of the targets, and (state, token) of each row.
            var rows: [Modality: [Int32]] = [:], columns: [Modality: [Int32]] = [:], owners: [Modality: [(Int, Int)]] = [:]
            for s in start..<end {
                let state = states[s]
                guard state.tokens.count == t, state.keyMask.count == t else {
                    throw TrainerError.invalidInput("state \(s) has \(state.tokens.count) tokens, the layout \(t)")
                }
                guard state.positions.count == state.targets.count, state.positions.count == state.modalities.count else {
                    throw TrainerError.invalidInput("state \(s): positions, targets and modalities differ in length")
                }
                tokens += state.tokens; keyMask += state.keyMask
                out[s] = Array(repeating: 0, count: state.positions.count)
                for (k, (p, target)) in zip(state.positions, state.targets).enumerated() {
                    let m = state.modalities[k]
                    guard (0..<t).contains(p) else { throw TrainerError.invalidInput("state \(s): position \(p) outside 0..<\(t)") }
                    guard let column = vocabulary.column(of: Int(target), in: m) else {
                        throw TrainerError.invalidInput("state \(s): token \(target) at position \(p) is not a \(m.rawValue) id")
                    }
                    rows[m, default: []].append(Int32((s - start) * t + p))
                    columns[m, default: []].append(Int32(column))
                    owners[m, default: []].append((s, k))
                }
            }
            let a = acts(b, training: gradient != nil)
            model.forward(tokens: tokens, keyMask: keyMask, acts: a)
            var heads: [(Modality, logits: [Float], probs: [Float], hidden: [Float])] = []
            for m in Modality.allCases {
                guard let r = rows[m], let c = columns[m], let o = owners[m], !r.isEmpty else { continue }
                let slice = vocabulary.slice(m), p = r.count, w = slice.count
                var logits = [Float](repeating: 0, count: p * w), probs = logits
                var hidden = [Float](repeating: 0, count: p * config.dModel)
                var negLogP = [Float](repeating: 0, count: p)
                let ones = [Float](repeating: 1, count: p)
                model.headForward(logits: &logits, hiddenRows: &hidden, rows: r, p: p, slice: slice, acts: a)
                MaskedCrossEntropy.forward(losses: &negLogP, probs: &probs, logits: logits, targets: c, weights: ones, p: p, w: w)
                for (row, (s, k)) in o.enumerated() { out[s][k] = -negLogP[row] }
                heads.append((m, logits, probs, hidden))
            }
            guard let gradient else { continue }
            var dl: [[Float]] = []
            for s in start..<end {
                let d = gradient(s, out[s])
                guard d.count == out[s].count else {
                    throw TrainerError.invalidInput("gradient of state \(s) has \(d.count) entries for \(out[s].count) tokens")
                }
                dl.append(d)
            }
            var accumulate = false
            for (m, _, probs, hidden) in heads {
                guard let r = rows[m], let c = columns[m], let o = owners[m] else { continue }
                let slice = vocabulary.slice(m), p = r.count, w = slice.count
                // MaskedCrossEntropy.backward adds weight·(p − onehot) = −weight · dl/dz; weight = −dℓ/dl gives dℓ/dz.
                let weights = o.map { -dl[$0.0 - start][$0.1] }
                guard weights.contains(where: { $0 != 0 }) else { continue }
                var dlogits = [Float](repeating: 0, count: p * w)
                MaskedCrossEntropy.backward(dlogits: &dlogits, probs: probs, targets: c, weights: weights, dloss: 1, p: p, w: w)
                model.headBackward(dlogits: dlogits, hiddenRows: hidden, rows: r, p: p, slice: slice, acts: a, accumulate: accumulate)
                accumulate = true
            }
            if accumulate { model.backward(tokens: tokens, acts: a) }
        }
        return out
    }
}
