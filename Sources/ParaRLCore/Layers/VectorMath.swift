// Vectorised exp (Cephes expf: range reduction by ln 2, degree-6 polynomial, 2^n by exponent bits) for the
// softmax, SwiGLU and GELU loops; ≤ 2 ulp on [-87, 88], 0 below, +inf above. Scalar calls use the same
// vector code so a value's result never depends on where it sits in a row.

enum VectorMath {
    @inline(__always)
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let hi = SIMD8<Float>(repeating: 88.376_26), lo = SIMD8<Float>(repeating: -87.336_54)
        var xc = x
        xc.replace(with: lo, where: x .< lo)
        xc.replace(with: hi, where: x .> hi)
        // Round x·log2(e) to an integer n with the 1.5·2^23 trick: the sum's low mantissa bits hold n.
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let shifted = xc * 1.442_695_04 + magic
        let n = shifted - magic
        var r = xc - n * 0.693_359_375
        r = r + n * 2.121_944_4e-4
        var p = SIMD8<Float>(repeating: 1.987_569_150_0e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        p = p * (r * r) + r + 1
        let nBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: SIMD8<Float>.self)
        var y = p * scale
        y.replace(with: 0, where: x .< lo)
        y.replace(with: .infinity, where: x .> hi)
        y.replace(with: x, where: x .!= x)  // NaN stays NaN
        return y
    }

    @inline(__always)
    static func exp(_ x: Float) -> Float { exp(SIMD8<Float>(repeating: x))[0] }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ j: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ j: Int) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, toByteOffset: j * 4, as: SIMD8<Float>.self)
    }

    /// out[j] = exp(x[j] − shift) for j < n; returns Σ out[j] summed in a fixed order (8 lanes, then the tail).
    @inline(__always)
    static func expShifted(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, shift: Float, _ n: Int) -> Float {
        let s = SIMD8<Float>(repeating: shift)
        var acc = SIMD8<Float>(repeating: 0)
        var j = 0
        while j + 8 <= n {
            let e = exp(load(x, j) - s)
            store(e, out, j)
            acc += e
            j += 8
        }
        var sum = acc.sum()
        while j < n {
            let e = exp(x[j] - shift)
            out[j] = e
            sum += e
            j += 1
        }
        return sum
    }
}
