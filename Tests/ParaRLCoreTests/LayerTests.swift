// Layer kernels against finite differences and naive Double references: the shared gradient-check harness,
// embedding/rows, linear, norms and activations (attention/RoPE and losses have their own Layer*Tests files).
import Foundation
import Testing
import ParaRLCore
import TestSupport

/// Gradient-check harness shared by the layer tests (tinygrad style: one harness, per-op tolerances).
enum LayerCheck {
    /// Tolerance of the finite-difference checks: relativeError(analytic, central FD) < 2e-2 with FD eps 1e-2 in Float.
    static let fdTolerance: Float = 2e-2
    /// Tolerance of the accumulation check: the second backward adds the same gradient again.
    static let accumulateTolerance: Float = 1e-4
    /// Tolerance of fast path vs naive Double reference.
    static let referenceTolerance: Float = 1e-5

    static func zeros(_ n: Int) -> [Float] { [Float](repeating: 0, count: n) }

    /// Checks the analytic gradient of every input in `wrt` against central differences of `loss`, and that
    /// backward accumulates: gradient buffers are pre-filled with random values and backward runs twice.
    /// Inputs not in `wrt` must be left untouched.
    static func gradients(_ label: String, inputs: [[Float]], wrt: [Int], seed: UInt64,
                          eps: Float = 1e-2, tolerance: Float = fdTolerance,
                          loss: ([[Float]]) -> Double,
                          backward: (_ inputs: [[Float]], _ grads: inout [[Float]]) -> Void,
                          sourceLocation: SourceLocation = #_sourceLocation) {
        var rng = TestRNG(seed: seed)
        let g0 = inputs.map { rng.array($0.count, scale: 0.5) }
        var g1 = g0
        backward(inputs, &g1)
        var g2 = g1
        backward(inputs, &g2)
        for i in inputs.indices {
            guard wrt.contains(i) else {
                #expect(g1[i] == g0[i], "\(label): input \(i) has no gradient but its buffer changed", sourceLocation: sourceLocation)
                continue
            }
            let first = zip(g1[i], g0[i]).map { $0 - $1 }
            let numerical = numericalGradient(inputs[i], eps: eps) { x in
                var perturbed = inputs
                perturbed[i] = x
                return loss(perturbed)
            }
            let scale = numerical.map(abs).max() ?? 0
            #expect(scale > 1e-3, "\(label): input \(i) has a vanishing numerical gradient (\(scale)); test is vacuous",
                    sourceLocation: sourceLocation)
            let fdError = relativeError(first, numerical)
            #expect(fdError < tolerance, "\(label): input \(i) gradient vs finite differences: \(fdError)",
                    sourceLocation: sourceLocation)
            let second = zip(g2[i], g1[i]).map { $0 - $1 }
            let accError = relativeError(second, first)
            #expect(accError < accumulateTolerance, "\(label): input \(i) backward does not accumulate: \(accError)",
                    sourceLocation: sourceLocation)
        }
    }

    /// `gradients` for a layer with an output tensor, using the loss Σ w ⊙ out with random w (so dout = w).
    static func layer(_ label: String, inputs: [[Float]], wrt: [Int], seed: UInt64,
                      eps: Float = 1e-2, tolerance: Float = fdTolerance,
                      forward: ([[Float]]) -> [Float],
                      backward: (_ inputs: [[Float]], _ dout: [Float], _ grads: inout [[Float]]) -> Void,
                      sourceLocation: SourceLocation = #_sourceLocation) {
        var rng = TestRNG(seed: seed &+ 7919)
        let w = rng.array(forward(inputs).count)
        gradients(label, inputs: inputs, wrt: wrt, seed: seed, eps: eps, tolerance: tolerance,
                  loss: { weightedSum(forward($0), w) },
                  backward: { inputs, grads in backward(inputs, w, &grads) },
                  sourceLocation: sourceLocation)
    }
}

