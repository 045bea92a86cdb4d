// The LLaDA/MMaDA bidirectional transformer (docs/design.md §3.2): forward and backward on the numerics core,
// with the output head evaluated only at requested positions over a vocabulary slice.
// Block: x += attn_out(Attn(RoPE(q_proj(n)), RoPE(k_proj(n)), v_proj(n))), n = RMSNorm(x);
//        x += ff_out(silu(ff_proj(m)) * up_proj(m)), m = RMSNorm(x).
// Legend: B batch, T sequence, C d_model, NH heads, HD head dim, H mlp hidden, N = B·T, P head rows, W head columns.
import CKernels
import Foundation

/// Parameters (and gradients) of the transformer in two arenas laid out by checkpoint key.
public final class Transformer: @unchecked Sendable {
    public let config: TransformerConfig
    public let params: Arena
    public let grads: Arena
    public let rotary: RotaryTable
    public let maxSequenceLength: Int

    public init(config: TransformerConfig, maxSequenceLength: Int) throws {
        try config.validate()
        self.config = config
        self.maxSequenceLength = maxSequenceLength
        let layout = ArenaLayout(config.parameterShapes)
        params = Arena(layout)
        grads = Arena(layout)
        rotary = RotaryTable(maxLength: maxSequenceLength, headDim: config.headDim, theta: config.ropeTheta)
    }

    /// Pointers to one block's weights in an arena (parameters or gradients).
    struct BlockWeights {
        let attnNorm, qProj, kProj, vProj, attnOut, ffNorm, ffProj, upProj, ffOut: UnsafeMutablePointer<Float>
        init(_ a: Arena, _ i: Int) {
            let p = "model.transformer.blocks.\(i)."
            attnNorm = a[p + "attn_norm.weight"]; qProj = a[p + "q_proj.weight"]; kProj = a[p + "k_proj.weight"]
            vProj = a[p + "v_proj.weight"]; attnOut = a[p + "attn_out.weight"]; ffNorm = a[p + "ff_norm.weight"]
            ffProj = a[p + "ff_proj.weight"]; upProj = a[p + "up_proj.weight"]; ffOut = a[p + "ff_out.weight"]
        }
    }

    /// Initialises weights with N(0, 0.02) matrices and unit norm weights (LLaDA's normal init, std 0.02).
    public func initialiseWeights(rng: inout RandomStream) {
        for e in params.layout.entries {
            let p = params.base + e.offset
            if e.shape.count == 1 {
                p.update(repeating: 1, count: e.count)
            } else {
                for i in 0..<e.count { p[i] = 0.02 * rng.normal() }
            }
        }
    }
}

/// Activations of one forward pass for a fixed (B, T): every layer's, kept for backward (training), or one layer's
/// buffers reused by every layer with no attention-probability cache and no backward scratch (inference: the
/// sampler's and the likelihood's forward-only passes touch ~1/8 of the memory).
public final class TransformerActivations: @unchecked Sendable {
    public let b: Int, t: Int
    /// False for forward-only activations (`backward` needs training activations).
    public let training: Bool
    let arena: Arena
    let gradArena: Arena
    let nLayers: Int

    public init(config: TransformerConfig, b: Int, t: Int, training: Bool = true) {
        self.b = b; self.t = t; self.training = training; nLayers = config.nLayers
        let n = b * t, c = config.dModel, h = config.mlpHiddenSize, nh = config.nHeads
        var layout = ArenaLayout()
        for l in 0..<(training ? config.nLayers : 1) {
            for name in ["residual", "attnNorm", "q", "k", "v", "attnY", "residualMid", "ffNorm"] {
                layout.add("\(l).\(name)", [n, c])
            }
            layout.add("\(l).attnRstd", [n]); layout.add("\(l).ffRstd", [n])
            if training { layout.add("\(l).att", [b, nh, t, t]) }
            for name in ["gate", "up", "swiglu"] { layout.add("\(l).\(name)", [n, h]) }
        }
        if training { layout.add("final", [n, c]) }
        layout.add("finalNorm", [n, c]); layout.add("finalRstd", [n])
        arena = Arena(layout)
        // Backward scratch: residual stream gradient, a [N, C] and two [N, H] temporaries, attention scratch.
        var g = ArenaLayout()
        if training {
            g.add("dresidual", [n, c]); g.add("dnorm", [n, c]); g.add("dtmp", [n, c])
            g.add("dq", [n, c]); g.add("dk", [n, c]); g.add("dv", [n, c])
            g.add("dgate", [n, h]); g.add("dup", [n, h]); g.add("dswiglu", [n, h])
            g.add("datt", [b, nh, t, t])
        }
        gradArena = Arena(g)
    }

