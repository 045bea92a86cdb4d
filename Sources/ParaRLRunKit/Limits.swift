// Every size and count the program accepts, bounded in one place (docs/design.md §8): counts have fixed ceilings far above
// any run this trainer is for, so arithmetic on them cannot overflow; sizes that allocate are checked against the
// memory this machine has, refusing with both numbers before anything is allocated.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum Limits {
    /// Training steps, warm-up steps and step overrides.
    public static let steps = 10_000_000
    /// Inner iterations per ParaRL step.
    public static let innerIterations = 1_000
    /// Prompts per step, group size, batch sizes, rollouts of one `sample` call.
    public static let batch = 65_536
    /// Threads for kernels.
    public static let threads = 1_024
    /// Widths, vocabulary sizes, sequence lengths, layer counts and image sides read from configs and files.
    public static let dimension = 1 << 24

    /// Bytes of physical memory (sysconf), or 1 TiB where unknown.
    public static var physicalMemory: Double {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && size > 0 ? Double(pages) * Double(size) : Double(1 << 40)
    }

    /// Refuses `bytes` (an estimate of what `what` would allocate) when it exceeds the machine's memory.
    public static func checkMemory(_ bytes: Double, for what: String, file: String, key: String) throws {
        guard bytes.isFinite, bytes <= physicalMemory else {
            throw ParaRLError.invalidConfig(file: file, key: key,
                                            reason: "\(what) would need about \(gib(bytes)) but this machine has \(gib(physicalMemory))")
        }
    }

    static func gib(_ bytes: Double) -> String {
        bytes.isFinite ? String(format: "%.1f GiB", bytes / Double(1 << 30)) : "an unbounded amount"
    }
}
