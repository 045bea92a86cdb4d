// Normalisation layers: RMSNorm as LLaDA's `RMSLayerNorm` and LayerNorm as `torch.nn.LayerNorm`
// (forward/backward after llm.c `layernorm_forward/backward`). Shapes: N = rows = B*T, C = channels.
import CKernels

/// RMSNorm: `out = x * rstd * weight`, `rstd = 1 / sqrt(mean(x²) + eps)` per row (no bias, LLaDA RMSLayerNorm).
public enum RMSNorm {
    /// Normalises every row and caches its reciprocal RMS.
    /// - Parameters: out [N,C]; rstd [N] cache; inp [N,C]; weight [C].
    public static func forward(out: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                               inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               n: Int, c: Int, eps: Float) {
        let vectorised = Kernels.vectorised
        Parallel.chunks(n, minChunk: RowMath.minRows(c)) { rows in
            if vectorised {
                pk_rmsnorm(out + rows.lowerBound * c, rstd + rows.lowerBound, inp + rows.lowerBound * c, weight, rows.count, c, eps)
                return
            }
            for i in rows {
                let x = inp + i * c, o = out + i * c
                let r = 1 / (RowMath.dot(x, x, c) / Float(c) + eps).squareRoot()
                rstd[i] = r
                for j in 0..<c { o[j] = (x[j] * r) * weight[j] }
            }
        }
    }

    /// Adds the input and weight gradients:
    /// `dinp = rstd * weight ⊙ dout - rstd³ x Σ(dout ⊙ weight ⊙ x) / C`, `dweight = Σ_rows dout ⊙ x * rstd`.
    /// - Parameters: dinp [N,C]; dweight [C]; dout [N,C]; inp [N,C]; weight [C]; rstd [N].
    public static func backward(dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, inp: UnsafePointer<Float>,
                                weight: UnsafePointer<Float>, rstd: UnsafePointer<Float>, n: Int, c: Int) {
        let parts = Parallel.partitionCount(n, minChunk: RowMath.minRows(c))
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, parts * c))
        defer { partials.deallocate() }
        RowMath.forEachPart(n, parts: parts) { part, rows in
            let dw = partials + part * c
            dw.initialize(repeating: 0, count: c)
            for i in rows {
                let x = inp + i * c, g = dout + i * c, dx = dinp + i * c
                let r = rstd[i]
                let coef = r * r * r * RowMath.dot3(g, weight, x, shift: 0, c) / Float(c)
                for j in 0..<c {
                    dx[j] += r * weight[j] * g[j] - coef * x[j]
                    dw[j] += g[j] * x[j] * r
                }
            }
        }
        RowMath.addPartials(dweight, partials, parts: parts, c)
    }
}

/// LayerNorm: `out = (x - mean) * rstd * weight + bias` with the biased variance, as `torch.nn.LayerNorm`.
public enum LayerNorm {
    /// Normalises every row and caches its mean and reciprocal standard deviation.
    /// - Parameters: out [N,C]; mean [N]; rstd [N]; inp [N,C]; weight [C]; bias [C].
    public static func forward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                               rstd: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                               n: Int, c: Int, eps: Float) {
        Parallel.chunks(n, minChunk: RowMath.minRows(c)) { rows in
            for i in rows {
                let x = inp + i * c, o = out + i * c
                let m = RowMath.sum(x, c) / Float(c)
                let r = 1 / (RowMath.squaredDeviation(x, shift: m, c) / Float(c) + eps).squareRoot()
                mean[i] = m
                rstd[i] = r
                for j in 0..<c { o[j] = (x[j] - m) * r * weight[j] + bias[j] }
            }
        }
    }

    /// Adds the input, weight and bias gradients (llm.c `layernorm_backward`).
    /// - Parameters: dinp [N,C]; dweight [C]; dbias [C]; dout [N,C]; inp [N,C]; weight [C]; mean [N]; rstd [N].
    public static func backward(dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                                dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, n: Int, c: Int) {
        let parts = Parallel.partitionCount(n, minChunk: RowMath.minRows(c))
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, parts * 2 * c))
        defer { partials.deallocate() }
        RowMath.forEachPart(n, parts: parts) { part, rows in
            let dw = partials + part * 2 * c, db = dw + c
            dw.initialize(repeating: 0, count: 2 * c)
            for i in rows {
                let x = inp + i * c, g = dout + i * c, dx = dinp + i * c
                let m = mean[i], r = rstd[i]
                // mean of dnorm = weight ⊙ dout, and mean of dnorm ⊙ norm with norm = (x - m) * r
                let dnormMean = RowMath.dot(g, weight, c) / Float(c)
                let dnormNormMean = RowMath.dot3(g, weight, x, shift: m, c) * r / Float(c)
                for j in 0..<c {
                    let norm = (x[j] - m) * r
                    dx[j] += (weight[j] * g[j] - dnormMean - norm * dnormNormMean) * r
                    dw[j] += norm * g[j]
                    db[j] += g[j]
                }
            }
        }
        for part in 0..<parts {
            let dw = partials + part * 2 * c, db = dw + c
            for j in 0..<c {
                dweight[j] += dw[j]
                dbias[j] += db[j]
            }
        }
    }
}