    /// Layer `l`'s slice `name` (inference: the shared layer's).
    @inline(__always)
    func layer(_ l: Int, _ name: String) -> UnsafeMutablePointer<Float> { arena["\(training ? l : 0).\(name)"] }

    /// The final normalised hidden states [N, C] of the last forward pass.
    public var hidden: UnsafeMutablePointer<Float> { arena["finalNorm"] }
}

extension Transformer {
    /// Forward pass over `tokens` [B·T]; leaves the final normalised hidden states in `acts.hidden`.
    /// `keyMask` [B·T] (1 attend, 0 padding) is optional; attention is bidirectional.
    public func forward(tokens: UnsafePointer<Int32>, keyMask: UnsafePointer<UInt8>?, acts: TransformerActivations) {
        let b = acts.b, t = acts.t, n = b * t, c = config.dModel, h = config.mlpHiddenSize
        let nh = config.nHeads, hd = config.headDim, eps = config.rmsNormEps
        precondition(t <= maxSequenceLength, "sequence length \(t) exceeds the rotary table (\(maxSequenceLength))")
        let a = acts.arena
        Embedding.forward(out: a["0.residual"], tokens: tokens, weight: params["model.transformer.wte.weight"], n: n, c: c)
        for l in 0..<config.nLayers {
            let w = BlockWeights(params, l)
            let x = acts.layer(l, "residual"), xn = acts.layer(l, "attnNorm")
            let q = acts.layer(l, "q"), k = acts.layer(l, "k"), v = acts.layer(l, "v")
            let y = acts.layer(l, "attnY"), mid = acts.layer(l, "residualMid"), mn = acts.layer(l, "ffNorm")
            let gate = acts.layer(l, "gate"), up = acts.layer(l, "up"), sw = acts.layer(l, "swiglu")
            // Inference reuses one layer's buffers: the block output overwrites its input x, which is dead by then.
            let next = !acts.training ? x : l + 1 < config.nLayers ? a["\(l + 1).residual"] : a["final"]

            RMSNorm.forward(out: xn, rstd: acts.layer(l, "attnRstd"), inp: x, weight: w.attnNorm, n: n, c: c, eps: eps)
            Linear.forward(out: q, inp: xn, weight: w.qProj, bias: nil, n: n, ic: c, oc: c)
            Linear.forward(out: k, inp: xn, weight: w.kProj, bias: nil, n: n, ic: c, oc: c)
            Linear.forward(out: v, inp: xn, weight: w.vProj, bias: nil, n: n, ic: c, oc: c)
            RoPE.forward(x: q, table: rotary, positions: nil, b: b, t: t, nh: nh, hd: hd)
            RoPE.forward(x: k, table: rotary, positions: nil, b: b, t: t, nh: nh, hd: hd)
            Attention.forward(out: y, att: acts.training ? a["\(l).att"] : nil, q: q, k: k, v: v, keyMask: keyMask,
                              causal: false, b: b, t: t, nh: nh, hd: hd)
            Linear.forward(out: mid, inp: y, weight: w.attnOut, bias: nil, n: n, ic: c, oc: c)
            add(mid, x, n * c)
            RMSNorm.forward(out: mn, rstd: acts.layer(l, "ffRstd"), inp: mid, weight: w.ffNorm, n: n, c: c, eps: eps)
            Linear.forward(out: gate, inp: mn, weight: w.ffProj, bias: nil, n: n, ic: c, oc: h)
            Linear.forward(out: up, inp: mn, weight: w.upProj, bias: nil, n: n, ic: c, oc: h)
            SwiGLU.forward(out: sw, gate: gate, up: up, n: n * h)
            Linear.forward(out: next, inp: sw, weight: w.ffOut, bias: nil, n: n, ic: h, oc: c)
            add(next, mid, n * c)
        }
        RMSNorm.forward(out: a["finalNorm"], rstd: a["finalRstd"], inp: acts.training ? a["final"] : acts.layer(0, "residual"),
                        weight: params["model.transformer.ln_f.weight"], n: n, c: c, eps: eps)
    }