/// Naive Double references for the layer tests.
enum LayerReference {
    static func linear(_ inp: [Float], _ weight: [Float], _ bias: [Float]?, n: Int, ic: Int, oc: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n * oc)
        for i in 0..<n {
            for o in 0..<oc {
                var acc = bias.map { Double($0[o]) } ?? 0
                for k in 0..<ic { acc += Double(inp[i * ic + k]) * Double(weight[o * ic + k]) }
                out[i * oc + o] = Float(acc)
            }
        }
        return out
    }

    static func rmsNorm(_ x: [Float], _ weight: [Float], n: Int, c: Int, eps: Double) -> [Float] {
        var out = [Float](repeating: 0, count: n * c)
        for i in 0..<n {
            var ms = 0.0
            for j in 0..<c { ms += Double(x[i * c + j]) * Double(x[i * c + j]) }
            let r = 1 / (ms / Double(c) + eps).squareRoot()
            for j in 0..<c { out[i * c + j] = Float(Double(x[i * c + j]) * r * Double(weight[j])) }
        }
        return out
    }

    static func layerNorm(_ x: [Float], _ weight: [Float], _ bias: [Float], n: Int, c: Int, eps: Double) -> [Float] {
        var out = [Float](repeating: 0, count: n * c)
        for i in 0..<n {
            var mean = 0.0
            for j in 0..<c { mean += Double(x[i * c + j]) }
            mean /= Double(c)
            var variance = 0.0
            for j in 0..<c { variance += (Double(x[i * c + j]) - mean) * (Double(x[i * c + j]) - mean) }
            let r = 1 / (variance / Double(c) + eps).squareRoot()
            for j in 0..<c { out[i * c + j] = Float((Double(x[i * c + j]) - mean) * r * Double(weight[j]) + Double(bias[j])) }
        }
        return out
    }
}

@Suite("Layers: embedding, linear, norms, activations")
struct LayerTests {
    typealias Check = LayerCheck

    // MARK: Embedding and rows

    @Test("embedding forward copies rows and backward matches finite differences (repeated tokens)")
    func embedding() {
        let n = 6, c = 7, vocab = 5
        let tokens: [Int32] = [3, 0, 3, 4, 1, 3]
        var rng = TestRNG(seed: 1)
        let weight = rng.array(vocab * c)
        var out = Check.zeros(n * c)
        Embedding.forward(out: &out, tokens: tokens, weight: weight, n: n, c: c)
        for i in 0..<n {
            #expect(Array(out[(i * c)..<((i + 1) * c)]) == Array(weight[(Int(tokens[i]) * c)..<((Int(tokens[i]) + 1) * c)]))
        }
        Check.layer("embedding", inputs: [weight], wrt: [0], seed: 2,
                    forward: { x in
                        var out = Check.zeros(n * c)
                        Embedding.forward(out: &out, tokens: tokens, weight: x[0], n: n, c: c)
                        return out
                    },
                    backward: { _, dout, g in
                        var dweight = g[0]
                        Embedding.backward(dweight: &dweight, dout: dout, tokens: tokens, n: n, c: c)
                        g[0] = dweight
                    })
    }

    @Test("rows gather/scatterAdd are an adjoint pair (finite differences, repeated rows)")
    func rowsGatherScatter() {
        let n = 6, c = 5, p = 4
        let rows: [Int32] = [5, 1, 5, 2]
        var rng = TestRNG(seed: 3)
        let inp = rng.array(n * c)
        Check.layer("rows", inputs: [inp], wrt: [0], seed: 4,
                    forward: { x in
                        var out = Check.zeros(p * c)
                        Rows.gather(out: &out, inp: x[0], rows: rows, p: p, c: c)
                        return out
                    },
                    backward: { _, dout, g in
                        var dinp = g[0]
                        Rows.scatterAdd(dinp: &dinp, dout: dout, rows: rows, p: p, c: c)
                        g[0] = dinp
                    })
        // Larger case so the column-parallel scatter uses several chunks; compared with a serial scatter.
        let bigN = 40, bigC = 300, bigP = 64
        let bigRows = (0..<bigP).map { _ in Int32(rng.int(bigN)) }
        let dout = rng.array(bigP * bigC)
        var dinp = rng.array(bigN * bigC)
        var reference = dinp.map(Double.init)
        for i in 0..<bigP {
            for j in 0..<bigC { reference[Int(bigRows[i]) * bigC + j] += Double(dout[i * bigC + j]) }
        }
        Rows.scatterAdd(dinp: &dinp, dout: dout, rows: bigRows, p: bigP, c: bigC)
        let err = relativeError(dinp, reference.map { Float($0) })
        #expect(err < Check.referenceTolerance, "scatterAdd vs serial reference: \(err)")
    }

