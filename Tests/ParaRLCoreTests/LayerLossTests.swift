// Softmax, log-softmax and the masked cross-entropy against finite differences and naive Double references,
// with ignored targets and huge logits.
import Foundation
import Testing
import ParaRLCore
import TestSupport

/// Naive Double references for the softmax family.
enum LossReference {
    static func logSoftmax(_ x: [Float], rows: Int, cols: Int) -> [Double] {
        var out = [Double](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            let row = x[(r * cols)..<((r + 1) * cols)].map(Double.init)
            let m = row.max() ?? 0
            let lse = m + log(row.map { exp($0 - m) }.reduce(0, +))
            for j in 0..<cols { out[r * cols + j] = row[j] - lse }
        }
        return out
    }

    static func crossEntropy(_ logits: [Float], targets: [Int32], weights: [Float], p: Int, w: Int) -> (losses: [Float], total: Double) {
        let logp = logSoftmax(logits, rows: p, cols: w)
        var losses = [Float](repeating: 0, count: p), total = 0.0
        for r in 0..<p where targets[r] >= 0 {
            let loss = -logp[r * w + Int(targets[r])]
            losses[r] = Float(loss)
            total += Double(weights[r]) * loss
        }
        return (losses, total)
    }
}

@Suite("Layers: softmax, log-softmax, masked cross-entropy")
struct LayerLossTests {
    typealias Check = LayerCheck

    @Test("softmax and log-softmax match the naive reference", arguments: [(3, 7), (17, 300), (1, 1)])
    func softmaxMatchesNaive(_ shape: (Int, Int)) {
        let (rows, cols) = shape
        var rng = TestRNG(seed: UInt64(50 + rows))
        let x = rng.array(rows * cols, scale: 5)
        var out = Check.zeros(rows * cols), logOut = Check.zeros(rows * cols)
        Softmax.forward(out: &out, inp: x, rows: rows, cols: cols)
        LogSoftmax.forward(out: &logOut, inp: x, rows: rows, cols: cols)
        let reference = LossReference.logSoftmax(x, rows: rows, cols: cols)
        let errSoftmax = relativeError(out, reference.map { Float(exp($0)) })
        let errLog = relativeError(logOut, reference.map { Float($0) })
        #expect(errSoftmax < Check.referenceTolerance, "softmax \(rows)×\(cols): \(errSoftmax)")
        #expect(errLog < Check.referenceTolerance, "log-softmax \(rows)×\(cols): \(errLog)")
    }

    @Test("softmax and log-softmax backward match finite differences")
    func softmaxGradients() {
        let rows = 3, cols = 7
        var rng = TestRNG(seed: 51)
        let inputs = [rng.array(rows * cols, scale: 2)]
        Check.layer("softmax", inputs: inputs, wrt: [0], seed: 52,
                    forward: { x in
                        var out = Check.zeros(rows * cols)
                        Softmax.forward(out: &out, inp: x[0], rows: rows, cols: cols)
                        return out
                    },
                    backward: { x, dout, g in
                        var out = Check.zeros(rows * cols), dinp = g[0]
                        Softmax.forward(out: &out, inp: x[0], rows: rows, cols: cols)
                        Softmax.backward(dinp: &dinp, dout: dout, out: out, rows: rows, cols: cols)
                        g[0] = dinp
                    })
        Check.layer("log-softmax", inputs: inputs, wrt: [0], seed: 53,
                    forward: { x in
                        var out = Check.zeros(rows * cols)
                        LogSoftmax.forward(out: &out, inp: x[0], rows: rows, cols: cols)
                        return out
                    },
                    backward: { x, dout, g in
                        var out = Check.zeros(rows * cols), dinp = g[0]
                        LogSoftmax.forward(out: &out, inp: x[0], rows: rows, cols: cols)
                        LogSoftmax.backward(dinp: &dinp, dout: dout, out: out, rows: rows, cols: cols)
                        g[0] = dinp
                    })
    }

