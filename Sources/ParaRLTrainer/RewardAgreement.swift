// How well a reward agrees with a judge: average ranks, Spearman's ρ and pair concordance, and their summary for one
// judge axis over tasks × rollouts (pooled ρ, mean within-task ρ, within-task concordance). Pure statistics in Double;
// an undefined statistic (constant side, too few values, no judge-distinct pair) is nil, never NaN.
import Foundation

/// Rank statistics comparing a reward `x` with a judge `y`; unequal lengths use the common prefix (zip).
public enum RewardAgreement {
    /// Average ranks (1-based) with ties sharing their mean rank: a run of equal values at sorted positions
    /// s+1 … e gets (s + 1 + e) / 2 each. NaN sorts above every number and ties with NaN.
    public static func ranks(_ x: [Double]) -> [Double] {
        let order = x.indices.sorted { compare(x[$0], x[$1]) < 0 }
        var result = [Double](repeating: 0, count: x.count)
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && compare(x[order[end]], x[order[start]]) == 0 { end += 1 }
            // Sorted positions start..<end (0-based) hold ranks start+1 … end; their mean is (start + 1 + end) / 2.
            let mean = Double(start + 1 + end) / 2
            for k in start..<end { result[order[k]] = mean }
            start = end
        }
        return result
    }

    /// Spearman's ρ: Pearson correlation of the average ranks, ρ = Σ dx·dy / √(Σ dx² · Σ dy²) with d = rank − (n+1)/2
    /// (the mean of average ranks), clamped to [−1, 1]; nil when fewer than 2 values or when either side is constant
    /// (no ranking to agree with).
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double? {
        let n = min(x.count, y.count)
        guard n >= 2 else { return nil }
        let rx = ranks(Array(x.prefix(n))), ry = ranks(Array(y.prefix(n)))
        let mean = Double(n + 1) / 2
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(rx, ry) {
            let dx = a - mean, dy = b - mean
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy
        }
        guard sxx > 0, syy > 0 else { return nil }
        return min(1, max(-1, sxy / (sxx * syy).squareRoot()))
    }

    /// Pair concordance over all pairs i<j with y_i != y_j: share of those pairs with sign(x_i - x_j) == sign(y_i - y_j);
    /// a tie in x (x_i == x_j) counts 1/2. share = (concordant + ½·x-ties) / pairs; nil when no pair has y_i != y_j.
    public static func concordance(_ x: [Double], _ y: [Double]) -> (share: Double, pairs: Int)? {
        let c = concordanceCounts(x, y)
        guard c.pairs > 0 else { return nil }
        return (Double(c.halves) / Double(2 * c.pairs), c.pairs)
    }

    /// Concordance in half-pair units: halves = 2·concordant + x-ties over the `pairs` pairs i<j with y_i != y_j.
    static func concordanceCounts(_ x: [Double], _ y: [Double]) -> (halves: Int, pairs: Int) {
        let n = min(x.count, y.count)
        var halves = 0, pairs = 0
        for i in 0..<n {
            for j in (i + 1)..<n {
                let sy = compare(y[i], y[j])
                guard sy != 0 else { continue }
                pairs += 1
                let sx = compare(x[i], x[j])
                if sx == 0 { halves += 1 } else if sx == sy { halves += 2 }
            }
        }
        return (halves, pairs)
    }

    /// sign(a − b) as −1, 0 or 1 under the order of `ranks` (NaN above every number, NaN ties with NaN).
    static func compare(_ a: Double, _ b: Double) -> Int {
        if a == b || (a.isNaN && b.isNaN) { return 0 }
        if b.isNaN || a < b { return -1 }
        return 1
    }
}

/// Agreement of a reward with one judge axis over tasks × rollouts.
public struct AxisAgreement: Codable, Sendable, Equatable {
    /// Spearman ρ over every (task, rollout) pooled; nil if undefined.
    public var pooledSpearman: Double?
    /// Mean over tasks of the within-task Spearman ρ among its K rollouts, (1/|T|) Σ_{t∈T} ρ_t (tasks where it is
    /// undefined — constant reward or constant judge, or K < 2 — are left out of T); nil if no task has one.
    public var withinTaskSpearman: Double?
    /// Tasks that entered withinTaskSpearman (|T|).
    public var withinTaskCount: Int
    /// Within-task pair concordance pooled over all tasks' pairs, Σ_t (concordant_t + ½·reward-ties_t) / Σ_t pairs_t
    /// (pairs with equal judge values excluded; reward ties count 1/2); nil if no such pair.
    public var concordance: Double?
    /// Pairs that entered concordance (Σ_t pairs_t).
    public var concordantPairs: Int

    /// `reward[task][rollout]` and `judge[task][rollout]` (same shape; tasks may have different K ≥ 1); extra tasks
    /// or rollouts on either side are ignored (zip).
    public init(reward: [[Double]], judge: [[Double]]) {
        var pooledReward: [Double] = [], pooledJudge: [Double] = []
        var rhoSum = 0.0, rhoCount = 0, halves = 0, pairs = 0
        for (r, j) in zip(reward, judge) {
            let k = min(r.count, j.count)
            let rt = Array(r.prefix(k)), jt = Array(j.prefix(k))
            pooledReward += rt; pooledJudge += jt
            if let rho = RewardAgreement.spearman(rt, jt) { rhoSum += rho; rhoCount += 1 }
            let c = RewardAgreement.concordanceCounts(rt, jt)
            halves += c.halves; pairs += c.pairs
        }
        pooledSpearman = RewardAgreement.spearman(pooledReward, pooledJudge)
        withinTaskSpearman = rhoCount > 0 ? rhoSum / Double(rhoCount) : nil
        withinTaskCount = rhoCount
        concordance = pairs > 0 ? Double(halves) / Double(2 * pairs) : nil
        concordantPairs = pairs
    }
}
