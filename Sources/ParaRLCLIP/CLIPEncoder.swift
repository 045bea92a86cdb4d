// The pre-LN encoder shared by both towers, as HF `CLIPEncoderLayer`:
//   x += out_proj(Attn(q_proj(n), k_proj(n), v_proj(n))), n = layer_norm1(x)
//   x += fc2(act(fc1(m))),                                 m = layer_norm2(x)
// with biases everywhere, quick_gelu or gelu, causal attention in the text tower. Backward is the list reversed.
// Legend: B batch, T positions, N = B·T, C width, H MLP width, NH heads.
import Foundation
import ParaRLCore

/// One encoder pass's activations (kept for backward) and its backward scratch, for a fixed (B, T).
final class CLIPEncoderActivations {
    let b: Int, t: Int
    let arena: Arena
    let scratch: Arena

    init(_ tower: CLIPTowerShape, b: Int, t: Int) {
        self.b = b; self.t = t
        let n = b * t, c = tower.c, h = tower.h
        var layout = ArenaLayout()
        for l in 0..<tower.layers {
            for name in ["x", "ln1", "q", "k", "v", "y", "mid", "ln2"] { layout.add("\(l).\(name)", [n, c]) }
            for name in ["mean1", "rstd1", "mean2", "rstd2"] { layout.add("\(l).\(name)", [n]) }
            layout.add("\(l).att", [b, tower.nh, t, t])
            layout.add("\(l).fc1", [n, h]); layout.add("\(l).act", [n, h])
        }
        layout.add("out", [n, c])
        arena = Arena(layout)
        var s = ArenaLayout()
        for name in ["dres", "dnorm", "dtmp", "dq", "dk", "dv"] { s.add(name, [n, c]) }
        s.add("dfc1", [n, h]); s.add("dact", [n, h]); s.add("datt", [b, tower.nh, t, t])
        scratch = Arena(s)
    }

    /// The encoder input [N, C]: written by the caller before `forward`.
    var input: UnsafeMutablePointer<Float> { arena.layout.entry("0.x") != nil ? arena["0.x"] : arena["out"] }
    /// The encoder output [N, C] after `forward`.
    var output: UnsafeMutablePointer<Float> { arena["out"] }
    /// The gradient of the output [N, C]: written by the caller before `backward`, holds d(input) after it.
    var dresidual: UnsafeMutablePointer<Float> { scratch["dres"] }
}

/// Pointers to one encoder layer's tensors in an arena (parameters or gradients).
struct CLIPLayerWeights {
    let qW, qB, kW, kB, vW, vB, oW, oB, ln1W, ln1B, fc1W, fc1B, fc2W, fc2B, ln2W, ln2B: UnsafeMutablePointer<Float>
    init(_ a: Arena, _ tower: CLIPTowerShape, _ i: Int) {
        let l = "\(tower.prefix)encoder.layers.\(i)."
        qW = a[l + "self_attn.q_proj.weight"]; qB = a[l + "self_attn.q_proj.bias"]
        kW = a[l + "self_attn.k_proj.weight"]; kB = a[l + "self_attn.k_proj.bias"]
        vW = a[l + "self_attn.v_proj.weight"]; vB = a[l + "self_attn.v_proj.bias"]
        oW = a[l + "self_attn.out_proj.weight"]; oB = a[l + "self_attn.out_proj.bias"]
        ln1W = a[l + "layer_norm1.weight"]; ln1B = a[l + "layer_norm1.bias"]
        fc1W = a[l + "mlp.fc1.weight"]; fc1B = a[l + "mlp.fc1.bias"]
        fc2W = a[l + "mlp.fc2.weight"]; fc2B = a[l + "mlp.fc2.bias"]
        ln2W = a[l + "layer_norm2.weight"]; ln2B = a[l + "layer_norm2.bias"]
    }
}

enum CLIPEncoder {
    /// Runs every layer on `acts.input`, leaving the result in `acts.output`.
    static func forward(_ tower: CLIPTowerShape, params: Arena, acts: CLIPEncoderActivations) {
        let b = acts.b, t = acts.t, n = b * t, c = tower.c, h = tower.h, a = acts.arena
        for l in 0..<tower.layers {
            let w = CLIPLayerWeights(params, tower, l)
            let x = a["\(l).x"], xn = a["\(l).ln1"], q = a["\(l).q"], k = a["\(l).k"], v = a["\(l).v"]
            let y = a["\(l).y"], mid = a["\(l).mid"], mn = a["\(l).ln2"], f = a["\(l).fc1"], act = a["\(l).act"]
            let next = l + 1 < tower.layers ? a["\(l + 1).x"] : a["out"]
            LayerNorm.forward(out: xn, mean: a["\(l).mean1"], rstd: a["\(l).rstd1"], inp: x, weight: w.ln1W, bias: w.ln1B,
                              n: n, c: c, eps: tower.eps)
            Linear.forward(out: q, inp: xn, weight: w.qW, bias: w.qB, n: n, ic: c, oc: c)
            Linear.forward(out: k, inp: xn, weight: w.kW, bias: w.kB, n: n, ic: c, oc: c)
            Linear.forward(out: v, inp: xn, weight: w.vW, bias: w.vB, n: n, ic: c, oc: c)
            Attention.forward(out: y, att: a["\(l).att"], q: q, k: k, v: v, keyMask: nil, causal: tower.causal,
                              b: b, t: t, nh: tower.nh, hd: tower.hd)
            Linear.forward(out: mid, inp: y, weight: w.oW, bias: w.oB, n: n, ic: c, oc: c)
            CLIPMath.add(mid, x, n * c)
            LayerNorm.forward(out: mn, mean: a["\(l).mean2"], rstd: a["\(l).rstd2"], inp: mid, weight: w.ln2W, bias: w.ln2B,
                              n: n, c: c, eps: tower.eps)
            Linear.forward(out: f, inp: mn, weight: w.fc1W, bias: w.fc1B, n: n, ic: c, oc: h)
            switch tower.activation {
            case .quickGELU: QuickGELU.forward(out: act, inp: f, n: n * h)
            case .gelu: GELU.forward(out: act, inp: f, n: n * h)
            }
            Linear.forward(out: next, inp: act, weight: w.fc2W, bias: w.fc2B, n: n, ic: h, oc: c)
            CLIPMath.add(next, mid, n * c)
        }
    }

