// Multi-head scaled dot-product attention, softmax(q kᵀ / sqrt(HD) + mask) v per (batch, head), as
// F.scaled_dot_product_attention in LLaDA (bidirectional) and HF CLIP's text encoder (causal).
// Shapes: B, T, NH heads, HD head dim, C = NH*HD; head h of q, k, v, out is columns h*HD..<(h+1)*HD.
import Foundation

/// Attention over [B, T, C] queries, keys and values, with an optional key padding mask and causal mask.
/// The head slices are read in place through sgemm leading dimension C (no copies).
public enum Attention {
    /// Computes `out` and caches the attention probabilities in `att`.
    /// A query row whose keys are all masked gets probabilities 0 and output 0.
    /// - Parameters: out [B,T,C]; att [B,NH,T,T] probabilities cache; q, k, v [B,T,C];
    ///   keyMask [B,T] (1 = attend, 0 = padding) or nil; causal masks keys j > i.
    public static func forward(out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
                               q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                               keyMask: UnsafePointer<UInt8>?, causal: Bool,
                               b: Int, t: Int, nh: Int, hd: Int) {
        let c = nh * hd, tt = t * t
        let scale = 1 / Float(hd).squareRoot()
        for bh in 0..<(b * nh) {  // scores[T,T] = scale * Q_bh[T,HD] · K_bh[T,HD]ᵀ
            let offset = (bh / nh) * t * c + (bh % nh) * hd
            GEMM.sgemm(transB: true, m: t, n: t, k: hd, alpha: scale, a: q + offset, lda: c,
                       b: k + offset, ldb: c, c: att + bh * tt, ldc: t)
        }
        Parallel.chunks(b * nh * t, minChunk: RowMath.minRows(t)) { rows in
            for row in rows {  // row = (bh, i)
                let bi = row / (nh * t), i = row % t
                let p = att + row * t
                let keys = causal ? i + 1 : t  // columns keys..<T are causally masked
                var sum: Float = 0
                if let mask = keyMask.map({ $0 + bi * t }) {
                    var maxScore = -Float.infinity
                    for j in 0..<keys where mask[j] != 0 { maxScore = Swift.max(maxScore, p[j]) }
                    guard maxScore > -Float.infinity else {  // every key masked: probabilities and output 0
                        p.update(repeating: 0, count: t)
                        continue
                    }
                    for j in 0..<keys {
                        let e = mask[j] != 0 ? Foundation.exp(p[j] - maxScore) : 0
                        p[j] = e
                        sum += e
                    }
                } else {
                    let maxScore = RowMath.max(p, keys)
                    for j in 0..<keys {
                        let e = Foundation.exp(p[j] - maxScore)
                        p[j] = e
                        sum += e
                    }
                }
                (p + keys).update(repeating: 0, count: t - keys)
                let inv = 1 / sum
                for j in 0..<keys { p[j] *= inv }
            }
        }
        for bh in 0..<(b * nh) {  // out_bh[T,HD] = P[T,T] · V_bh[T,HD]
            let offset = (bh / nh) * t * c + (bh % nh) * hd
            GEMM.sgemm(m: t, n: hd, k: t, a: att + bh * tt, lda: t, b: v + offset, ldb: c,
                       c: out + offset, ldc: c)
        }
    }

    /// Adds the gradients of q, k and v; masks need not be passed again because masked probabilities are 0.
    /// - Parameters: dq, dk, dv [B,T,C]; datt [B,NH,T,T] scratch (overwritten); dout [B,T,C];
    ///   q, k, v [B,T,C]; att [B,NH,T,T] from `forward`.
    public static func backward(dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                                dv: UnsafeMutablePointer<Float>, datt: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                                v: UnsafePointer<Float>, att: UnsafePointer<Float>,
                                b: Int, t: Int, nh: Int, hd: Int) {
        let c = nh * hd, tt = t * t
        let scale = 1 / Float(hd).squareRoot()
        for bh in 0..<(b * nh) {
            let offset = (bh / nh) * t * c + (bh % nh) * hd
            // dP[T,T] = dout_bh[T,HD] · V_bh[T,HD]ᵀ
            GEMM.sgemm(transB: true, m: t, n: t, k: hd, a: dout + offset, lda: c, b: v + offset, ldb: c,
                       c: datt + bh * tt, ldc: t)
            // dV_bh[T,HD] += P[T,T]ᵀ · dout_bh[T,HD]
            GEMM.sgemm(transA: true, m: t, n: hd, k: t, a: att + bh * tt, lda: t, b: dout + offset, ldb: c,
                       beta: 1, c: dv + offset, ldc: c)
        }
        Parallel.chunks(b * nh * t, minChunk: RowMath.minRows(t)) { rows in
            for row in rows {  // softmax backward in place: dS = P ⊙ (dP - Σ_j P dP)
                let p = att + row * t, d = datt + row * t
                let s = RowMath.dot(p, d, t)
                for j in 0..<t { d[j] = p[j] * (d[j] - s) }
            }
        }
        for bh in 0..<(b * nh) {
            let offset = (bh / nh) * t * c + (bh % nh) * hd
            // dQ_bh[T,HD] += scale * dS[T,T] · K_bh[T,HD]
            GEMM.sgemm(m: t, n: hd, k: t, alpha: scale, a: datt + bh * tt, lda: t, b: k + offset, ldb: c,
                       beta: 1, c: dq + offset, ldc: c)
            // dK_bh[T,HD] += scale * dS[T,T]ᵀ · Q_bh[T,HD]
            GEMM.sgemm(transA: true, m: t, n: hd, k: t, alpha: scale, a: datt + bh * tt, lda: t, b: q + offset, ldb: c,
                       beta: 1, c: dk + offset, ldc: c)
        }
    }
}
