// Reward–judge agreement statistics on hand-made cases: average ranks with ties, Spearman's ρ (ties, constant sides,
// K = 2), pair concordance (reward ties count ½, judge ties excluded) and the per-axis summary over tasks × rollouts.
import Testing
@testable import ParaRLTrainer
import Foundation

@Suite("Reward agreement")
struct RewardAgreementTests {
    /// `a` is defined and within 1e-12 of `b`.
    func close(_ a: Double?, _ b: Double) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= 1e-12
    }

    /// `a` is nil or a number, never NaN.
    func notNaN(_ a: Double?) -> Bool { !(a?.isNaN ?? false) }

    @Test("ranks are 1-based and ties share their mean rank")
    func ranks() {
        #expect(RewardAgreement.ranks([10, 20, 20, 30]) == [1, 2.5, 2.5, 4])
        #expect(RewardAgreement.ranks([3, 1, 2]) == [3, 1, 2])
        #expect(RewardAgreement.ranks([7, 7, 7]) == [2, 2, 2])
        #expect(RewardAgreement.ranks([]) == [])
    }

    @Test("Spearman: same order 1, reversed −1, K = 2")
    func spearmanOrders() {
        #expect(close(RewardAgreement.spearman([1, 2, 3, 4, 5], [10, 20, 30, 40, 50]), 1))
        #expect(close(RewardAgreement.spearman([1, 2, 3, 4, 5], [0.5, 0.4, 0.3, 0.2, 0.1]), -1))
        // Monotone but non-linear: ranks are identical.
        #expect(close(RewardAgreement.spearman([1, 2, 3, 4], [1, 8, 27, 1000]), 1))
        #expect(close(RewardAgreement.spearman([1, 2], [3, 4]), 1))
        #expect(close(RewardAgreement.spearman([1, 2], [4, 3]), -1))
    }

    @Test("Spearman with ties is the Pearson correlation of average ranks")
    func spearmanTies() {
        // x = [1,2,2,3] → ranks [1,2.5,2.5,4]; y = [1,3,2,4] → ranks [1,3,2,4]; mean rank 2.5.
        // dx = [−1.5,0,0,1.5], dy = [−1.5,0.5,−0.5,1.5]: Σdx·dy = 4.5, Σdx² = 4.5, Σdy² = 5.
        // ρ = 4.5 / √(4.5·5) = √(4.5/5) = √0.9 ≈ 0.9486832980505138.
        let rho = RewardAgreement.spearman([1, 2, 2, 3], [1, 3, 2, 4])
        #expect(close(rho, 0.9.squareRoot()))
        #expect(close(rho, 0.9486832980505138))
        // Swapping sides gives the same ρ.
        #expect(close(RewardAgreement.spearman([1, 3, 2, 4], [1, 2, 2, 3]), 0.9.squareRoot()))
    }

    @Test("Spearman is nil for a constant side or fewer than 2 values; unequal lengths use the common prefix")
    func spearmanUndefined() {
        #expect(RewardAgreement.spearman([2, 2, 2], [1, 2, 3]) == nil)
        #expect(RewardAgreement.spearman([1, 2, 3], [5, 5, 5]) == nil)
        #expect(RewardAgreement.spearman([1], [1]) == nil)
        #expect(RewardAgreement.spearman([], []) == nil)
        // zip: [1,2,3] vs [1,2] compares [1,2] with [1,2].
        #expect(close(RewardAgreement.spearman([1, 2, 3], [1, 2]), 1))
        #expect(RewardAgreement.spearman([1, 2, 3], [4]) == nil)
    }

    @Test("concordance: all concordant 1, all discordant 0")
    func concordanceExtremes() {
        let up = RewardAgreement.concordance([1, 2, 3, 4], [10, 20, 30, 40])
        #expect(up?.share == 1 && up?.pairs == 6)
        let down = RewardAgreement.concordance([1, 2, 3, 4], [40, 30, 20, 10])
        #expect(down?.share == 0 && down?.pairs == 6)
    }

    @Test("concordance: a reward tie counts ½, judge ties are excluded")
    func concordanceTies() {
        let tie = RewardAgreement.concordance([1, 1], [1, 2])
        #expect(tie?.share == 0.5 && tie?.pairs == 1)
        #expect(RewardAgreement.concordance([1, 2], [5, 5]) == nil)
        #expect(RewardAgreement.concordance([1], [1]) == nil)
        // x = [1,3,2,2], y = [1,2,2,4]. Pairs (i,j): (0,1) y↑ x↑ 1; (0,2) y↑ x↑ 1; (0,3) y↑ x↑ 1; (1,2) judge tie,
        // excluded; (1,3) y↑ x↓ 0; (2,3) y↑ x tie ½ → (3 + ½) / 5 = 0.7 over 5 pairs.
        let mixed = RewardAgreement.concordance([1, 3, 2, 2], [1, 2, 2, 4])
        #expect(mixed?.pairs == 5)
        #expect(close(mixed?.share, 0.7))
    }

    @Test("axis agreement: one task agrees, one disagrees")
    func axisOpposite() {
        let a = AxisAgreement(reward: [[1, 2], [1, 2]], judge: [[3, 4], [4, 3]])
        // Within-task ρ: 1 and −1 → mean 0; concordance (1 + 0) / 2.
        #expect(a.withinTaskSpearman == 0)
        #expect(a.withinTaskCount == 2)
        #expect(a.concordance == 0.5)
        #expect(a.concordantPairs == 2)
        // Pooled: reward ranks [1.5,3.5,1.5,3.5], judge ranks [1.5,3.5,3.5,1.5]; Σdx·dy = 1 + 1 − 1 − 1 = 0.
        #expect(close(a.pooledSpearman, 0))
    }

    @Test("axis agreement: a constant-reward task leaves within-task ρ and adds ½ per judge-distinct pair")
    func axisConstantTask() {
        // Task 0: ρ = 1, 3 concordant pairs (6 halves). Task 1: reward constant → no ρ; judge [3,1,3] has 2
        // judge-distinct pairs ((0,1), (1,2)), each a reward tie (2 halves). Concordance = 8 / (2·5) = 0.8.
        let a = AxisAgreement(reward: [[1, 2, 3], [5, 5, 5]], judge: [[1, 2, 3], [3, 1, 3]])
        #expect(a.withinTaskSpearman == 1)
        #expect(a.withinTaskCount == 1)
        #expect(a.concordantPairs == 5)
        #expect(close(a.concordance, 0.8))
        // A task with K = 1 has neither ρ nor pairs.
        let single = AxisAgreement(reward: [[1, 2], [7]], judge: [[1, 2], [3]])
        #expect(single.withinTaskCount == 1 && single.concordantPairs == 1)
        #expect(single.withinTaskSpearman == 1 && single.concordance == 1)
    }

    @Test("axis agreement: pooled ρ differs from within-task ρ on a hand case")
    func axisPooled() {
        // Pooled reward [1,2,3,4] (ranks 1…4), judge [1,3,2,4] (ranks [1,3,2,4]); mean 2.5:
        // dx = [−1.5,−0.5,0.5,1.5], dy = [−1.5,0.5,−0.5,1.5]; Σdx·dy = 2.25 − 0.25 − 0.25 + 2.25 = 4; Σdx² = Σdy² = 5
        // → ρ = 0.8, while each task alone is perfectly ordered (ρ = 1, concordance 1).
        let a = AxisAgreement(reward: [[1, 2], [3, 4]], judge: [[1, 3], [2, 4]])
        #expect(close(a.pooledSpearman, 0.8))
        #expect(a.withinTaskSpearman == 1 && a.withinTaskCount == 2)
        #expect(a.concordance == 1 && a.concordantPairs == 2)
        // Extra rollouts or tasks on one side are ignored.
        let ragged = AxisAgreement(reward: [[1, 2, 99], [3, 4], [5, 6]], judge: [[1, 3], [2, 4]])
        #expect(ragged == a)
    }

    @Test("axis agreement: constant inputs give nil, never NaN")
    func axisConstant() {
        // Constant reward: no ρ anywhere; every judge-distinct pair is a reward tie, so concordance is exactly ½.
        let flat = AxisAgreement(reward: [[2, 2], [2, 2, 2]], judge: [[1, 2], [3, 1, 2]])
        #expect(flat.pooledSpearman == nil && flat.withinTaskSpearman == nil && flat.withinTaskCount == 0)
        #expect(flat.concordance == 0.5 && flat.concordantPairs == 4)
        // Constant reward and constant judge: nothing is defined.
        let both = AxisAgreement(reward: [[2, 2], [2, 2, 2]], judge: [[1, 1], [1, 1, 1]])
        #expect(both.pooledSpearman == nil && both.withinTaskSpearman == nil && both.concordance == nil)
        #expect(both.withinTaskCount == 0 && both.concordantPairs == 0)
        let empty = AxisAgreement(reward: [], judge: [])
        #expect(empty.pooledSpearman == nil && empty.withinTaskSpearman == nil && empty.concordance == nil)
        #expect(empty.withinTaskCount == 0 && empty.concordantPairs == 0)
        for x in [flat, both, empty] {
            #expect(notNaN(x.pooledSpearman) && notNaN(x.withinTaskSpearman) && notNaN(x.concordance))
        }
    }

    @Test("axis agreement round-trips through JSON")
    func axisCodable() throws {
        for a in [AxisAgreement(reward: [[1, 2, 2, 3], [1, 3]], judge: [[1, 3, 2, 4], [2, 1]]),
                  AxisAgreement(reward: [[2, 2]], judge: [[1, 1]])] {
            let data = try JSONEncoder().encode(a)
            let back = try JSONDecoder().decode(AxisAgreement.self, from: data)
            #expect(back == a)
        }
    }
}
