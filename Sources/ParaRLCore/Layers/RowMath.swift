// Deterministic row reductions (sum, dot, max) and the fixed row partition shared by the layer kernels.
// SIMD8 partial sums in a fixed order: results depend only on the row length, never on the thread count.

/// Small vector helpers used inside the layer kernels' per-row loops.
enum RowMath {
    /// Σ x[j] for j in 0..<n.
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        let raw = UnsafeRawPointer(x)
        var j = 0
        while j + 8 <= n {
            acc += raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            j += 8
        }
        var s = acc.sum()
        while j < n { s += x[j]; j += 1 }
        return s
    }

    /// Σ a[j] * b[j] for j in 0..<n.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var j = 0
        while j + 8 <= n {
            acc += ra.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            j += 8
        }
        var s = acc.sum()
        while j < n { s += a[j] * b[j]; j += 1 }
        return s
    }

    /// Σ a[j] * b[j] * (x[j] - shift) for j in 0..<n.
    @inline(__always)
    static func dot3(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                     shift: Float, _ n: Int) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b), rx = UnsafeRawPointer(x)
        let vshift = SIMD8<Float>(repeating: shift)
        var j = 0
        while j + 8 <= n {
            let o = j * 4
            acc += ra.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                * (rx.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) - vshift)
            j += 8
        }
        var s = acc.sum()
        while j < n { s += a[j] * b[j] * (x[j] - shift); j += 1 }
        return s
    }

    /// Σ (x[j] - shift)² for j in 0..<n.
    @inline(__always)
    static func squaredDeviation(_ x: UnsafePointer<Float>, shift: Float, _ n: Int) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        let raw = UnsafeRawPointer(x)
        let vshift = SIMD8<Float>(repeating: shift)
        var j = 0
        while j + 8 <= n {
            let d = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) - vshift
            acc += d * d
            j += 8
        }
        var s = acc.sum()
        while j < n { let d = x[j] - shift; s += d * d; j += 1 }
        return s
    }

    /// max_j x[j] for j in 0..<n (n ≥ 1).
    @inline(__always)
    static func max(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = -Float.infinity
        var j = 0
        if n >= 8 {
            var acc = SIMD8<Float>(repeating: -.infinity)
            let raw = UnsafeRawPointer(x)
            while j + 8 <= n {
                let v = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                acc.replace(with: v, where: v .> acc)  // pointwiseMax is not specialised in -O builds
                j += 8
            }
            m = acc.max()
        }
        while j < n { m = Swift.max(m, x[j]); j += 1 }
        return m
    }

    /// Rows per parallel chunk so that each chunk holds at least ~8K floats of work.
    @inline(__always)
    static func minRows(_ c: Int) -> Int { Swift.max(1, 8192 / Swift.max(c, 1)) }

    /// Runs `body(part, rows)` on each of the `parts` fixed, contiguous parts of `0..<count`, in parallel
    /// (`parts` from `Parallel.partitionCount`); per-part partial sums added in part order are deterministic.
    static func forEachPart(_ count: Int, parts: Int, _ body: (Int, Range<Int>) -> Void) {
        Parallel.chunks(parts) { range in
            for part in range { body(part, Parallel.chunkRange(count, parts: parts, index: part)) }
        }
    }

    /// Adds `parts` partial rows of length `c` (laid out one after another) into `dst`, in part order.
    @inline(__always)
    static func addPartials(_ dst: UnsafeMutablePointer<Float>, _ partials: UnsafePointer<Float>, parts: Int, _ c: Int) {
        for part in 0..<parts {
            let src = partials + part * c
            for j in 0..<c { dst[j] += src[j] }
        }
    }
}
