// Token embedding lookup and row gather/scatter (llm.c `encoder_forward/backward` without positions).
// Shapes: N = rows = B*T, C = channels, P = chosen rows; weights [V, C].

/// Token embedding: `out[i, :] = weight[tokens[i], :]`.
public enum Embedding {
    /// Looks up one row of `weight` per token.
    /// - Parameters: out [N,C]; tokens [N] in 0..<V; weight [V,C].
    public static func forward(out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>,
                               weight: UnsafePointer<Float>, n: Int, c: Int) {
        Rows.gather(out: out, inp: weight, rows: tokens, p: n, c: c)
    }

    /// Adds each row of `dout` into the `dweight` row of its token.
    /// Parallel over columns so repeated tokens never race and sums keep row order.
    /// - Parameters: dweight [V,C]; dout [N,C]; tokens [N].
    public static func backward(dweight: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                tokens: UnsafePointer<Int32>, n: Int, c: Int) {
        Rows.scatterAdd(dinp: dweight, dout: dout, rows: tokens, p: n, c: c)
    }
}

/// Gather/scatter of rows, used to evaluate the output head only at chosen positions.
public enum Rows {
    /// Copies the chosen rows: `out[i, :] = inp[rows[i], :]`.
    /// - Parameters: out [P,C]; inp [N,C]; rows [P] in 0..<N.
    public static func gather(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                              rows: UnsafePointer<Int32>, p: Int, c: Int) {
        Parallel.chunks(p, minChunk: RowMath.minRows(c)) { range in
            for i in range {
                let id = Int(rows[i])
                precondition(id >= 0, "negative row index \(id) at \(i)")
                (out + i * c).update(from: inp + id * c, count: c)
            }
        }
    }

    /// Adds the rows back: `dinp[rows[i], :] += dout[i, :]` (repeated rows accumulate, in row order).
    /// - Parameters: dinp [N,C]; dout [P,C]; rows [P].
    public static func scatterAdd(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                  rows: UnsafePointer<Int32>, p: Int, c: Int) {
        guard p > 0 else { return }
        Parallel.chunks(c, minChunk: Swift.max(16, 8192 / p)) { cols in
            let lo = cols.lowerBound, width = cols.count
            for i in 0..<p {
                let id = Int(rows[i])
                precondition(id >= 0, "negative row index \(id) at \(i)")
                let dst = dinp + id * c + lo, src = dout + i * c + lo
                for j in 0..<width { dst[j] += src[j] }
            }
        }
    }
}