    @Test("softmax, log-softmax and cross-entropy stay finite with logits of ±1e4")
    func hugeLogits() {
        let rows = 2, cols = 4
        let x: [Float] = [1e4, -1e4, 0, 1e4,
                          -1e4, -1e4, -1e4, -9_990]
        var out = Check.zeros(rows * cols), logOut = Check.zeros(rows * cols)
        Softmax.forward(out: &out, inp: x, rows: rows, cols: cols)
        LogSoftmax.forward(out: &logOut, inp: x, rows: rows, cols: cols)
        #expect(out.allSatisfy { $0.isFinite } && logOut.allSatisfy { $0.isFinite })
        #expect(abs(out[0] - 0.5) < 1e-6 && abs(out[3] - 0.5) < 1e-6 && out[1] == 0)
        #expect(abs(out[7] - Float(1 / (1 + 3 * exp(-10.0)))) < 1e-6, "last key is 10 above the others: \(out[7])")
        #expect(abs(logOut[1] - -2e4 - log(0.5)) < 1, "log-softmax of -1e4 next to 1e4 is about -2e4: \(logOut[1])")
        let dout: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
        var dinp = Check.zeros(rows * cols), dlog = Check.zeros(rows * cols)
        Softmax.backward(dinp: &dinp, dout: dout, out: out, rows: rows, cols: cols)
        LogSoftmax.backward(dinp: &dlog, dout: dout, out: logOut, rows: rows, cols: cols)
        #expect(dinp.allSatisfy { $0.isFinite } && dlog.allSatisfy { $0.isFinite })

        var losses = Check.zeros(rows), probs = Check.zeros(rows * cols)
        let total = MaskedCrossEntropy.forward(losses: &losses, probs: &probs, logits: x, targets: [1, 3],
                                               weights: [1, 1], p: rows, w: cols)
        #expect(total.isFinite && losses.allSatisfy { $0.isFinite })
        #expect(abs(losses[0] - (2e4 + Float(log(2.0)))) < 2, "loss of a -1e4 target against +1e4 is about 2e4: \(losses[0])")
        #expect(losses[1] < 1e-3)
    }

    @Test("masked cross-entropy matches the naive reference and ignores target -1")
    func crossEntropyMatchesNaive() {
        for (p, w) in [(6, 7), (40, 300)] {
            var rng = TestRNG(seed: UInt64(54 + p))
            let logits = rng.array(p * w, scale: 4)
            let targets: [Int32] = (0..<p).map { r in r % 3 == 1 ? -1 : Int32(rng.int(w)) }
            let weights = (0..<p).map { _ in rng.uniform() + 0.1 }
            var losses = Check.zeros(p), probs = Check.zeros(p * w)
            let total = MaskedCrossEntropy.forward(losses: &losses, probs: &probs, logits: logits, targets: targets,
                                                   weights: weights, p: p, w: w)
            let reference = LossReference.crossEntropy(logits, targets: targets, weights: weights, p: p, w: w)
            let errLosses = relativeError(losses, reference.losses)
            #expect(errLosses < Check.referenceTolerance, "CE losses \(p)×\(w): \(errLosses)")
            #expect(abs(total - reference.total) <= 1e-5 * abs(reference.total), "CE total \(total) vs \(reference.total)")
            let refProbs = LossReference.logSoftmax(logits, rows: p, cols: w).map { Float(exp($0)) }
            #expect(relativeError(probs, refProbs) < Check.referenceTolerance)
            #expect((0..<p).filter { targets[$0] < 0 }.allSatisfy { losses[$0] == 0 }, "ignored rows have loss 0")

            // Ignored rows get no gradient at all.
            var dlogits = Check.zeros(p * w)
            MaskedCrossEntropy.backward(dlogits: &dlogits, probs: probs, targets: targets, weights: weights,
                                        dloss: 1, p: p, w: w)
            for r in 0..<p where targets[r] < 0 {
                #expect(dlogits[(r * w)..<((r + 1) * w)].allSatisfy { $0 == 0 }, "ignored row \(r) got a gradient")
            }
        }
    }

    @Test("masked cross-entropy backward matches finite differences of the weighted total")
    func crossEntropyGradients() {
        let p = 5, w = 7
        var rng = TestRNG(seed: 56)
        let targets: [Int32] = [3, -1, 0, 6, 2]
        let weights: [Float] = [0.5, 2, 1.5, 0.25, 1]
        let dloss: Float = 0.7
        let inputs = [rng.array(p * w, scale: 2)]
        func forward(_ logits: [Float]) -> (total: Double, probs: [Float]) {
            var losses = Check.zeros(p), probs = Check.zeros(p * w)
            let total = MaskedCrossEntropy.forward(losses: &losses, probs: &probs, logits: logits, targets: targets,
                                                   weights: weights, p: p, w: w)
            return (total, probs)
        }
        Check.gradients("masked cross-entropy", inputs: inputs, wrt: [0], seed: 57,
                        loss: { Double(dloss) * forward($0[0]).total },
                        backward: { x, g in
                            var dlogits = g[0]
                            MaskedCrossEntropy.backward(dlogits: &dlogits, probs: forward(x[0]).probs, targets: targets,
                                                        weights: weights, dloss: dloss, p: p, w: w)
                            g[0] = dlogits
                        })
    }
}
