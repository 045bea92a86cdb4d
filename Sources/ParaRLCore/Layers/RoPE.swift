// Rotary position embedding with the half-split `rotate_half` of HF / LLaDA's `RotaryEmbedding`:
// out = x * cos + rotate_half(x) * sin. Shapes: B, T, NH heads, HD = head dim, C = NH*HD.
import CKernels
import Foundation

/// Cosines and sines of every position's rotation angles: `[maxLength, headDim/2]`,
/// angle(pos, i) = pos * invFreq_i with invFreq_i = 1 / theta^(2i/headDim), angles in Float as LLaDA computes them.
public struct RotaryTable: Sendable {
    public let maxLength: Int
    public let headDim: Int
    public let theta: Float
    /// cos(angle) [maxLength, headDim/2].
    public let cos: [Float]
    /// sin(angle) [maxLength, headDim/2].
    public let sin: [Float]

    /// Builds the table for positions 0..<maxLength; `headDim` must be even.
    public init(maxLength: Int, headDim: Int, theta: Float) {
        precondition(headDim > 0 && headDim % 2 == 0, "rotary head dim must be even, got \(headDim)")
        self.maxLength = maxLength
        self.headDim = headDim
        self.theta = theta
        let half = headDim / 2
        // LLaDA: inv_freq = 1 / theta ** (arange(0, hd, 2).float() / hd); freqs = seq.float() ⊗ inv_freq (float32).
        let invFreq = (0..<half).map { i -> Float in
            let exponent = Float(2 * i) / Float(headDim)
            return 1 / Float(Foundation.pow(Double(theta), Double(exponent)))
        }
        var cosTable = [Float](repeating: 0, count: maxLength * half)
        var sinTable = [Float](repeating: 0, count: maxLength * half)
        for pos in 0..<maxLength {
            for i in 0..<half {
                let angle = Double(Float(pos) * invFreq[i])
                cosTable[pos * half + i] = Float(Foundation.cos(angle))
                sinTable[pos * half + i] = Float(Foundation.sin(angle))
            }
        }
        cos = cosTable
        sin = sinTable
    }
}

/// Rotary embedding applied in place to queries or keys laid out [B, T, NH, HD] (= [B, T, C]).
public enum RoPE {
    /// Rotates every head of every token: `x1' = x1 cos - x2 sin`, `x2' = x2 cos + x1 sin`
    /// with `x1 = x[..<HD/2]`, `x2 = x[HD/2...]`; token (b, t) sits at `positions[b*T + t]`, or at `t` when nil.
    /// - Parameters: x [B,T,NH,HD] in place; positions [B,T] or nil.
    public static func forward(x: UnsafeMutablePointer<Float>, table: RotaryTable, positions: UnsafePointer<Int32>?,
                               b: Int, t: Int, nh: Int, hd: Int) {
        rotate(x, table: table, positions: positions, b: b, t: t, nh: nh, hd: hd, sign: 1)
    }

    /// Applies the transposed rotation to a gradient in place: `dx ← Rᵀ dx`
    /// (`dx1' = dx1 cos + dx2 sin`, `dx2' = dx2 cos - dx1 sin`).
    /// - Parameters: dx [B,T,NH,HD] in place; positions [B,T] or nil.
    public static func backward(dx: UnsafeMutablePointer<Float>, table: RotaryTable, positions: UnsafePointer<Int32>?,
                                b: Int, t: Int, nh: Int, hd: Int) {
        rotate(dx, table: table, positions: positions, b: b, t: t, nh: nh, hd: hd, sign: -1)
    }

    /// Rotation by +angle (sign 1) or -angle (sign -1).
    private static func rotate(_ x: UnsafeMutablePointer<Float>, table: RotaryTable, positions: UnsafePointer<Int32>?,
                               b: Int, t: Int, nh: Int, hd: Int, sign: Float) {
        precondition(hd == table.headDim, "rotary table built for head dim \(table.headDim), got \(hd)")
        let half = hd / 2, c = nh * hd, maxLength = table.maxLength
        table.cos.withUnsafeBufferPointer { cosBuffer in
            table.sin.withUnsafeBufferPointer { sinBuffer in
                guard let cosBase = cosBuffer.baseAddress, let sinBase = sinBuffer.baseAddress else { return }
                let vectorised = Kernels.vectorised
                Parallel.chunks(b * t, minChunk: RowMath.minRows(c)) { rows in
                    for row in rows {
                        let pos = positions.map { Int($0[row]) } ?? row % t
                        precondition(pos >= 0 && pos < maxLength, "position \(pos) outside rotary table of length \(maxLength)")
                        let cs = cosBase + pos * half, sn = sinBase + pos * half
                        if vectorised {
                            pk_rope(x + row * c, cs, sn, nh, hd, sign)
                            continue
                        }
                        for h in 0..<nh {
                            let x1 = x + row * c + h * hd, x2 = x1 + half
                            for i in 0..<half {
                                let a = x1[i], bb = x2[i], s = sign * sn[i]
                                x1[i] = a * cs[i] - bb * s
                                x2[i] = bb * cs[i] + a * s
                            }
                        }
                    }
                }
            }
        }
    }
}
