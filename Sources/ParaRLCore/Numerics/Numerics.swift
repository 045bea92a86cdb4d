// Process-wide numerics set-up: thread counts for the kernels, BLAS and oneDNN, the GEMM backend,
// and the OpenBLAS kernel choice on CPUs with AVX-512 (docs/design.md §7).
import CBLAS
import Foundation

public enum Numerics {
    /// CPU features read from /proc/cpuinfo (Linux); empty where unavailable.
    public static func cpuFlags(cpuinfo: String? = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) -> Set<String> {
        guard let text = cpuinfo else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }

    /// The CPU's model name (/proc/cpuinfo), or "unknown".
    public static func cpuName(cpuinfo: String? = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) -> String {
        guard let text = cpuinfo else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        return "unknown"
    }

    /// The OPENBLAS_CORETYPE to put in the environment before libopenblas loads, or nil to leave it alone.
    /// Debian's OpenBLAS picks its AVX2 kernels on AVX-512 CPUs it does not know (AMD Zen 4/5); its SkylakeX
    /// kernels are about 2× faster there. Only chosen when the CPU has AVX-512 F/BW/DQ/VL and the user set nothing.
    public static func openBLASCoreType(flags: Set<String>, environment: [String: String]) -> String? {
        if environment["OPENBLAS_CORETYPE"] != nil { return nil }
        let needed: Set<String> = ["avx512f", "avx512bw", "avx512dq", "avx512vl"]
        return needed.isSubset(of: flags) ? "SkylakeX" : nil
    }

    /// Variables to add to the environment before the BLAS and OpenMP libraries load (empty when none):
    /// `OPENBLAS_CORETYPE` as above, and `OMP_WAIT_POLICY=PASSIVE` so oneDNN's idle OpenMP workers sleep
    /// instead of spinning on the cores the other kernels need. Variables the user set are left alone.
    public static func libraryEnvironment(flags: Set<String>, environment: [String: String]) -> [String: String] {
        var add: [String: String] = [:]
        if let coreType = openBLASCoreType(flags: flags, environment: environment) { add["OPENBLAS_CORETYPE"] = coreType }
        if environment["OMP_WAIT_POLICY"] == nil { add["OMP_WAIT_POLICY"] = "PASSIVE" }
        return add
    }

    /// Sets the thread count of the kernels, OpenBLAS and oneDNN's OpenMP runtime, and the GEMM backend.
    public static func configure(threads: Int, backend: any GEMMBackend) {
        let n = max(1, threads)
        Parallel.threadCount = n
        OpenBLASGEMM.setThreads(n)
        OpenMP.setThreads(n)
        GEMM.backend = backend
    }

    /// Threads to use when the user gave none: PARARL_THREADS, else the cores this process may run on.
    public static func defaultThreads(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        if let s = environment["PARARL_THREADS"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }
}
