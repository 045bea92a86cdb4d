// A GEMM backend wrapper that times every sgemm call by shape: where a benchmark's matmul time goes and how close each
// shape runs to the machine's rate. Calls made inside `forEachIndependent` (attention heads side by side) run on every
// worker at once, so their summed seconds are divided by the worker count to give wall seconds.
import Foundation

public final class GEMMProfile: GEMMBackend, @unchecked Sendable {
    public struct Shape: Hashable, Sendable, Comparable {
        public var m: Int, n: Int, k: Int, transA: Bool, transB: Bool
        public init(m: Int, n: Int, k: Int, transA: Bool, transB: Bool) {
            self.m = m; self.n = n; self.k = k; self.transA = transA; self.transB = transB
        }
        public static func < (a: Shape, b: Shape) -> Bool { (a.m, a.n, a.k) < (b.m, b.n, b.k) }
        public var description: String { "\(m)×\(n)×\(k)\(transA ? " Aᵀ" : "")\(transB ? " Bᵀ" : "")" }
    }
    public struct Tally: Sendable {
        public var calls = 0
        /// Wall seconds (concurrent calls count 1/workers of their time).
        public var seconds = 0.0
        public var flops = 0.0
        public var gflops: Double { seconds > 0 ? flops / seconds / 1e9 : 0 }
        public init(calls: Int = 0, seconds: Double = 0, flops: Double = 0) {
            self.calls = calls; self.seconds = seconds; self.flops = flops
        }
    }

    public let inner: any GEMMBackend
    private let lock = NSLock()
    private var tallies: [Shape: Tally] = [:]
    private let concurrentKey: pthread_key_t

    public init(wrapping inner: any GEMMBackend) {
        self.inner = inner
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        concurrentKey = key
    }
    deinit { pthread_key_delete(concurrentKey) }

    public var name: String { inner.name }
    public var supportsSingleThreadedCalls: Bool { inner.supportsSingleThreadedCalls }
    public func singleThreaded(_ body: () -> Void) {
        let before = pthread_getspecific(concurrentKey)
        pthread_setspecific(concurrentKey, UnsafeRawPointer(bitPattern: 1))
        inner.singleThreaded(body)
        pthread_setspecific(concurrentKey, before)
    }

    public func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let start = DispatchTime.now().uptimeNanoseconds
        inner.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                    beta: beta, c: c, ldc: ldc)
        var seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if pthread_getspecific(concurrentKey) != nil { seconds /= Double(max(1, Parallel.threadCount)) }
        let shape = Shape(m: m, n: n, k: k, transA: transA, transB: transB)
        lock.lock()
        tallies[shape, default: Tally()].calls += 1
        tallies[shape, default: Tally()].seconds += seconds
        tallies[shape, default: Tally()].flops += 2 * Double(m) * Double(n) * Double(k)
        lock.unlock()
    }

    /// The tallies so far, by shape.
    public var byShape: [Shape: Tally] {
        lock.lock(); defer { lock.unlock() }
        return tallies
    }

    /// The sum over every shape.
    public var total: Tally {
        byShape.values.reduce(into: Tally()) { $0.calls += $1.calls; $0.seconds += $1.seconds; $0.flops += $1.flops }
    }

    public func reset() {
        lock.lock(); tallies = [:]; lock.unlock()
    }
}
