// Every GEMM backend against the naive reference, all four transpose combinations, odd sizes, alpha/beta.
import Testing
import ParaRLCore
import TestSupport

@Suite("GEMM backends")
struct GEMMTests {
    static let backends: [any GEMMBackend] = [OpenBLASGEMM(), DNNLGEMM()]

    @Test("fast backends match the naive reference", arguments: [(1, 1, 1), (7, 5, 3), (33, 17, 65), (64, 96, 128), (129, 3, 31)])
    func matchesNaive(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var rng = TestRNG(seed: UInt64(m * 1000 + n * 10 + k))
        for transA in [false, true] {
            for transB in [false, true] {
                // Padded leading dimensions catch lda/ldb/ldc mistakes.
                let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 1
                let a = rng.array((transA ? k : m) * lda), b = rng.array((transB ? n : k) * ldb)
                let c0 = rng.array(m * ldc)
                var reference = c0
                NaiveGEMM().sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.75, a: a, lda: lda,
                                  b: b, ldb: ldb, beta: 0.5, c: &reference, ldc: ldc)
                for backend in Self.backends {
                    var c = c0
                    backend.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.75, a: a, lda: lda,
                                  b: b, ldb: ldb, beta: 0.5, c: &c, ldc: ldc)
                    let err = relativeError(c, reference)
                    #expect(err < 1e-5, "\(backend.name) transA=\(transA) transB=\(transB) m=\(m) n=\(n) k=\(k): \(err)")
                }
            }
        }
    }

    @Test("beta = 0 ignores NaN garbage in C, as BLAS does")
    func betaZeroOverwrites() {
        var rng = TestRNG(seed: 9)
        let a = rng.array(4 * 3), b = rng.array(3 * 5)
        for backend in Self.backends + [NaiveGEMM()] {
            var c = [Float](repeating: .nan, count: 4 * 5)
            backend.sgemm(transA: false, transB: false, m: 4, n: 5, k: 3, alpha: 1, a: a, lda: 3, b: b, ldb: 5,
                          beta: 0, c: &c, ldc: 5)
            #expect(c.allSatisfy { $0.isFinite }, "\(backend.name)")
        }
    }

    @Test("library environment: OPENBLAS_CORETYPE only for full AVX-512, nothing the user set is overridden")
    func coreTypeDecision() {
        let avx512: Set<String> = ["avx2", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16"]
        #expect(Numerics.openBLASCoreType(flags: avx512, environment: [:]) == "SkylakeX")
        #expect(Numerics.openBLASCoreType(flags: avx512, environment: ["OPENBLAS_CORETYPE": "Haswell"]) == nil)
        #expect(Numerics.openBLASCoreType(flags: ["avx2", "fma", "avx512f"], environment: [:]) == nil)
        #expect(Numerics.openBLASCoreType(flags: [], environment: [:]) == nil)
        #expect(Numerics.libraryEnvironment(flags: avx512, environment: [:]) == ["OPENBLAS_CORETYPE": "SkylakeX", "OMP_WAIT_POLICY": "PASSIVE"])
        #expect(Numerics.libraryEnvironment(flags: ["avx2"], environment: ["OMP_WAIT_POLICY": "ACTIVE"]).isEmpty)
        let parsed = Numerics.cpuFlags(cpuinfo: "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512bw\nbugs\t: x\n")
        #expect(parsed == ["fpu", "avx2", "avx512f", "avx512bw"])
    }

    @Test("GEMMProfile passes calls through unchanged and tallies calls and FLOPs by shape")
    func profile() {
        var rng = TestRNG(seed: 21)
        let inner = DNNLGEMM(), profile = GEMMProfile(wrapping: inner)
        let a = rng.array(7 * 5), b = rng.array(5 * 9)
        var direct = [Float](repeating: 0, count: 7 * 9), profiled = direct
        inner.sgemm(transA: false, transB: false, m: 7, n: 9, k: 5, alpha: 1, a: a, lda: 5, b: b, ldb: 9, beta: 0, c: &direct, ldc: 9)
        for _ in 0..<3 {
            profile.sgemm(transA: false, transB: false, m: 7, n: 9, k: 5, alpha: 1, a: a, lda: 5, b: b, ldb: 9, beta: 0, c: &profiled, ldc: 9)
        }
        profile.singleThreaded {
            profile.sgemm(transA: true, transB: false, m: 5, n: 9, k: 7, alpha: 1, a: a, lda: 5, b: b, ldb: 9, beta: 0,
                          c: &profiled, ldc: 9)
        }
        profile.sgemm(transA: false, transB: false, m: 7, n: 9, k: 5, alpha: 1, a: a, lda: 5, b: b, ldb: 9, beta: 0, c: &profiled, ldc: 9)
        #expect(profiled == direct)
        let shapes = profile.byShape
        #expect(shapes.count == 2)
        #expect(shapes[GEMMProfile.Shape(m: 7, n: 9, k: 5, transA: false, transB: false)]?.calls == 4)
        let flops: Double = shapes[GEMMProfile.Shape(m: 7, n: 9, k: 5, transA: false, transB: false)]?.flops ?? -1
        #expect(flops == 2520)  // 4 calls × 2·7·9·5
        #expect(shapes[GEMMProfile.Shape(m: 5, n: 9, k: 7, transA: true, transB: false)]?.calls == 1)
        let total = profile.total
        #expect(total.calls == 5 && total.flops == 3150 && total.seconds > 0)
        profile.reset()
        #expect(profile.total.calls == 0 && profile.byShape.isEmpty)
    }
}
