// What every training loop shares besides checkpoints: the optimiser settings and their parameter groups, the
// ranks' shares of a batch, rank 0's state on every rank, the progress rate, and the test hook's failure.
import Foundation
import ParaRLCore
import ParaRLDistributed

/// AdamW on a warm-up + cosine schedule with global-norm clipping: the keys every run config spells the same way
/// (`lr`, `warmup_steps`, `min_lr_ratio`, `beta1`, `beta2`, `adam_eps`, `weight_decay`, `decay_norm_weights`,
/// `grad_clip`).
public struct OptimizerSettings: Sendable, Equatable {
    public var lr: Double, warmupSteps: Int, minLRRatio: Double
    public var beta1: Double, beta2: Double, adamEps: Double, weightDecay: Double
    /// Apply weight decay also to norm weights (the rank-1 tensors).
    public var decayNormWeights: Bool
    public var gradClip: Double

    public init(lr: Double, warmupSteps: Int, minLRRatio: Double, beta1: Double, beta2: Double, adamEps: Double,
                weightDecay: Double, decayNormWeights: Bool, gradClip: Double) {
        self.lr = lr; self.warmupSteps = warmupSteps; self.minLRRatio = minLRRatio; self.beta1 = beta1; self.beta2 = beta2
        self.adamEps = adamEps; self.weightDecay = weightDecay; self.decayNormWeights = decayNormWeights; self.gradClip = gradClip
    }

    /// The first key AdamW would refuse and why (nil when every value is valid): configs check it before a run
    /// folder exists, so the error names the user's file and key.
    public var problem: (key: String, reason: String)? {
        if !(0..<1).contains(beta1) { return ("beta1", "must be in [0, 1), got \(beta1)") }
        if !(0..<1).contains(beta2) { return ("beta2", "must be in [0, 1), got \(beta2)") }
        if !(adamEps >= 0 && adamEps.isFinite) { return ("adam_eps", "must be finite and non-negative, got \(adamEps)") }
        if !(weightDecay >= 0 && weightDecay.isFinite) { return ("weight_decay", "must be finite and non-negative, got \(weightDecay)") }
        return nil
    }

    /// AdamW over `parameters`, norm weights (rank-1 tensors) without decay unless `decayNormWeights`.
    public func adamW(parameters: Arena) throws -> AdamW {
        let groups = decayNormWeights ? [] : parameters.layout.entries.filter { $0.shape.count == 1 }.map {
            ParameterGroup($0.offset..<($0.offset + $0.count), weightDecay: 0)
        }
        return try AdamW(parameterCount: parameters.count, beta1: beta1, beta2: beta2, eps: adamEps,
                         weightDecay: weightDecay, groups: groups)
    }
}

public enum RankShare {
    /// Rank `r` of `ranks` takes items [⌊r·n/N⌋, ⌊(r+1)·n/N⌋) of every n (samples of a batch, groups of a step).
    public static func range(of count: Int, rank: Int, ranks: Int) -> Range<Int> {
        (rank * count / ranks)..<((rank + 1) * count / ranks)
    }
}

public enum RootSync {
    /// Rank 0's parameters, trainer state and (with `optimizerToo`) AdamW moments on every rank.
    public static func synchronise(parameters: Arena, optimizer: AdamW, state: inout TrainerState, optimizerToo: Bool,
                                   communicator: any Communicator) throws {
        try communicator.broadcast(parameters.buffer, root: 0)
        var encoded = communicator.isRoot ? try JSONEncoder().encode(state) : Data()
        try communicator.broadcast(&encoded, root: 0)
        do {
            state = try JSONDecoder().decode(TrainerState.self, from: encoded)
        } catch {
            throw ParaRLError.invalidInput("rank \(communicator.rank): the trainer state broadcast by rank 0 does not decode: \(error)")
        }
        guard optimizerToo else { return }
        var moments = optimizer.state
        try communicator.broadcast(&moments.expAvg, root: 0)
        try communicator.broadcast(&moments.expAvgSq, root: 0)
        var step = [Double(moments.step)]
        try communicator.broadcast(&step, root: 0)
        moments.step = Int(step[0])
        try optimizer.restore(moments)
    }
}

/// Steps per second of this process since a start, and the seconds left at that rate.
public struct Throughput: Sendable {
    public let start: Date
    public let firstStep: Int
    public init(start: Date = Date(), firstStep: Int) { self.start = start; self.firstStep = firstStep }

    public func rate(step: Int) -> Double { Double(step - firstStep) / max(Date().timeIntervalSince(start), 1e-9) }

    public func eta(step: Int, of total: Int) -> Double { Double(total - step) / max(rate(step: step), 1e-9) }
}

/// A failure injected by the `PARARL_TEST_FAIL=rank:step` test hook in the middle of a step, after the backward pass.
public struct InjectedFailure: Error, CustomStringConvertible, Equatable {
    public var step: Int
    public init(step: Int) { self.step = step }
    public var description: String { "injected failure at step \(step) (test hook PARARL_TEST_FAIL)" }
}