    /// Backward from `acts.dresidual` = d(output) to `acts.dresidual` = d(input), accumulating into `grads`.
    static func backward(_ tower: CLIPTowerShape, params: Arena, grads: Arena, acts: CLIPEncoderActivations) {
        let b = acts.b, t = acts.t, n = b * t, c = tower.c, h = tower.h, a = acts.arena, s = acts.scratch
        let dres = s["dres"], dnorm = s["dnorm"], dtmp = s["dtmp"], dq = s["dq"], dk = s["dk"], dv = s["dv"]
        let dfc1 = s["dfc1"], dact = s["dact"]
        for l in stride(from: tower.layers - 1, through: 0, by: -1) {
            let w = CLIPLayerWeights(params, tower, l), dw = CLIPLayerWeights(grads, tower, l)
            let x = a["\(l).x"], xn = a["\(l).ln1"], q = a["\(l).q"], k = a["\(l).k"], v = a["\(l).v"]
            let y = a["\(l).y"], mid = a["\(l).mid"], mn = a["\(l).ln2"], f = a["\(l).fc1"], act = a["\(l).act"]
            dact.update(repeating: 0, count: n * h)
            Linear.backward(dinp: dact, dweight: dw.fc2W, dbias: dw.fc2B, dout: dres, inp: act, weight: w.fc2W, n: n, ic: h, oc: c)
            dfc1.update(repeating: 0, count: n * h)
            switch tower.activation {
            case .quickGELU: QuickGELU.backward(dinp: dfc1, dout: dact, inp: f, n: n * h)
            case .gelu: GELU.backward(dinp: dfc1, dout: dact, inp: f, n: n * h)
            }
            dtmp.update(repeating: 0, count: n * c)
            Linear.backward(dinp: dtmp, dweight: dw.fc1W, dbias: dw.fc1B, dout: dfc1, inp: mn, weight: w.fc1W, n: n, ic: c, oc: h)
            LayerNorm.backward(dinp: dres, dweight: dw.ln2W, dbias: dw.ln2B, dout: dtmp, inp: mid, weight: w.ln2W,
                               mean: a["\(l).mean2"], rstd: a["\(l).rstd2"], n: n, c: c)
            dtmp.update(repeating: 0, count: n * c)
            Linear.backward(dinp: dtmp, dweight: dw.oW, dbias: dw.oB, dout: dres, inp: y, weight: w.oW, n: n, ic: c, oc: c)
            dq.update(repeating: 0, count: n * c); dk.update(repeating: 0, count: n * c); dv.update(repeating: 0, count: n * c)
            Attention.backward(dq: dq, dk: dk, dv: dv, datt: s["datt"], dout: dtmp, q: q, k: k, v: v, att: a["\(l).att"],
                               b: b, t: t, nh: tower.nh, hd: tower.hd)
            dnorm.update(repeating: 0, count: n * c)
            Linear.backward(dinp: dnorm, dweight: dw.qW, dbias: dw.qB, dout: dq, inp: xn, weight: w.qW, n: n, ic: c, oc: c)
            Linear.backward(dinp: dnorm, dweight: dw.kW, dbias: dw.kB, dout: dk, inp: xn, weight: w.kW, n: n, ic: c, oc: c)
            Linear.backward(dinp: dnorm, dweight: dw.vW, dbias: dw.vB, dout: dv, inp: xn, weight: w.vW, n: n, ic: c, oc: c)
            LayerNorm.backward(dinp: dres, dweight: dw.ln1W, dbias: dw.ln1B, dout: dnorm, inp: x, weight: w.ln1W,
                               mean: a["\(l).mean1"], rstd: a["\(l).rstd1"], n: n, c: c)
        }
    }
}

/// Small element-wise helpers of the CLIP towers.
enum CLIPMath {
    /// x += y.
    static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) {
        Parallel.chunks(count, minChunk: 16_384) { r in for i in r { x[i] += y[i] } }
    }
}