    /// Logits [P, W] of the output head at `rows` (indices into the N = B·T positions) over `slice`,
    /// the vocabulary ids in the order of the columns. `hiddenRows` [P, C] receives the gathered hidden states.
    public func headForward(logits: UnsafeMutablePointer<Float>, hiddenRows: UnsafeMutablePointer<Float>,
                            rows: UnsafePointer<Int32>, p: Int, slice: VocabularySlice, acts: TransformerActivations) {
        let c = config.dModel, w = slice.count
        Rows.gather(out: hiddenRows, inp: acts.hidden, rows: rows, p: p, c: c)
        let head = params["model.transformer.ff_out.weight"]
        var col = 0
        for r in slice.ranges {
            GEMM.sgemm(transB: true, m: p, n: r.count, k: c, a: hiddenRows, lda: c, b: head + r.lowerBound * c, ldb: c,
                       c: logits + col, ldc: w)
            col += r.count
        }
    }

    /// Backward of `headForward`: accumulates the head's weight gradient and returns the hidden-state
    /// gradient scattered into `acts`' [N, C] scratch for `backward`. With `accumulate` the hidden-state
    /// gradient is added to that of an earlier `headBackward` (e.g. text rows, then image rows over another slice).
    public func headBackward(dlogits: UnsafePointer<Float>, hiddenRows: UnsafePointer<Float>, rows: UnsafePointer<Int32>,
                             p: Int, slice: VocabularySlice, acts: TransformerActivations, accumulate: Bool = false) {
        let c = config.dModel, w = slice.count, n = acts.b * acts.t
        let head = params["model.transformer.ff_out.weight"], dhead = grads["model.transformer.ff_out.weight"]
        precondition(acts.training, "headBackward needs training activations (TransformerActivations(training: true))")
        let g = acts.gradArena
        let dhiddenRows = g["dtmp"]  // [P, C] fits in [N, C] since P ≤ N
        precondition(p <= n, "more head rows (\(p)) than positions (\(n))")
        dhiddenRows.update(repeating: 0, count: p * c)
        var col = 0
        for r in slice.ranges {
            GEMM.sgemm(m: p, n: c, k: r.count, a: dlogits + col, lda: w, b: head + r.lowerBound * c, ldb: c,
                       beta: 1, c: dhiddenRows, ldc: c)
            GEMM.sgemm(transA: true, m: r.count, n: c, k: p, a: dlogits + col, lda: w, b: hiddenRows, ldb: c,
                       beta: 1, c: dhead + r.lowerBound * c, ldc: c)
            col += r.count
        }
        let dfinalNorm = g["dnorm"]
        if !accumulate { dfinalNorm.update(repeating: 0, count: n * c) }
        Rows.scatterAdd(dinp: dfinalNorm, dout: dhiddenRows, rows: rows, p: p, c: c)
    }

