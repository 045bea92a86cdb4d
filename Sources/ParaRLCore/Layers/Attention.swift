// Multi-head scaled dot-product attention, softmax(q kᵀ / sqrt(HD) + mask) v per (batch, head), as
// F.scaled_dot_product_attention in LLaDA (bidirectional) and HF CLIP's text encoder (causal).
// Shapes: B, T, NH heads, HD head dim, C = NH*HD; head h of q, k, v, out is columns h*HD..<(h+1)*HD.
import CKernels
import Foundation

/// Attention over [B, T, C] queries, keys and values, with an optional key padding mask and causal mask.
/// The head slices are read in place through sgemm leading dimension C (no copies). Each (batch, head)
/// is one independent unit of work (`GEMM.forEachIndependent`): heads run side by side with
/// single-threaded products where the GEMM backend allows it, else one after another with threaded ones.
/// Per head: scores = scale·Q·Kᵀ, the masked softmax of every row (vectorised exp, the padding mask applied as
/// a 0/−∞ bias), out = P·V. Training computes all T query rows at once and keeps P in the caller's [B,NH,T,T]
/// cache for the backward pass; inference (`att` nil) never writes a T×T matrix: it takes blocks of 64 query rows
/// (scores, softmax and weighted sum of one block) through a [64, T] scratch per worker that stays in cache. Both
/// run the same row code; oneDNN's rows do not depend on the block's height (checked on the build machine), so the
/// two paths agree to the bit there and to float rounding elsewhere.
public enum Attention {
    /// Query rows per block of the inference path (64 rows × T ≤ 512 keys: a ≤ 128 KB scratch).
    public static let inferenceRows = 64

    /// Computes `out` and, when `att` is given, caches the attention probabilities there.
    /// A query row whose keys are all masked gets probabilities 0 and output 0.
    /// - Parameters: out [B,T,C]; att [B,NH,T,T] probabilities cache, or nil for inference; q, k, v [B,T,C];
    ///   keyMask [B,T] (1 = attend, 0 = padding) or nil; causal masks keys j > i.
    public static func forward(out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>?,
                               q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                               keyMask: UnsafePointer<UInt8>?, causal: Bool,
                               b: Int, t: Int, nh: Int, hd: Int) {
        let c = nh * hd, tt = t * t
        let scale = 1 / Float(hd).squareRoot()
        // The padding mask as an additive bias: 0 where a key is attended, −∞ where it is padding.
        let bias: UnsafeMutablePointer<Float>? = keyMask.map { mask in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: b * t)
            for i in 0..<(b * t) { p[i] = mask[i] != 0 ? 0 : -.infinity }
            return p
        }
        defer { bias?.deallocate() }
        // Training: one block of all T query rows, its probabilities kept in `att`. Inference: blocks of
        // `inferenceRows` query rows through a [rows, T] scratch per worker that stays in cache.
        let block = att == nil ? Swift.min(t, inferenceRows) : t
        GEMM.forEachIndependentRanges(b * nh) { range in
            let scratch = att == nil ? UnsafeMutablePointer<Float>.allocate(capacity: block * t) : nil
            defer { scratch?.deallocate() }
            for bh in range {
                let offset = (bh / nh) * t * c + (bh % nh) * hd
                let rowBias = bias.map { UnsafePointer($0 + (bh / nh) * t) }
                for first in stride(from: 0, to: t, by: block) {
                    let rows = Swift.min(block, t - first)
                    let scores = att.map { $0 + bh * tt + first * t } ?? scratch.unsafelyUnwrapped
                    // scores[rows,T] = scale * Q_bh[first..<first+rows, HD] · K_bh[T,HD]ᵀ
                    GEMM.sgemm(transB: true, m: rows, n: t, k: hd, alpha: scale, a: q + offset + first * c, lda: c,
                               b: k + offset, ldb: c, c: scores, ldc: t)
                    for i in 0..<rows { softmaxRow(scores + i * t, query: first + i, t: t, bias: rowBias, causal: causal) }
                    // out_bh[first..<first+rows, HD] = P[rows,T] · V_bh[T,HD]
                    GEMM.sgemm(m: rows, n: hd, k: t, a: scores, lda: t, b: v + offset, ldb: c, c: out + offset + first * c, ldc: c)
                }
            }
        }
    }

    /// Masked, max-subtracted softmax of one score row in place; all-masked rows become 0. `bias` [T] (0 or −∞ per
    /// key) masks padding. On AVX2/AVX-512 CPUs the C kernel (vectorised exp, the bias added in the vector loop); on
    /// others (or PARARL_ISA=portable) the portable code below, whose results are bit for bit those of the first
    /// releases (run folders and fixtures written by them resume exactly).
    @inline(__always)
    static func softmaxRow(_ p: UnsafeMutablePointer<Float>, query i: Int, t: Int, bias: UnsafePointer<Float>?, causal: Bool) {
        let keys = causal ? i + 1 : t  // columns keys..<T are causally masked
        if Kernels.vectorised {
            pk_softmax_row(p, bias, keys, t)
            return
        }
        var sum: Float = 0
        if let bias {
            var maxScore = -Float.infinity
            for j in 0..<keys where bias[j] == 0 { maxScore = Swift.max(maxScore, p[j]) }
            guard maxScore > -Float.infinity else {  // every key masked: probabilities and output 0
                p.update(repeating: 0, count: t)
                return
            }
            for j in 0..<keys {
                let e = bias[j] == 0 ? VectorMath.exp(p[j] - maxScore) : 0
                p[j] = e
                sum += e
            }
        } else {
            sum = VectorMath.expShifted(p, p, shift: RowMath.max(p, keys), keys)
        }
        (p + keys).update(repeating: 0, count: t - keys)
        let inv = 1 / sum
        for j in 0..<keys { p[j] *= inv }
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
        GEMM.forEachIndependent(b * nh) { bh in
            let offset = (bh / nh) * t * c + (bh % nh) * hd
            let p = att + bh * tt, d = datt + bh * tt
            // dP[T,T] = dout_bh[T,HD] · V_bh[T,HD]ᵀ
            GEMM.sgemm(transB: true, m: t, n: t, k: hd, a: dout + offset, lda: c, b: v + offset, ldb: c, c: d, ldc: t)
            // dV_bh[T,HD] += P[T,T]ᵀ · dout_bh[T,HD]
            GEMM.sgemm(transA: true, m: t, n: hd, k: t, a: p, lda: t, b: dout + offset, ldb: c,
                       beta: 1, c: dv + offset, ldc: c)
            for i in 0..<t {  // softmax backward in place: dS = P ⊙ (dP - Σ_j P dP)
                let pr = p + i * t, dr = d + i * t
                let s = RowMath.dot(pr, dr, t)
                for j in 0..<t { dr[j] = pr[j] * (dr[j] - s) }
            }
            // dQ_bh[T,HD] += scale * dS[T,T] · K_bh[T,HD]
            GEMM.sgemm(m: t, n: hd, k: t, alpha: scale, a: d, lda: t, b: k + offset, ldb: c,
                       beta: 1, c: dq + offset, ldc: c)
            // dK_bh[T,HD] += scale * dS[T,T]ᵀ · Q_bh[T,HD]
            GEMM.sgemm(transA: true, m: t, n: hd, k: t, alpha: scale, a: d, lda: t, b: q + offset, ldb: c,
                       beta: 1, c: dk + offset, ldc: c)
        }
    }
}
