// Fixed-partition parallel loops for the non-GEMM kernels: results depend only on the thread count.
import Dispatch
import Foundation

public enum Parallel {
    /// Worker threads for the non-GEMM kernels. Set once at start-up (`Numerics.configure`).
    nonisolated(unsafe) public static var threadCount: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Splits `0..<count` into at most `threadCount` contiguous chunks and runs `body` on each.
    /// The partition depends only on `count` and `threadCount`, so any per-chunk reduction is deterministic.
    @inline(__always)
    public static func chunks(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = partitionCount(count, minChunk: minChunk)
        if parts <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            body(chunkRange(count, parts: parts, index: p))
        }
    }

    /// Number of chunks `chunks` will use for `count` items.
    public static func partitionCount(_ count: Int, minChunk: Int = 1) -> Int {
        guard count > 0 else { return 0 }
        return max(1, min(threadCount, count / max(1, minChunk)))
    }

    /// The `index`-th of `parts` contiguous, nearly equal ranges of `0..<count`.
    public static func chunkRange(_ count: Int, parts: Int, index: Int) -> Range<Int> {
        let base = count / parts, extra = count % parts
        let lo = index * base + min(index, extra)
        return lo..<(lo + base + (index < extra ? 1 : 0))
    }
}
