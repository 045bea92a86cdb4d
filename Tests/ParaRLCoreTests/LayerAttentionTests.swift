// Attention and rotary embedding against finite differences and naive Double references,
// including causal and key-padding masks, fully masked rows and bitwise determinism.
import Foundation
import Testing
import ParaRLCore
import TestSupport

/// Naive Double references for attention and RoPE.
enum AttentionReference {
    /// softmax(q kᵀ / sqrt(HD) + mask) v per (batch, head); fully masked rows give 0.
    static func attention(q: [Float], k: [Float], v: [Float], keyMask: [UInt8]?, causal: Bool,
                          b: Int, t: Int, nh: Int, hd: Int) -> (out: [Float], att: [Float]) {
        let c = nh * hd
        var out = [Float](repeating: 0, count: b * t * c), att = [Float](repeating: 0, count: b * nh * t * t)
        for bi in 0..<b {
            for h in 0..<nh {
                for i in 0..<t {
                    var scores = [Double](repeating: 0, count: t)
                    var allowed = [Bool](repeating: false, count: t)
                    for j in 0..<t {
                        allowed[j] = (keyMask.map { $0[bi * t + j] != 0 } ?? true) && (!causal || j <= i)
                        var dot = 0.0
                        for d in 0..<hd { dot += Double(q[(bi * t + i) * c + h * hd + d]) * Double(k[(bi * t + j) * c + h * hd + d]) }
                        scores[j] = dot / Double(hd).squareRoot()
                    }
                    guard allowed.contains(true) else { continue }
                    let maxScore = (0..<t).filter { allowed[$0] }.map { scores[$0] }.max() ?? 0
                    let e = (0..<t).map { allowed[$0] ? exp(scores[$0] - maxScore) : 0 }
                    let sum = e.reduce(0, +)
                    for j in 0..<t { att[((bi * nh + h) * t + i) * t + j] = Float(e[j] / sum) }
                    for d in 0..<hd {
                        var acc = 0.0
                        for j in 0..<t { acc += e[j] / sum * Double(v[(bi * t + j) * c + h * hd + d]) }
                        out[(bi * t + i) * c + h * hd + d] = Float(acc)
                    }
                }
            }
        }
        return (out, att)
    }

    /// rotate_half RoPE with angles computed in Double: x * cos + rotate_half(x) * sin.
    static func rope(_ x: [Float], positions: [Int32]?, theta: Double, b: Int, t: Int, nh: Int, hd: Int) -> [Float] {
        var out = x
        let half = hd / 2, c = nh * hd
        for row in 0..<(b * t) {
            let pos = Double(positions.map { Int($0[row]) } ?? row % t)
            for h in 0..<nh {
                let base = row * c + h * hd
                // rotate_half(x) = cat(-x2, x1)
                let rotated = (0..<hd).map { d in d < half ? -Double(x[base + d + half]) : Double(x[base + d - half]) }
                for d in 0..<hd {
                    let angle = pos / pow(theta, Double(2 * (d % half)) / Double(hd))
                    out[base + d] = Float(Double(x[base + d]) * cos(angle) + rotated[d] * sin(angle))
                }
            }
        }
        return out
    }
}

@Suite("Layers: attention and RoPE")
struct LayerAttentionTests {
    typealias Check = LayerCheck

    /// Key mask for b = 2, t = 5: batch 0 pads key 3; batch 1 pads keys 0 and 4 (so with causal, its row 0 is fully masked).
    static let mask: [UInt8] = [1, 1, 1, 0, 1,
                                0, 1, 1, 1, 0]

    static func forward(_ x: [[Float]], keyMask: [UInt8]?, causal: Bool, b: Int, t: Int, nh: Int, hd: Int)
        -> (out: [Float], att: [Float]) {
        var out = Check.zeros(b * t * nh * hd), att = Check.zeros(b * nh * t * t)
        Attention.forward(out: &out, att: &att, q: x[0], k: x[1], v: x[2], keyMask: keyMask, causal: causal,
                          b: b, t: t, nh: nh, hd: hd)
        return (out, att)
    }

    static func backward(_ x: [[Float]], dout: [Float], grads g: inout [[Float]], keyMask: [UInt8]?, causal: Bool,
                         b: Int, t: Int, nh: Int, hd: Int) {
        let att = forward(x, keyMask: keyMask, causal: causal, b: b, t: t, nh: nh, hd: hd).att
        var dq = g[0], dk = g[1], dv = g[2]
        var datt = [Float](repeating: .nan, count: b * nh * t * t)  // scratch: must be overwritten, not read
        Attention.backward(dq: &dq, dk: &dk, dv: &dv, datt: &datt, dout: dout, q: x[0], k: x[1], v: x[2], att: att,
                           b: b, t: t, nh: nh, hd: hd)
        g = [dq, dk, dv]
    }

