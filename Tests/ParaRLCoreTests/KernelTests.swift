// The run-time dispatched C kernels (Sources/CKernels): every instruction set this CPU runs — portable C, AVX2+FMA,
// AVX-512 — against double-precision references and the Swift exp, at lengths that exercise the vector tails.
import CKernels
import Foundation
import Testing
@testable import ParaRLCore
import TestSupport

@Suite("Dispatched kernels")
struct KernelTests {
    /// Every ISA the CPU runs, lowest first (always at least the portable one).
    static var isas: [Int32] { Array(0...pk_best_isa()) }
    static let lengths = [1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 95, 272]

    @Test("the chosen ISA is the best the CPU runs unless PARARL_ISA lowers it, and is named")
    func choice() {
        #expect(pk_isa() <= pk_best_isa())
        if ProcessInfo.processInfo.environment["PARARL_ISA"] == nil { #expect(pk_isa() == pk_best_isa()) }
        #expect(["portable", "avx2", "avx512"].contains(Kernels.isa))
        #expect(Kernels.vectorised == (pk_isa() > 0))
    }

    @Test("exp of every ISA: within 3e-7 of exp in double on [-87, 88], within 1 ulp-scale of the Swift exp; exact edges")
    func exp() {
        let xs = stride(from: Float(-87), to: 88, by: 0.013_7).map { $0 }
        for isa in Self.isas {
            var out = [Float](repeating: 0, count: xs.count)
            pk_exp_with(isa, &out, xs, xs.count)
            var worst: Float = 0, worstSwift: Float = 0
            for (x, y) in zip(xs, out) {
                let ref = Float(Foundation.exp(Double(x)))
                worst = max(worst, abs(y - ref) / ref)
                worstSwift = max(worstSwift, abs(y - VectorMath.exp(x)) / ref)
            }
            #expect(worst < 3e-7, "isa \(isa): worst relative error \(worst)")
            #expect(worstSwift < 2.5e-7, "isa \(isa): worst distance to the Swift exp \(worstSwift)")
            let edges: [Float] = [-.infinity, -1000, -87.5, 0, 88.5, 1000, .infinity, .nan]
            var e = [Float](repeating: 7, count: edges.count)
            pk_exp_with(isa, &e, edges, edges.count)
            #expect(e[0] == 0 && e[1] == 0 && e[2] == 0 && e[3] == 1, "isa \(isa): \(e)")
            #expect(e[4] == .infinity && e[5] == .infinity && e[6] == .infinity && e[7].isNaN, "isa \(isa): \(e)")
        }
    }

    @Test("masked softmax row of every ISA equals the double-precision softmax over the attended keys; tails and masked keys are 0")
    func softmaxRow() {
        var rng = TestRNG(seed: 11)
        for isa in Self.isas {
            for t in Self.lengths {
                for keys in Set([t, max(1, t / 2), 1]) {
                    let scores = rng.array(t, scale: 6)
                    let bias = (0..<t).map { j -> Float in j % 5 == 3 ? -.infinity : 0 }
                    var p = scores
                    pk_softmax_row_with(isa, &p, bias, keys, t)
                    let live = (0..<keys).filter { bias[$0] == 0 }
                    let top = live.map { Double(scores[$0]) }.max() ?? 0
                    let z = live.reduce(0.0) { $0 + Foundation.exp(Double(scores[$1]) - top) }
                    for j in 0..<t {
                        let ref = live.contains(j) ? Foundation.exp(Double(scores[j]) - top) / z : 0
                        #expect(abs(Double(p[j]) - ref) <= 1e-6 * max(ref, 1e-3), "isa \(isa) t \(t) keys \(keys) j \(j): \(p[j]) vs \(ref)")
                    }
                    var unmasked = scores
                    pk_softmax_row_with(isa, &unmasked, nil, keys, t)
                    #expect(abs(unmasked[0..<keys].reduce(0, +) - 1) < 1e-5)
                }
            }
            var allMasked = rng.array(9, scale: 1)
            let minusInf = [Float](repeating: -.infinity, count: 9)
            pk_softmax_row_with(isa, &allMasked, minusInf, 9, 9)
            #expect(allMasked.allSatisfy { $0 == 0 }, "isa \(isa): an all-masked row must be 0")
        }
    }

    @Test("the attention row of the chosen kernels matches the portable Swift row to 1e-6")
    func attentionRowAgreesWithPortable() {
        var rng = TestRNG(seed: 5)
        for t in Self.lengths {
            let scores = rng.array(t, scale: 4)
            let bias = (0..<t).map { j -> Float in j % 7 == 2 ? -.infinity : 0 }
            var chosen = scores, portable = scores
            pk_softmax_row_with(pk_best_isa(), &chosen, bias, t, t)
            pk_softmax_row_with(0, &portable, bias, t, t)
            for j in 0..<t { #expect(abs(chosen[j] - portable[j]) <= 1e-6) }
        }
    }

    @Test("SwiGLU and exp-shifted sums of every ISA against double precision")
    func swigluAndExpShifted() {
        var rng = TestRNG(seed: 2)
        for isa in Self.isas {
            for n in Self.lengths {
                let gate = rng.array(n, scale: 8), up = rng.array(n, scale: 2)
                var out = [Float](repeating: .nan, count: n)
                pk_swiglu_with(isa, &out, gate, up, n)
                for i in 0..<n {
                    let g = Double(gate[i]), ref = g / (1 + Foundation.exp(-g)) * Double(up[i])
                    #expect(abs(Double(out[i]) - ref) <= 1e-6 * max(abs(ref), 1), "isa \(isa) n \(n) i \(i)")
                }
                var e = [Float](repeating: 0, count: n)
                let sum = pk_exp_shifted_with(isa, &e, gate, 2, n)
                let ref = gate.reduce(0.0) { $0 + Foundation.exp(Double($1) - 2) }
                #expect(abs(Double(sum) - ref) <= 1e-5 * ref, "isa \(isa) n \(n): \(sum) vs \(ref)")
            }
        }
    }

    @Test("RMSNorm, residual add and RoPE of every ISA against double precision (and RoPE's inverse rotation)")
    func rowKernels() {
        var rng = TestRNG(seed: 9)
        for isa in Self.isas {
            for c in [8, 17, 64, 256] {
                let rows = 3, x = rng.array(rows * c, scale: 3), w = rng.array(c, scale: 1)
                var out = [Float](repeating: .nan, count: rows * c), rstd = [Float](repeating: .nan, count: rows)
                pk_rmsnorm_with(isa, &out, &rstd, x, w, rows, c, 1e-5)
                for i in 0..<rows {
                    let ms = (0..<c).reduce(0.0) { $0 + Double(x[i * c + $1]) * Double(x[i * c + $1]) } / Double(c)
                    let r = 1 / (ms + 1e-5).squareRoot()
                    #expect(abs(Double(rstd[i]) - r) <= 1e-6 * r, "isa \(isa) c \(c)")
                    for j in 0..<c {
                        let ref = Double(x[i * c + j]) * r * Double(w[j])
                        #expect(abs(Double(out[i * c + j]) - ref) <= 1e-5 * max(abs(ref), 1e-2), "isa \(isa) c \(c) j \(j)")
                    }
                }
                var sum = x
                pk_add_with(isa, &sum, out, rows * c)
                for k in 0..<(rows * c) { #expect(sum[k] == x[k] + out[k]) }
            }
            for hd in [4, 18, 64] {
                let heads = 3, half = hd / 2, x = rng.array(heads * hd, scale: 2)
                let angles = (0..<half).map { Float($0) * 0.37 + 0.1 }
                let cs = angles.map { Foundation.cos($0) }, sn = angles.map { Foundation.sin($0) }
                var y = x
                pk_rope_with(isa, &y, cs, sn, heads, hd, 1)
                for h in 0..<heads {
                    for i in 0..<half {
                        let a = Double(x[h * hd + i]), b = Double(x[h * hd + half + i]), cc = Double(cs[i]), ss = Double(sn[i])
                        #expect(abs(Double(y[h * hd + i]) - (a * cc - b * ss)) < 1e-5)
                        #expect(abs(Double(y[h * hd + half + i]) - (b * cc + a * ss)) < 1e-5)
                    }
                }
                pk_rope_with(isa, &y, cs, sn, heads, hd, -1)  // Rᵀ R = I
                for k in 0..<(heads * hd) { #expect(abs(y[k] - x[k]) < 1e-5, "isa \(isa) hd \(hd)") }
            }
        }
    }
}
