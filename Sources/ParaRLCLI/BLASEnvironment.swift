// Re-executes the program once with the BLAS/OpenMP environment it runs best with, when the user set
// nothing: OpenBLAS and libgomp read these variables only while loading, before any Swift code runs.
// - OPENBLAS_CORETYPE=SkylakeX on CPUs with AVX-512 F/BW/DQ/VL (Debian's OpenBLAS otherwise runs AVX2 kernels, docs/design.md §7);
// - OMP_WAIT_POLICY=PASSIVE, so oneDNN's idle OpenMP workers sleep instead of spinning on the cores the
//   element-wise kernels need (measured: transformer forward+backward 2.44 s → 2.25 s on 2 cores).
import Foundation
import ParaRLCore

enum BLASEnvironment {
    static let marker = "PARARL_BLAS_REEXEC"

    static func reexecIfNeeded() {
        let env = ProcessInfo.processInfo.environment
        guard env[marker] == nil else { return }
        let add = Numerics.libraryEnvironment(flags: Numerics.cpuFlags(), environment: env)
        guard !add.isEmpty else { return }
        for (k, v) in add { setenv(k, v, 1) }
        setenv(marker, "1", 1)
        var cArgs = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &cArgs)
        // execv only returns on failure: carry on with the libraries' defaults.
        for p in cArgs { free(p) }
        FileHandle.standardError.write(Data("pararl: could not re-execute with \(add); using the libraries' defaults\n".utf8))
    }
}
