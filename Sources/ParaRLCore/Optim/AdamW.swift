// AdamW over one flat parameter buffer, as torch.optim.AdamW (torch 2.x single-tensor path): decoupled
// weight decay p ← p·(1 − lr·wd), then the bias-corrected Adam step with eps added to √v̂.
import Foundation

/// A contiguous range of the flat parameter buffer with its own weight decay (torch's parameter groups);
/// norm weights and embeddings commonly get 0.
public struct ParameterGroup: Sendable, Equatable {
    public var range: Range<Int>
    public var weightDecay: Double
    public init(_ range: Range<Int>, weightDecay: Double) {
        self.range = range
        self.weightDecay = weightDecay
    }
}

public enum OptimizerError: Error, Equatable, CustomStringConvertible {
    case invalidHyperparameter(name: String, value: Double)
    case groupOutOfBounds(Range<Int>, parameterCount: Int)
    case overlappingGroups(Range<Int>, Range<Int>)
    case missingStateTensor(String)
    case unexpectedStateTensor(String)
    case duplicateStateTensor(String)
    case stateSizeMismatch(name: String, expected: Int, got: Int)
    case invalidStep(Double)

    public var description: String {
        switch self {
        case let .invalidHyperparameter(name, value): "AdamW: invalid \(name) \(value)"
        case let .groupOutOfBounds(r, n): "AdamW: parameter group \(r) is outside 0..<\(n)"
        case let .overlappingGroups(a, b): "AdamW: parameter groups \(a) and \(b) overlap"
        case let .missingStateTensor(name): "AdamW state: tensor \"\(name)\" is missing"
        case let .unexpectedStateTensor(name): "AdamW state: unexpected tensor \"\(name)\""
        case let .duplicateStateTensor(name): "AdamW state: tensor \"\(name)\" appears twice"
        case let .stateSizeMismatch(name, expected, got):
            "AdamW state: tensor \"\(name)\" has \(got) values, expected \(expected)"
        case let .invalidStep(v): "AdamW state: step \(v) is not a non-negative integer"
        }
    }
}

/// The optimiser state of a checkpoint, keyed as torch's `optimizer.state_dict()` spells it.
public struct AdamWState: Codable, Equatable, Sendable {
    public var step: Int
    public var expAvg: [Float]
    public var expAvgSq: [Float]
    enum CodingKeys: String, CodingKey {
        case step, expAvg = "exp_avg", expAvgSq = "exp_avg_sq"
    }
    public init(step: Int, expAvg: [Float], expAvgSq: [Float]) {
        self.step = step
        self.expAvg = expAvg
        self.expAvgSq = expAvgSq
    }
}

public final class AdamW {
    public let parameterCount: Int
    public let beta1: Double, beta2: Double, eps: Double
    /// Contiguous segments covering 0..<parameterCount in order, each with its weight decay.
    public let segments: [ParameterGroup]
    /// Completed steps (torch's `state["step"]`); bias correction uses the count after increment.
    public private(set) var step = 0
    /// exp_avg (m) and exp_avg_sq (v), one slice each.
    private let moments: Arena

    /// Defaults are torch.optim.AdamW's: betas (0.9, 0.999), eps 1e-8, weight decay 0.01.
    /// `groups` override `weightDecay` on their ranges; they must lie inside the buffer and not overlap.
    public init(parameterCount: Int, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8,
                weightDecay: Double = 0.01, groups: [ParameterGroup] = []) throws {
        for (name, value, ok) in [("beta1", beta1, (0..<1).contains(beta1)), ("beta2", beta2, (0..<1).contains(beta2)),
                                  ("eps", eps, eps >= 0 && eps.isFinite),
                                  ("weight_decay", weightDecay, weightDecay >= 0 && weightDecay.isFinite)] where !ok {
            throw OptimizerError.invalidHyperparameter(name: name, value: value)
        }
        let sorted = groups.sorted { $0.range.lowerBound < $1.range.lowerBound }
        var segments: [ParameterGroup] = [], cursor = 0
        for g in sorted {
            guard g.range.lowerBound >= 0, g.range.upperBound <= parameterCount else {
                throw OptimizerError.groupOutOfBounds(g.range, parameterCount: parameterCount)
            }
            guard g.weightDecay >= 0, g.weightDecay.isFinite else {
                throw OptimizerError.invalidHyperparameter(name: "weight_decay", value: g.weightDecay)
            }
            if let last = segments.last, last.range.upperBound > g.range.lowerBound, !last.range.isEmpty, !g.range.isEmpty {
                throw OptimizerError.overlappingGroups(last.range, g.range)
            }
            if g.range.isEmpty { continue }
            if cursor < g.range.lowerBound { segments.append(ParameterGroup(cursor..<g.range.lowerBound, weightDecay: weightDecay)) }
            segments.append(g)
            cursor = g.range.upperBound
        }
        if cursor < parameterCount { segments.append(ParameterGroup(cursor..<parameterCount, weightDecay: weightDecay)) }
        self.parameterCount = parameterCount
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.segments = segments
        moments = Arena(ArenaLayout([("exp_avg", [parameterCount]), ("exp_avg_sq", [parameterCount])]))
    }