    @Test("attention matches the naive reference", arguments: [false, true], [false, true])
    func attentionMatchesNaive(causal: Bool, masked: Bool) {
        for (b, t, nh, hd) in [(2, 5, 3, 6), (2, 33, 2, 8)] {
            var rng = TestRNG(seed: UInt64(100 + t))
            let c = nh * hd
            let x = [rng.array(b * t * c, scale: 2), rng.array(b * t * c, scale: 2), rng.array(b * t * c)]
            let keyMask: [UInt8]? = masked ? (0..<(b * t)).map { _ in rng.int(4) == 0 ? 0 : 1 } : nil
            let fast = Self.forward(x, keyMask: keyMask, causal: causal, b: b, t: t, nh: nh, hd: hd)
            let reference = AttentionReference.attention(q: x[0], k: x[1], v: x[2], keyMask: keyMask, causal: causal,
                                                         b: b, t: t, nh: nh, hd: hd)
            let errOut = relativeError(fast.out, reference.out), errAtt = relativeError(fast.att, reference.att)
            #expect(errOut < Check.referenceTolerance, "attention out t=\(t) causal=\(causal) masked=\(masked): \(errOut)")
            #expect(errAtt < Check.referenceTolerance, "attention probabilities t=\(t) causal=\(causal) masked=\(masked): \(errAtt)")
        }
    }

    @Test("the inference path (blocks of 64 query rows, no probability cache) matches the reference and the training path",
          arguments: [false, true], [false, true])
    func inferenceMatchesTraining(causal: Bool, masked: Bool) {
        let (b, t, nh, hd) = (2, 150, 2, 8)  // 150 query rows: two full blocks and a tail
        var rng = TestRNG(seed: 31)
        let c = nh * hd
        let x = [rng.array(b * t * c, scale: 2), rng.array(b * t * c, scale: 2), rng.array(b * t * c)]
        let keyMask: [UInt8]? = masked ? (0..<(b * t)).map { _ in rng.int(4) == 0 ? 0 : 1 } : nil
        let training = Self.forward(x, keyMask: keyMask, causal: causal, b: b, t: t, nh: nh, hd: hd).out
        var inference = Check.zeros(b * t * c)
        Attention.forward(out: &inference, att: nil, q: x[0], k: x[1], v: x[2], keyMask: keyMask, causal: causal,
                          b: b, t: t, nh: nh, hd: hd)
        let reference = AttentionReference.attention(q: x[0], k: x[1], v: x[2], keyMask: keyMask, causal: causal,
                                                     b: b, t: t, nh: nh, hd: hd)
        #expect(relativeError(inference, reference.out) < Check.referenceTolerance)
        #expect(zip(inference, training).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) })
    }

    @Test("attention backward matches finite differences for q, k and v", arguments: [false, true], [false, true])
    func attentionGradients(causal: Bool, masked: Bool) {
        let b = 2, t = 5, nh = 3, hd = 6, c = nh * hd
        var rng = TestRNG(seed: causal ? (masked ? 31 : 32) : (masked ? 33 : 34))
        let inputs = [rng.array(b * t * c), rng.array(b * t * c), rng.array(b * t * c)]
        let keyMask = masked ? Self.mask : nil
        Check.layer("attention causal=\(causal) masked=\(masked)", inputs: inputs, wrt: [0, 1, 2], seed: 35,
                    forward: { Self.forward($0, keyMask: keyMask, causal: causal, b: b, t: t, nh: nh, hd: hd).out },
                    backward: { x, dout, g in
                        Self.backward(x, dout: dout, grads: &g, keyMask: keyMask, causal: causal, b: b, t: t, nh: nh, hd: hd)
                    })
    }

    @Test("a fully masked query row gives output 0, no NaN and zero gradients")
    func attentionFullyMasked() {
        let b = 2, t = 5, nh = 3, hd = 6, c = nh * hd
        var rng = TestRNG(seed: 36)
        let x = [rng.array(b * t * c), rng.array(b * t * c), rng.array(b * t * c)]
        // Batch 1 has every key padded; with causal, batch 0 row 0 sees only key 0, which is padded too.
        let keyMask: [UInt8] = [0, 1, 1, 1, 1,
                                0, 0, 0, 0, 0]
        let (out, att) = Self.forward(x, keyMask: keyMask, causal: true, b: b, t: t, nh: nh, hd: hd)
        #expect(out.allSatisfy { $0.isFinite } && att.allSatisfy { $0.isFinite })
        #expect(out[(t * c)...].allSatisfy { $0 == 0 }, "batch 1 output must be 0")
        #expect(out[0..<c].allSatisfy { $0 == 0 }, "batch 0 row 0 output must be 0")
        #expect(out[c..<(2 * c)].contains { $0 != 0 }, "batch 0 row 1 attends key 1")
        var g = [Check.zeros(b * t * c), Check.zeros(b * t * c), Check.zeros(b * t * c)]
        Self.backward(x, dout: rng.array(b * t * c), grads: &g, keyMask: keyMask, causal: true, b: b, t: t, nh: nh, hd: hd)
        for (name, grad) in zip(["dq", "dk", "dv"], g) {
            #expect(grad.allSatisfy { $0.isFinite }, "\(name) has NaN or inf")
            #expect(grad[(t * c)...].allSatisfy { $0 == 0 }, "\(name) of the fully masked batch must be 0")
        }
        #expect(g[0][0..<c].allSatisfy { $0 == 0 }, "dq of the fully masked row must be 0")
    }

