// Element-wise activations: SwiGLU as LLaDA's MLP `silu(ff_proj(x)) * up_proj(x)`, exact-erf GELU (HF "gelu")
// and QuickGELU `x * sigmoid(1.702 x)` (HF "quick_gelu", CLIP). N = element count.
import CKernels
import Foundation

/// Elements per parallel chunk of the element-wise kernels.
private let minElements = 16384

/// SwiGLU gate: `out = silu(gate) * up`, `silu(g) = g * sigmoid(g)`.
public enum SwiGLU {
    /// - Parameters: out [N]; gate [N]; up [N].
    public static func forward(out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>,
                               up: UnsafePointer<Float>, n: Int) {
        let vectorised = Kernels.vectorised
        Parallel.chunks(n, minChunk: minElements) { range in
            if vectorised {
                pk_swiglu(out + range.lowerBound, gate + range.lowerBound, up + range.lowerBound, range.count)
                return
            }
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let g = VectorMath.load(gate, i)
                VectorMath.store(g / (1 + VectorMath.exp(-g)) * VectorMath.load(up, i), out, i)
                i += 8
            }
            while i < range.upperBound {
                let g = gate[i]
                out[i] = g / (1 + VectorMath.exp(-g)) * up[i]
                i += 1
            }
        }
    }

    /// Adds `dgate = dout * up * silu'(gate)` and `dup = dout * silu(gate)`,
    /// with `silu'(g) = s (1 + g (1 - s))`, `s = sigmoid(g)`.
    /// - Parameters: dgate [N]; dup [N]; dout [N]; gate [N]; up [N].
    public static func backward(dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, gate: UnsafePointer<Float>,
                                up: UnsafePointer<Float>, n: Int) {
        Parallel.chunks(n, minChunk: minElements) { range in
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let g = VectorMath.load(gate, i), d = VectorMath.load(dout, i)
                let s = 1 / (1 + VectorMath.exp(-g))
                VectorMath.store(VectorMath.load(dgate, i) + d * VectorMath.load(up, i) * s * (1 + g * (1 - s)), dgate, i)
                VectorMath.store(VectorMath.load(dup, i) + d * g * s, dup, i)
                i += 8
            }
            while i < range.upperBound {
                let g = gate[i], s = 1 / (1 + VectorMath.exp(-g))
                dgate[i] += dout[i] * up[i] * s * (1 + g * (1 - s))
                dup[i] += dout[i] * g * s
                i += 1
            }
        }
    }
}

/// Exact GELU: `out = 0.5 x (1 + erf(x / sqrt 2))`.
public enum GELU {
    /// - Parameters: out [N]; inp [N].
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, n: Int) {
        let invSqrt2: Float = 0.70710678118654752
        Parallel.chunks(n, minChunk: minElements) { range in
            for i in range {
                let x = inp[i]
                out[i] = 0.5 * x * (1 + Foundation.erf(x * invSqrt2))
            }
        }
    }

    /// Adds `dinp = dout * (Φ(x) + x φ(x))`.
    /// - Parameters: dinp [N]; dout [N]; inp [N].
    public static func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                inp: UnsafePointer<Float>, n: Int) {
        let invSqrt2: Float = 0.70710678118654752, invSqrt2Pi: Float = 0.39894228040143268
        Parallel.chunks(n, minChunk: minElements) { range in
            for i in range {
                let x = inp[i]
                let cdf = 0.5 * (1 + Foundation.erf(x * invSqrt2))
                let pdf = invSqrt2Pi * Foundation.exp(-0.5 * x * x)
                dinp[i] += dout[i] * (cdf + x * pdf)
            }
        }
    }
}

/// QuickGELU: `out = x * sigmoid(1.702 x)`.
public enum QuickGELU {
    /// - Parameters: out [N]; inp [N].
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, n: Int) {
        Parallel.chunks(n, minChunk: minElements) { range in
            for i in range {
                let x = inp[i]
                out[i] = x / (1 + VectorMath.exp(-1.702 * x))
            }
        }
    }

    /// Adds `dinp = dout * (s + 1.702 x s (1 - s))`, `s = sigmoid(1.702 x)`.
    /// - Parameters: dinp [N]; dout [N]; inp [N].
    public static func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                inp: UnsafePointer<Float>, n: Int) {
        Parallel.chunks(n, minChunk: minElements) { range in
            for i in range {
                let x = inp[i], s = 1 / (1 + VectorMath.exp(-1.702 * x))
                dinp[i] += dout[i] * (s + 1.702 * x * s * (1 - s))
            }
        }
    }
}