    /// Backward through ln_f and all blocks to the embedding, after `headBackward` (or after writing the
    /// gradient of the final normalised hidden states into `dHidden`). Accumulates into `grads`.
    public func backward(tokens: UnsafePointer<Int32>, acts: TransformerActivations) {
        let b = acts.b, t = acts.t, n = b * t, c = config.dModel, h = config.mlpHiddenSize
        let nh = config.nHeads, hd = config.headDim
        precondition(acts.training, "backward needs training activations (TransformerActivations(training: true))")
        let a = acts.arena, g = acts.gradArena
        let dres = g["dresidual"], dnorm = g["dnorm"], dtmp = g["dtmp"]
        let dq = g["dq"], dk = g["dk"], dv = g["dv"], dgate = g["dgate"], dup = g["dup"], dsw = g["dswiglu"]
        dres.update(repeating: 0, count: n * c)
        RMSNorm.backward(dinp: dres, dweight: grads["model.transformer.ln_f.weight"], dout: dnorm, inp: a["final"],
                         weight: params["model.transformer.ln_f.weight"], rstd: a["finalRstd"], n: n, c: c)
        for l in stride(from: config.nLayers - 1, through: 0, by: -1) {
            let w = BlockWeights(params, l), dw = BlockWeights(grads, l)
            let x = a["\(l).residual"], xn = a["\(l).attnNorm"], q = a["\(l).q"], k = a["\(l).k"], v = a["\(l).v"]
            let y = a["\(l).attnY"], mid = a["\(l).residualMid"], mn = a["\(l).ffNorm"]
            let gate = a["\(l).gate"], up = a["\(l).up"], sw = a["\(l).swiglu"]
            // MLP: dres is the gradient of the block output = d(mid) through the residual, plus the MLP branch.
            dsw.update(repeating: 0, count: n * h)
            Linear.backward(dinp: dsw, dweight: dw.ffOut, dbias: nil, dout: dres, inp: sw, weight: w.ffOut, n: n, ic: h, oc: c)
            dgate.update(repeating: 0, count: n * h); dup.update(repeating: 0, count: n * h)
            SwiGLU.backward(dgate: dgate, dup: dup, dout: dsw, gate: gate, up: up, n: n * h)
            dtmp.update(repeating: 0, count: n * c)
            Linear.backward(dinp: dtmp, dweight: dw.ffProj, dbias: nil, dout: dgate, inp: mn, weight: w.ffProj, n: n, ic: c, oc: h)
            Linear.backward(dinp: dtmp, dweight: dw.upProj, dbias: nil, dout: dup, inp: mn, weight: w.upProj, n: n, ic: c, oc: h)
            RMSNorm.backward(dinp: dres, dweight: dw.ffNorm, dout: dtmp, inp: mid, weight: w.ffNorm,
                             rstd: a["\(l).ffRstd"], n: n, c: c)
            // Attention: dres is now d(mid) = d(x) through the residual plus the attention branch.
            dtmp.update(repeating: 0, count: n * c)
            Linear.backward(dinp: dtmp, dweight: dw.attnOut, dbias: nil, dout: dres, inp: y, weight: w.attnOut, n: n, ic: c, oc: c)
            dq.update(repeating: 0, count: n * c); dk.update(repeating: 0, count: n * c); dv.update(repeating: 0, count: n * c)
            Attention.backward(dq: dq, dk: dk, dv: dv, datt: g["datt"], dout: dtmp, q: q, k: k, v: v, att: a["\(l).att"],
                               b: b, t: t, nh: nh, hd: hd)
            RoPE.backward(dx: dq, table: rotary, positions: nil, b: b, t: t, nh: nh, hd: hd)
            RoPE.backward(dx: dk, table: rotary, positions: nil, b: b, t: t, nh: nh, hd: hd)
            dnorm.update(repeating: 0, count: n * c)
            Linear.backward(dinp: dnorm, dweight: dw.qProj, dbias: nil, dout: dq, inp: xn, weight: w.qProj, n: n, ic: c, oc: c)
            Linear.backward(dinp: dnorm, dweight: dw.kProj, dbias: nil, dout: dk, inp: xn, weight: w.kProj, n: n, ic: c, oc: c)
            Linear.backward(dinp: dnorm, dweight: dw.vProj, dbias: nil, dout: dv, inp: xn, weight: w.vProj, n: n, ic: c, oc: c)
            RMSNorm.backward(dinp: dres, dweight: dw.attnNorm, dout: dnorm, inp: x, weight: w.attnNorm,
                             rstd: a["\(l).attnRstd"], n: n, c: c)
        }
        Embedding.backward(dweight: grads["model.transformer.wte.weight"], dout: dres, tokens: tokens, n: n, c: c)
    }

    /// x += y elementwise, in parallel.
    private func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) {
        let vectorised = Kernels.vectorised
        Parallel.chunks(count, minChunk: 16_384) { r in
            if vectorised {
                pk_add(x + r.lowerBound, y + r.lowerBound, r.count)
                return
            }
            for i in r { x[i] += y[i] }
        }
    }
}

/// An ordered set of vocabulary ids given as contiguous ranges: the columns of a restricted head.
public struct VocabularySlice: Sendable, Equatable {
    public let ranges: [Range<Int>]
    public init(_ ranges: [Range<Int>]) { self.ranges = ranges.filter { !$0.isEmpty } }
    public var count: Int { ranges.reduce(0) { $0 + $1.count } }
    /// Column of vocabulary id `id`, or nil when the id is outside the slice.
    public func column(of id: Int) -> Int? {
        var col = 0
        for r in ranges {
            if r.contains(id) { return col + id - r.lowerBound }
            col += r.count
        }
        return nil
    }
}
