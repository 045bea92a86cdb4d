// Row-wise softmax and log-softmax (max-subtracted, as torch.softmax / torch.log_softmax over the last dim).
// Shapes: rows × cols, row-major.
import CKernels
import Foundation

/// Row-wise softmax: `out[r, j] = exp(x[r, j] - max_r) / Σ_k exp(x[r, k] - max_r)`.
public enum Softmax {
    /// - Parameters: out [rows,cols]; inp [rows,cols].
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, rows: Int, cols: Int) {
        Parallel.chunks(rows, minChunk: RowMath.minRows(cols)) { range in
            for r in range { row(out + r * cols, inp + r * cols, cols) }
        }
    }

    /// Adds `dinp = out ⊙ (dout - Σ_j dout ⊙ out)` per row.
    /// - Parameters: dinp [rows,cols]; dout [rows,cols]; out [rows,cols] from `forward`.
    public static func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                out: UnsafePointer<Float>, rows: Int, cols: Int) {
        Parallel.chunks(rows, minChunk: RowMath.minRows(cols)) { range in
            for r in range {
                let y = out + r * cols, g = dout + r * cols, dx = dinp + r * cols
                let s = RowMath.dot(g, y, cols)
                for j in 0..<cols { dx[j] += y[j] * (g[j] - s) }
            }
        }
    }

    /// Softmax of one row of `n ≥ 1` values; returns (max, Σ exp(x - max)) for callers that need the log-sum-exp.
    @inline(__always) @discardableResult
    static func row(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) -> (max: Float, sum: Float) {
        let m = RowMath.max(x, n)
        let sum = Kernels.vectorised ? pk_exp_shifted(out, x, m, n) : VectorMath.expShifted(out, x, shift: m, n)
        let inv = 1 / sum
        for j in 0..<n { out[j] *= inv }
        return (m, sum)
    }
}

/// Row-wise log-softmax: `out[r, j] = x[r, j] - max_r - log Σ_k exp(x[r, k] - max_r)`.
public enum LogSoftmax {
    /// - Parameters: out [rows,cols]; inp [rows,cols].
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, rows: Int, cols: Int) {
        Parallel.chunks(rows, minChunk: RowMath.minRows(cols)) { range in
            for r in range {
                let x = inp + r * cols, y = out + r * cols
                let m = RowMath.max(x, cols)
                var sum: Float = 0
                for j in 0..<cols { sum += VectorMath.exp(x[j] - m) }
                let logSum = Foundation.log(sum)
                for j in 0..<cols { y[j] = (x[j] - m) - logSum }
            }
        }
    }

    /// Adds `dinp = dout - softmax ⊙ Σ_j dout` per row, with `softmax = exp(out)`.
    /// - Parameters: dinp [rows,cols]; dout [rows,cols]; out [rows,cols] from `forward`.
    public static func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                out: UnsafePointer<Float>, rows: Int, cols: Int) {
        Parallel.chunks(rows, minChunk: RowMath.minRows(cols)) { range in
            for r in range {
                let y = out + r * cols, g = dout + r * cols, dx = dinp + r * cols
                let s = RowMath.sum(g, cols)
                for j in 0..<cols { dx[j] += g[j] - VectorMath.exp(y[j]) * s }
            }
        }
    }
}
