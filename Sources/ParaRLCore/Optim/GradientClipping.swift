// Global gradient-norm clipping as torch.nn.utils.clip_grad_norm_ (L2 over all gradients), with the norm
// summed in Double over fixed blocks so it does not depend on the thread count.

public enum GradientClipping {
    /// Elements per block of the norm's partial sums; the partition depends only on the buffer sizes.
    public static let blockSize = 4096

    /// The L2 norm of all `gradients` together. Squares are summed in Double within fixed blocks (in
    /// parallel) and the block sums are added in buffer-then-block order, so the result is deterministic.
    public static func globalNorm(_ gradients: [UnsafeMutableBufferPointer<Float>]) -> Double {
        var blocks: [(buffer: Int, range: Range<Int>)] = []
        for (b, g) in gradients.enumerated() {
            for lo in stride(from: 0, to: g.count, by: blockSize) { blocks.append((b, lo..<min(lo + blockSize, g.count))) }
        }
        var partial = [Double](repeating: 0, count: blocks.count)
        partial.withUnsafeMutableBufferPointer { out in
            Parallel.chunks(blocks.count) { range in
                for k in range {
                    let g = gradients[blocks[k].buffer]
                    var s = 0.0
                    for i in blocks[k].range { let x = Double(g[i]); s += x * x }
                    out[k] = s
                }
            }
        }
        return partial.reduce(0, +).squareRoot()
    }

    /// `torch.nn.utils.clip_grad_norm_(params, maxNorm)`: returns the pre-clip norm and, when it is finite
    /// and maxNorm / (norm + 1e-6) < 1, multiplies every gradient by that factor. A non-finite norm (inf or
    /// NaN) is returned with the gradients untouched so the caller can skip the step (torch would scale
    /// them by NaN).
    public static func clip(_ gradients: [UnsafeMutableBufferPointer<Float>], maxNorm: Double) -> Double {
        let norm = globalNorm(gradients)
        guard norm.isFinite else { return norm }
        let coefficient = maxNorm / (norm + 1e-6)
        guard coefficient < 1 else { return norm }
        let scale = Float(coefficient)
        for g in gradients {
            Parallel.chunks(g.count, minChunk: 1 << 14) { range in
                for i in range { g[i] *= scale }
            }
        }
        return norm
    }

    public static func globalNorm(_ gradients: UnsafeMutableBufferPointer<Float>) -> Double { globalNorm([gradients]) }
    public static func clip(_ gradients: UnsafeMutableBufferPointer<Float>, maxNorm: Double) -> Double {
        clip([gradients], maxNorm: maxNorm)
    }
}
