// Re-executes the program once with OPENBLAS_CORETYPE set when the CPU has AVX-512 and the user set
// nothing: OpenBLAS reads it only while loading, before any Swift code runs (DESIGN §7).
import Foundation
import ParaRLCore

enum BLASEnvironment {
    static let marker = "PARARL_BLAS_REEXEC"

    static func reexecIfNeeded() {
        let env = ProcessInfo.processInfo.environment
        guard env[marker] == nil,
              let coreType = Numerics.openBLASCoreType(flags: Numerics.cpuFlags(), environment: env)
        else { return }
        setenv("OPENBLAS_CORETYPE", coreType, 1)
        setenv(marker, "1", 1)
        let args = CommandLine.arguments
        var cArgs = args.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &cArgs)
        // execv only returns on failure: carry on with the default kernels.
        for p in cArgs { free(p) }
        FileHandle.standardError.write(Data("pararl: could not re-execute with OPENBLAS_CORETYPE=\(coreType); using OpenBLAS's default kernels\n".utf8))
    }
}