    /// One AdamW step at learning rate `lr`; `gradients` are only read. Scalars are formed in Double and
    /// rounded to Float as torch does; the element loop runs in fixed chunks, so results are deterministic.
    public func step(parameters: UnsafeMutableBufferPointer<Float>, gradients: UnsafeMutableBufferPointer<Float>,
                     lr: Double) {
        precondition(parameters.count == parameterCount && gradients.count == parameterCount,
                     "AdamW over \(parameterCount) values got \(parameters.count) parameters, \(gradients.count) gradients")
        step += 1
        guard parameterCount > 0, let p = parameters.baseAddress, let g = gradients.baseAddress else { return }
        let t = Double(step)
        let biasCorrection1 = 1 - pow(beta1, t), biasCorrection2 = 1 - pow(beta2, t)
        let negStepSize = Float(-(lr / biasCorrection1))
        let bc2Sqrt = Float(pow(biasCorrection2, 0.5))
        let lerpWeight = Float(1 - beta1), b2 = Float(beta2), oneMinusB2 = Float(1 - beta2), epsF = Float(eps)
        let decay = segments.map { Float(1 - lr * $0.weightDecay) }
        let m = moments["exp_avg"], v = moments["exp_avg_sq"]
        let segments = self.segments
        Parallel.chunks(parameterCount, minChunk: 1 << 14) { chunk in
            for (s, segment) in segments.enumerated() {
                let lo = max(chunk.lowerBound, segment.range.lowerBound), hi = min(chunk.upperBound, segment.range.upperBound)
                guard lo < hi else { continue }
                let keep = decay[s]  // exactly 1 when wd = 0, where torch skips the multiply
                for i in lo..<hi {
                    let gi = g[i], pi = p[i] * keep                             // p.mul_(1 − lr·wd)
                    let mi = m[i].addingProduct(lerpWeight, gi - m[i])          // m.lerp_(g, 1 − β1) (fused, as torch's vector path)
                    let vi = v[i] * b2 + oneMinusB2 * gi * gi                   // v.mul_(β2).addcmul_(g, g, 1 − β2)
                    let denom = vi.squareRoot() / bc2Sqrt + epsF                // √v / √(1 − β2^t) + eps
                    p[i] = pi + negStepSize * mi / denom                        // p.addcdiv_(m, denom, −lr/(1 − β1^t))
                    m[i] = mi
                    v[i] = vi
                }
            }
        }
    }

    // MARK: Checkpoint state

    public var state: AdamWState {
        AdamWState(step: step, expAvg: Array(UnsafeBufferPointer(start: moments["exp_avg"], count: parameterCount)),
                   expAvgSq: Array(UnsafeBufferPointer(start: moments["exp_avg_sq"], count: parameterCount)))
    }

    /// Replaces the state; sizes must match this optimiser's parameter count.
    public func restore(_ state: AdamWState) throws {
        guard state.step >= 0 else { throw OptimizerError.invalidStep(Double(state.step)) }
        for (name, values) in [("exp_avg", state.expAvg), ("exp_avg_sq", state.expAvgSq)] {
            guard values.count == parameterCount else {
                throw OptimizerError.stateSizeMismatch(name: name, expected: parameterCount, got: values.count)
            }
        }
        for (name, values) in [("exp_avg", state.expAvg), ("exp_avg_sq", state.expAvgSq)] {
            values.withUnsafeBufferPointer { src in
                if let base = src.baseAddress { moments[name].update(from: base, count: parameterCount) }
            }
        }
        step = state.step
    }

    /// The state as raw tensors for a checkpoint: "exp_avg", "exp_avg_sq" (parameterCount values each) and
    /// "step" (one value; a Float holds every step count below 2²⁴ exactly, as torch's float step tensor).
    public func stateTensors() -> [(name: String, values: [Float])] {
        let s = state
        return [("exp_avg", s.expAvg), ("exp_avg_sq", s.expAvgSq), ("step", [Float(s.step)])]
    }

    /// Restores from `stateTensors()` output; missing, unexpected or wrongly sized tensors are errors.
    public func restoreState(tensors: [(name: String, values: [Float])]) throws {
        var byName: [String: [Float]] = [:]
        for (name, values) in tensors {
            guard ["exp_avg", "exp_avg_sq", "step"].contains(name) else { throw OptimizerError.unexpectedStateTensor(name) }
            guard byName[name] == nil else { throw OptimizerError.duplicateStateTensor(name) }
            byName[name] = values
        }
        guard let expAvg = byName["exp_avg"] else { throw OptimizerError.missingStateTensor("exp_avg") }
        guard let expAvgSq = byName["exp_avg_sq"] else { throw OptimizerError.missingStateTensor("exp_avg_sq") }
        guard let stepValues = byName["step"] else { throw OptimizerError.missingStateTensor("step") }
        guard stepValues.count == 1 else { throw OptimizerError.stateSizeMismatch(name: "step", expected: 1, got: stepValues.count) }
        let s = Double(stepValues[0])
        guard s.isFinite, s >= 0, s == s.rounded(), s < 0x1p24 else { throw OptimizerError.invalidStep(s) }
        try restore(AdamWState(step: Int(s), expAvg: expAvg, expAvgSq: expAvgSq))
    }
}