    // MARK: Linear

    @Test("linear forward matches the naive matmul (with and without bias)")
    func linearMatchesNaive() {
        var rng = TestRNG(seed: 5)
        for (n, ic, oc) in [(5, 7, 3), (37, 65, 33), (1, 1, 1)] {
            let inp = rng.array(n * ic), weight = rng.array(oc * ic), bias = rng.array(oc)
            for withBias in [true, false] {
                var out = Check.zeros(n * oc)
                Linear.forward(out: &out, inp: inp, weight: weight, bias: withBias ? bias : nil, n: n, ic: ic, oc: oc)
                let reference = LayerReference.linear(inp, weight, withBias ? bias : nil, n: n, ic: ic, oc: oc)
                let err = relativeError(out, reference)
                #expect(err < Check.referenceTolerance, "linear n=\(n) ic=\(ic) oc=\(oc) bias=\(withBias): \(err)")
            }
        }
    }

    @Test("linear backward matches naive Double gradients on a larger shape")
    func linearBackwardMatchesNaive() {
        let n = 37, ic = 65, oc = 33
        var rng = TestRNG(seed: 6)
        let inp = rng.array(n * ic), weight = rng.array(oc * ic), dout = rng.array(n * oc)
        var dinp = Check.zeros(n * ic), dweight = Check.zeros(oc * ic), dbias = Check.zeros(oc)
        Linear.backward(dinp: &dinp, dweight: &dweight, dbias: &dbias, dout: dout, inp: inp, weight: weight,
                        n: n, ic: ic, oc: oc)
        var refInp = Check.zeros(n * ic), refWeight = Check.zeros(oc * ic), refBias = Check.zeros(oc)
        for i in 0..<n {
            for k in 0..<ic {
                var acc = 0.0
                for o in 0..<oc { acc += Double(dout[i * oc + o]) * Double(weight[o * ic + k]) }
                refInp[i * ic + k] = Float(acc)
            }
        }
        for o in 0..<oc {
            for k in 0..<ic {
                var acc = 0.0
                for i in 0..<n { acc += Double(dout[i * oc + o]) * Double(inp[i * ic + k]) }
                refWeight[o * ic + k] = Float(acc)
            }
            var acc = 0.0
            for i in 0..<n { acc += Double(dout[i * oc + o]) }
            refBias[o] = Float(acc)
        }
        #expect(relativeError(dinp, refInp) < Check.referenceTolerance)
        #expect(relativeError(dweight, refWeight) < Check.referenceTolerance)
        #expect(relativeError(dbias, refBias) < Check.referenceTolerance)
    }

    @Test("linear backward matches finite differences for input, weight and bias")
    func linearGradients() {
        let n = 5, ic = 7, oc = 3
        var rng = TestRNG(seed: 7)
        let inputs = [rng.array(n * ic), rng.array(oc * ic), rng.array(oc)]
        Check.layer("linear", inputs: inputs, wrt: [0, 1, 2], seed: 8,
                    forward: { x in
                        var out = Check.zeros(n * oc)
                        Linear.forward(out: &out, inp: x[0], weight: x[1], bias: x[2], n: n, ic: ic, oc: oc)
                        return out
                    },
                    backward: { x, dout, g in
                        var dinp = g[0], dweight = g[1], dbias = g[2]
                        Linear.backward(dinp: &dinp, dweight: &dweight, dbias: &dbias, dout: dout, inp: x[0],
                                        weight: x[1], n: n, ic: ic, oc: oc)
                        g = [dinp, dweight, dbias]
                    })
    }

