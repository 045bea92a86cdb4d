// Row-major single-precision matrix multiply behind a small backend interface:
// C[M,N] = alpha * op(A)[M,K] · op(B)[K,N] + beta * C, with a naive reference beside the fast paths.
import CBLAS
import CDNNL
import Foundation

/// One implementation of row-major sgemm.
public protocol GEMMBackend: Sendable {
    var name: String { get }
    func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
               a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
               beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int)
    /// Whether `singleThreaded` makes this thread's calls run on one thread, so that many small
    /// products (attention heads) can run side by side on the kernels' worker threads.
    var supportsSingleThreadedCalls: Bool { get }
    /// Runs `body` with this thread's sgemm calls restricted to one thread.
    func singleThreaded(_ body: () -> Void)
}

extension GEMMBackend {
    public var supportsSingleThreadedCalls: Bool { false }
    public func singleThreaded(_ body: () -> Void) { body() }
}

/// The reference: three loops, accumulating in Double.
public struct NaiveGEMM: GEMMBackend {
    public init() {}
    public var name: String { "naive" }
    public var supportsSingleThreadedCalls: Bool { true }
    public func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            for j in 0..<n {
                var acc = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    acc += Double(av) * Double(bv)
                }
                let prior: Float = beta == 0 ? 0 : beta * c[i * ldc + j]
                c[i * ldc + j] = alpha * Float(acc) + prior
            }
        }
    }
}

/// OpenBLAS `cblas_sgemm` (its kernels are chosen by OPENBLAS_CORETYPE or its own CPU detection).
public struct OpenBLASGEMM: GEMMBackend {
    public init() {}
    public var name: String { "openblas" }
    public func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    /// Core name OpenBLAS selected at load time (e.g. "Haswell", "SkylakeX", "Zen").
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
}

/// oneDNN `dnnl_sgemm` (row-major by definition).
public struct DNNLGEMM: GEMMBackend {
    public init() {}
    public var name: String { "dnnl" }
    /// oneDNN sizes its OpenMP team from the calling thread's `omp_get_max_threads`, a per-thread setting.
    public var supportsSingleThreadedCalls: Bool { OpenMP.available }
    public func singleThreaded(_ body: () -> Void) {
        let saved = OpenMP.maxThreads()
        OpenMP.setThreads(1)
        body()
        OpenMP.setThreads(saved)
    }
    public func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        let status = dnnl_sgemm(CChar(transA ? 84 : 78), CChar(transB ? 84 : 78),
                                Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
        precondition(status == dnnl_success, "dnnl_sgemm failed with status \(status.rawValue) for m=\(m) n=\(n) k=\(k)")
    }
}

/// The OpenMP runtime oneDNN runs on (libgomp), reached by symbol so nothing else has to link it.
enum OpenMP {
    typealias SetThreads = @convention(c) (Int32) -> Void
    typealias GetThreads = @convention(c) () -> Int32
    static let symbols: (set: SetThreads, get: GetThreads)? = {
        guard let handle = dlopen(nil, RTLD_NOW), let set = dlsym(handle, "omp_set_num_threads"),
              let get = dlsym(handle, "omp_get_max_threads") else { return nil }
        return (unsafeBitCast(set, to: SetThreads.self), unsafeBitCast(get, to: GetThreads.self))
    }()
    static var available: Bool { symbols != nil }
    static func setThreads(_ n: Int) { symbols?.set(Int32(n)) }
    static func maxThreads() -> Int { Int(symbols?.get() ?? 1) }
}

/// The process-wide matmul backend and the helpers the layers call.
public enum GEMM {
    /// oneDNN by default: on the machines measured it is at or above OpenBLAS at transformer shapes (docs/design.md §7).
    nonisolated(unsafe) public static var backend: any GEMMBackend = DNNLGEMM()

    /// Runs `body` once per index in `0..<count`, in parallel over the kernels' threads with single-threaded
    /// sgemm calls when the backend allows it, else serially with the backend's own threading.
    /// Each index must write disjoint outputs; results do not depend on the thread count.
    public static func forEachIndependent(_ count: Int, _ body: (Int) -> Void) {
        let be = backend
        guard be.supportsSingleThreadedCalls, Parallel.threadCount > 1 else {
            for i in 0..<count { body(i) }
            return
        }
        Parallel.chunks(count) { range in
            be.singleThreaded { for i in range { body(i) } }
        }
    }

    /// `forEachIndependent` by contiguous ranges: `body` runs once per worker with its share of `0..<count`, so it can
    /// set up per-worker scratch once. The partition depends only on `count` and the thread count.
    public static func forEachIndependentRanges(_ count: Int, _ body: (Range<Int>) -> Void) {
        let be = backend
        guard be.supportsSingleThreadedCalls, Parallel.threadCount > 1 else {
            if count > 0 { body(0..<count) }
            return
        }
        Parallel.chunks(count) { range in
            be.singleThreaded { body(range) }
        }
    }

    /// Selects a backend by name: `openblas`, `dnnl` or `naive`.
    public static func backend(named name: String) -> (any GEMMBackend)? {
        switch name {
        case "openblas": return OpenBLASGEMM()
        case "dnnl": return DNNLGEMM()
        case "naive": return NaiveGEMM()
        default: return nil
        }
    }

    @inline(__always)
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                             c: UnsafeMutablePointer<Float>, ldc: Int) {
        backend.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                      b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}
