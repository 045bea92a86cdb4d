// The vectorised exp against Foundation's expf: ≤ 2 ulp-scale relative error over the float range, exact edges.
import Foundation
import Testing
@testable import ParaRLCore
import TestSupport

@Suite("Vector math")
struct VectorMathTests {
    @Test("exp matches Foundation.exp to 3e-7 relative error on [-87, 88]")
    func expAccuracy() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let ours = VectorMath.exp(x), ref = Float(Foundation.exp(Double(x)))
            worst = max(worst, abs(ours - ref) / ref)
            x += 0.001_37
        }
        #expect(worst < 3e-7, "worst relative error \(worst)")
    }

    @Test("exp edges: underflow to 0, overflow to inf, NaN stays NaN, exp(0) = 1")
    func expEdges() {
        #expect(VectorMath.exp(-Float.infinity) == 0)
        #expect(VectorMath.exp(-1000) == 0)
        #expect(VectorMath.exp(Float.infinity) == .infinity)
        #expect(VectorMath.exp(1000) == .infinity)
        #expect(VectorMath.exp(Float.nan).isNaN)
        #expect(VectorMath.exp(0) == 1)
    }

    @Test("expShifted gives the same values in the vector body and the tail, and their sum")
    func expShiftedConsistent() {
        var rng = TestRNG(seed: 3)
        let x = rng.array(19, scale: 5)
        var out = [Float](repeating: 0, count: 19)
        let sum = VectorMath.expShifted(&out, x, shift: 1.5, 19)
        for j in 0..<19 { #expect(out[j] == VectorMath.exp(x[j] - 1.5)) }
        #expect(abs(sum - out.reduce(0, +)) <= 1e-5 * sum)
    }
}