    @Test("linear backward skips gradients passed as nil")
    func linearOptionalGradients() {
        let n = 4, ic = 3, oc = 5
        var rng = TestRNG(seed: 9)
        let inputs = [rng.array(n * ic), rng.array(oc * ic)]
        Check.layer("linear without bias, no dinp", inputs: inputs, wrt: [1], seed: 10,
                    forward: { x in
                        var out = Check.zeros(n * oc)
                        Linear.forward(out: &out, inp: x[0], weight: x[1], bias: nil, n: n, ic: ic, oc: oc)
                        return out
                    },
                    backward: { x, dout, g in
                        var dweight = g[1]
                        Linear.backward(dinp: nil, dweight: &dweight, dbias: nil, dout: dout, inp: x[0],
                                        weight: x[1], n: n, ic: ic, oc: oc)
                        g[1] = dweight
                    })
    }

    // MARK: Norms

    @Test("RMSNorm forward matches the naive reference", arguments: [(3, 7), (64, 256), (5, 1)])
    func rmsNormMatchesNaive(_ shape: (Int, Int)) {
        let (n, c) = shape
        var rng = TestRNG(seed: UInt64(11 + n * c))
        let x = rng.array(n * c, scale: 2), weight = rng.array(c)
        var out = Check.zeros(n * c), rstd = Check.zeros(n)
        RMSNorm.forward(out: &out, rstd: &rstd, inp: x, weight: weight, n: n, c: c, eps: 1e-5)
        let err = relativeError(out, LayerReference.rmsNorm(x, weight, n: n, c: c, eps: 1e-5))
        #expect(err < Check.referenceTolerance, "RMSNorm n=\(n) c=\(c): \(err)")
    }

    @Test("RMSNorm backward matches finite differences for input and weight")
    func rmsNormGradients() {
        let n = 5, c = 7
        var rng = TestRNG(seed: 12)
        let inputs = [rng.array(n * c), rng.array(c)]
        let forward = { (x: [[Float]]) -> ([Float], [Float]) in
            var out = Check.zeros(n * c), rstd = Check.zeros(n)
            RMSNorm.forward(out: &out, rstd: &rstd, inp: x[0], weight: x[1], n: n, c: c, eps: 1e-5)
            return (out, rstd)
        }
        Check.layer("RMSNorm", inputs: inputs, wrt: [0, 1], seed: 13,
                    forward: { forward($0).0 },
                    backward: { x, dout, g in
                        let rstd = forward(x).1
                        var dinp = g[0], dweight = g[1]
                        RMSNorm.backward(dinp: &dinp, dweight: &dweight, dout: dout, inp: x[0], weight: x[1],
                                         rstd: rstd, n: n, c: c)
                        g = [dinp, dweight]
                    })
    }

    @Test("LayerNorm forward matches the naive reference", arguments: [(3, 7), (64, 256), (5, 2)])
    func layerNormMatchesNaive(_ shape: (Int, Int)) {
        let (n, c) = shape
        var rng = TestRNG(seed: UInt64(14 + n * c))
        let x = rng.array(n * c, scale: 2).map { $0 + 3 }, weight = rng.array(c), bias = rng.array(c)
        var out = Check.zeros(n * c), mean = Check.zeros(n), rstd = Check.zeros(n)
        LayerNorm.forward(out: &out, mean: &mean, rstd: &rstd, inp: x, weight: weight, bias: bias, n: n, c: c, eps: 1e-5)
        let err = relativeError(out, LayerReference.layerNorm(x, weight, bias, n: n, c: c, eps: 1e-5))
        #expect(err < Check.referenceTolerance, "LayerNorm n=\(n) c=\(c): \(err)")
    }

    @Test("LayerNorm backward matches finite differences for input, weight and bias")
    func layerNormGradients() {
        let n = 5, c = 7
        var rng = TestRNG(seed: 15)
        let inputs = [rng.array(n * c), rng.array(c), rng.array(c)]
        let forward = { (x: [[Float]]) -> ([Float], [Float], [Float]) in
            var out = Check.zeros(n * c), mean = Check.zeros(n), rstd = Check.zeros(n)
            LayerNorm.forward(out: &out, mean: &mean, rstd: &rstd, inp: x[0], weight: x[1], bias: x[2],
                              n: n, c: c, eps: 1e-5)
            return (out, mean, rstd)
        }
        Check.layer("LayerNorm", inputs: inputs, wrt: [0, 1, 2], seed: 16,
                    forward: { forward($0).0 },
                    backward: { x, dout, g in
                        let (_, mean, rstd) = forward(x)
                        var dinp = g[0], dweight = g[1], dbias = g[2]
                        LayerNorm.backward(dinp: &dinp, dweight: &dweight, dbias: &dbias, dout: dout, inp: x[0],
                                           weight: x[1], mean: mean, rstd: rstd, n: n, c: c)
                        g = [dinp, dweight, dbias]
                    })
    }