    @Test("attention forward and backward are bitwise deterministic")
    func attentionDeterministic() {
        let b = 2, t = 33, nh = 3, hd = 8, c = nh * hd
        var rng = TestRNG(seed: 37)
        let x = [rng.array(b * t * c), rng.array(b * t * c), rng.array(b * t * c)]
        let dout = rng.array(b * t * c)
        let keyMask: [UInt8] = (0..<(b * t)).map { _ in rng.int(5) == 0 ? 0 : 1 }
        func run() -> [[Float]] {
            let (out, att) = Self.forward(x, keyMask: keyMask, causal: false, b: b, t: t, nh: nh, hd: hd)
            var g = [Check.zeros(b * t * c), Check.zeros(b * t * c), Check.zeros(b * t * c)]
            Self.backward(x, dout: dout, grads: &g, keyMask: keyMask, causal: false, b: b, t: t, nh: nh, hd: hd)
            return [out, att] + g
        }
        let first = run(), second = run()
        for i in first.indices {
            #expect(first[i].map(\.bitPattern) == second[i].map(\.bitPattern), "attention result \(i) differs between runs")
        }
    }

    // MARK: RoPE

    @Test("rotary table matches cos/sin of pos / theta^(2i/hd)")
    func rotaryTable() {
        let table = RotaryTable(maxLength: 40, headDim: 6, theta: 10_000)
        #expect(table.cos.count == 40 * 3 && table.sin.count == 40 * 3)
        var maxError: Float = 0
        for pos in 0..<40 {
            for i in 0..<3 {
                let angle = Double(pos) / pow(10_000, Double(2 * i) / 6)
                maxError = max(maxError, abs(table.cos[pos * 3 + i] - Float(cos(angle))), abs(table.sin[pos * 3 + i] - Float(sin(angle))))
            }
        }
        #expect(maxError < 1e-5, "rotary table error \(maxError)")
    }

    @Test("RoPE forward matches the rotate_half formula", arguments: [false, true])
    func ropeMatchesNaive(explicitPositions: Bool) {
        let b = 2, t = 5, nh = 3, hd = 6, c = nh * hd
        var rng = TestRNG(seed: explicitPositions ? 38 : 39)
        let table = RotaryTable(maxLength: 40, headDim: hd, theta: 500)
        let positions: [Int32]? = explicitPositions ? (0..<(b * t)).map { _ in Int32(rng.int(40)) } : nil
        let x0 = rng.array(b * t * c)
        var x = x0
        RoPE.forward(x: &x, table: table, positions: positions, b: b, t: t, nh: nh, hd: hd)
        let reference = AttentionReference.rope(x0, positions: positions, theta: 500, b: b, t: t, nh: nh, hd: hd)
        let err = relativeError(x, reference)
        #expect(err < Check.referenceTolerance, "RoPE positions=\(explicitPositions): \(err)")
        // The rotation is orthogonal: backward (Rᵀ) undoes forward.
        RoPE.backward(dx: &x, table: table, positions: positions, b: b, t: t, nh: nh, hd: hd)
        let roundTrip = relativeError(x, x0)
        #expect(roundTrip < 1e-6, "RoPE backward ∘ forward should be the identity: \(roundTrip)")
    }

    @Test("RoPE backward (in place, dx ← Rᵀ dx) matches finite differences", arguments: [false, true])
    func ropeGradients(explicitPositions: Bool) {
        let b = 2, t = 5, nh = 3, hd = 6, c = nh * hd
        var rng = TestRNG(seed: explicitPositions ? 40 : 41)
        let table = RotaryTable(maxLength: 16, headDim: hd, theta: 10_000)
        let positions: [Int32]? = explicitPositions ? (0..<(b * t)).map { _ in Int32(rng.int(16)) } : nil
        Check.layer("RoPE positions=\(explicitPositions)", inputs: [rng.array(b * t * c)], wrt: [0], seed: 42,
                    forward: { x in
                        var y = x[0]
                        RoPE.forward(x: &y, table: table, positions: positions, b: b, t: t, nh: nh, hd: hd)
                        return y
                    },
                    backward: { _, dout, g in
                        // RoPE's backward rotates in place rather than accumulating; the harness adds it.
                        var dx = dout
                        RoPE.backward(dx: &dx, table: table, positions: positions, b: b, t: t, nh: nh, hd: hd)
                        g[0] = zip(g[0], dx).map { $0 + $1 }
                    })
    }
}
