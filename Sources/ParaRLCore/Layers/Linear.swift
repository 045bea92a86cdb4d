// Fully connected layer in PyTorch's [out, in] weight layout (llm.c `matmul_forward/backward`), via GEMM.sgemm.
// Shapes: N = rows = B*T, IC = input channels, OC = output channels.

/// `out[n, oc] = inp[n, ic] · weight[oc, ic]^T (+ bias[oc])`.
public enum Linear {
    /// Applies the layer to every row.
    /// - Parameters: out [N,OC]; inp [N,IC]; weight [OC,IC]; bias [OC] or nil.
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               n: Int, ic: Int, oc: Int) {
        GEMM.sgemm(transB: true, m: n, n: oc, k: ic, a: inp, lda: ic, b: weight, ldb: ic, c: out, ldc: oc)
        guard let bias else { return }
        Parallel.chunks(n, minChunk: RowMath.minRows(oc)) { rows in
            for i in rows {
                let o = out + i * oc
                for j in 0..<oc { o[j] += bias[j] }
            }
        }
    }

    /// Adds the gradients of the inputs and parameters; a nil buffer means that gradient is not wanted.
    /// - Parameters: dinp [N,IC]; dweight [OC,IC]; dbias [OC]; dout [N,OC]; inp [N,IC]; weight [OC,IC].
    public static func backward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?,
                                dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                n: Int, ic: Int, oc: Int) {
        if let dinp {  // dinp[N,IC] += dout[N,OC] · weight[OC,IC]
            GEMM.sgemm(m: n, n: ic, k: oc, a: dout, lda: oc, b: weight, ldb: ic, beta: 1, c: dinp, ldc: ic)
        }
        if let dweight {  // dweight[OC,IC] += dout^T[OC,N] · inp[N,IC]
            GEMM.sgemm(transA: true, m: oc, n: ic, k: n, a: dout, lda: oc, b: inp, ldb: ic, beta: 1, c: dweight, ldc: ic)
        }
        if let dbias, n > 0 {  // dbias[OC] += Σ_n dout[n, :], parallel over columns, rows summed in order
            Parallel.chunks(oc, minChunk: Swift.max(16, 8192 / n)) { cols in
                let lo = cols.lowerBound, width = cols.count
                let db = dbias + lo
                for i in 0..<n {
                    let d = dout + i * oc + lo
                    for j in 0..<width { db[j] += d[j] }
                }
            }
        }
    }
}