    @Test("norm backward matches finite differences on a multi-chunk shape")
    func normGradientsMultiChunk() {
        // 64 rows × 256 channels is split into Parallel.threadCount parts: the per-part dweight sums are checked.
        let n = 64, c = 256
        var rng = TestRNG(seed: 17)
        let x = rng.array(n * c), weight = rng.array(c), dout = rng.array(n * c)
        var out = Check.zeros(n * c), rstd = Check.zeros(n)
        RMSNorm.forward(out: &out, rstd: &rstd, inp: x, weight: weight, n: n, c: c, eps: 1e-5)
        var dinp = Check.zeros(n * c), dweight = Check.zeros(c)
        RMSNorm.backward(dinp: &dinp, dweight: &dweight, dout: dout, inp: x, weight: weight, rstd: rstd, n: n, c: c)
        // Double reference of the RMSNorm gradients.
        var refInp = Check.zeros(n * c), refWeight = [Double](repeating: 0, count: c)
        for i in 0..<n {
            var ms = 0.0, s = 0.0
            for j in 0..<c { ms += Double(x[i * c + j]) * Double(x[i * c + j]) }
            let r = 1 / (ms / Double(c) + 1e-5).squareRoot()
            for j in 0..<c { s += Double(dout[i * c + j]) * Double(weight[j]) * Double(x[i * c + j]) }
            for j in 0..<c {
                let xj = Double(x[i * c + j]), gj = Double(dout[i * c + j])
                refInp[i * c + j] = Float(r * Double(weight[j]) * gj - r * r * r * xj * s / Double(c))
                refWeight[j] += gj * xj * r
            }
        }
        let errInp = relativeError(dinp, refInp), errWeight = relativeError(dweight, refWeight.map { Float($0) })
        #expect(errInp < Check.referenceTolerance, "RMSNorm dinp vs Double reference: \(errInp)")
        #expect(errWeight < Check.referenceTolerance, "RMSNorm dweight vs Double reference: \(errWeight)")
    }

    @Test("RMSNorm forward and backward are bitwise deterministic")
    func rmsNormDeterministic() {
        let n = 64, c = 256
        var rng = TestRNG(seed: 18)
        let x = rng.array(n * c), weight = rng.array(c), dout = rng.array(n * c)
        func run() -> [[Float]] {
            var out = Check.zeros(n * c), rstd = Check.zeros(n)
            RMSNorm.forward(out: &out, rstd: &rstd, inp: x, weight: weight, n: n, c: c, eps: 1e-5)
            var dinp = Check.zeros(n * c), dweight = Check.zeros(c)
            RMSNorm.backward(dinp: &dinp, dweight: &dweight, dout: dout, inp: x, weight: weight, rstd: rstd, n: n, c: c)
            return [out, rstd, dinp, dweight]
        }
        let first = run(), second = run()
        for i in first.indices {
            #expect(first[i].map(\.bitPattern) == second[i].map(\.bitPattern), "RMSNorm result \(i) differs between runs")
        }
    }

    // MARK: Activations

    @Test("SwiGLU backward matches finite differences for gate and up")
    func swiGLUGradients() {
        let n = 13
        var rng = TestRNG(seed: 19)
        let inputs = [rng.array(n, scale: 3), rng.array(n, scale: 2)]
        Check.layer("SwiGLU", inputs: inputs, wrt: [0, 1], seed: 20,
                    forward: { x in
                        var out = Check.zeros(n)
                        SwiGLU.forward(out: &out, gate: x[0], up: x[1], n: n)
                        return out
                    },
                    backward: { x, dout, g in
                        var dgate = g[0], dup = g[1]
                        SwiGLU.backward(dgate: &dgate, dup: &dup, dout: dout, gate: x[0], up: x[1], n: n)
                        g = [dgate, dup]
                    })
    }

    @Test("GELU and QuickGELU backward match finite differences")
    func geluGradients() {
        let n = 17
        var rng = TestRNG(seed: 21)
        let inputs = [rng.array(n, scale: 4)]
        Check.layer("GELU", inputs: inputs, wrt: [0], seed: 22,
                    forward: { x in
                        var out = Check.zeros(n)
                        GELU.forward(out: &out, inp: x[0], n: n)
                        return out
                    },
                    backward: { x, dout, g in
                        var dinp = g[0]
                        GELU.backward(dinp: &dinp, dout: dout, inp: x[0], n: n)
                        g[0] = dinp
                    })
        Check.layer("QuickGELU", inputs: inputs, wrt: [0], seed: 23,
                    forward: { x in
                        var out = Check.zeros(n)
                        QuickGELU.forward(out: &out, inp: x[0], n: n)
                        return out
                    },
                    backward: { x, dout, g in
                        var dinp = g[0]
                        QuickGELU.backward(dinp: &dinp, dout: dout, inp: x[0], n: n)
                        g[0] = dinp
                    })
    }

    @Test("activations match their Double formulas on a multi-chunk size")
    func activationsMatchNaive() {
        let n = 40_000
        var rng = TestRNG(seed: 24)
        let x = rng.array(n, scale: 6)
        let up = rng.array(n)
        var swiglu = Check.zeros(n), gelu = Check.zeros(n), quick = Check.zeros(n)
        SwiGLU.forward(out: &swiglu, gate: x, up: up, n: n)
        GELU.forward(out: &gelu, inp: x, n: n)
        QuickGELU.forward(out: &quick, inp: x, n: n)
        var refSwiglu = Check.zeros(n), refGelu = Check.zeros(n), refQuick = Check.zeros(n)
        for i in 0..<n {
            let v = Double(x[i])
            refSwiglu[i] = Float(v / (1 + exp(-v)) * Double(up[i]))
            refGelu[i] = Float(0.5 * v * (1 + erf(v / 2.0.squareRoot())))
            refQuick[i] = Float(v / (1 + exp(-1.702 * v)))
        }
        #expect(relativeError(swiglu, refSwiglu) < Check.referenceTolerance)
        #expect(relativeError(gelu, refGelu) < Check.referenceTolerance)
        #expect(relativeError(quick, refQuick) < Check.referenceTolerance)
    }

    @Test("activations and their gradients stay finite at ±1e4 and ±100")
    func activationsFinite() {
        let x: [Float] = [1e4, -1e4, 100, -100, 0]
        let n = x.count
        let up: [Float] = [1, -1, 0.5, 2, 3]
        var swiglu = Check.zeros(n), gelu = Check.zeros(n), quick = Check.zeros(n)
        SwiGLU.forward(out: &swiglu, gate: x, up: up, n: n)
        GELU.forward(out: &gelu, inp: x, n: n)
        QuickGELU.forward(out: &quick, inp: x, n: n)
        var dgate = Check.zeros(n), dup = Check.zeros(n), dgelu = Check.zeros(n), dquick = Check.zeros(n)
        let dout: [Float] = [1, 1, 1, 1, 1]
        SwiGLU.backward(dgate: &dgate, dup: &dup, dout: dout, gate: x, up: up, n: n)
        GELU.backward(dinp: &dgelu, dout: dout, inp: x, n: n)
        QuickGELU.backward(dinp: &dquick, dout: dout, inp: x, n: n)
        for buffer in [swiglu, gelu, quick, dgate, dup, dgelu, dquick] {
            #expect(buffer.allSatisfy { $0.isFinite }, "non-finite activation value in \(buffer)")
        }
        #expect(swiglu[0] == 1e4 && swiglu[1] == 0 && gelu[0] == 1e4 && gelu[1] == 0 && quick[0] == 1e4 && quick[1] == 0)
        #expect(dgate[0] == 1 && dgate[1] == 0 && dgelu[0] == 1 && dgelu[1] == 0 && dquick[0] == 1 && dquick[1] == 0)
    }
}
