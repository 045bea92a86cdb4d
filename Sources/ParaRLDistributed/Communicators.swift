// Choosing the communicator for this process: MPI when an MPI launcher started it (mpirun sets
// OMPI_COMM_WORLD_SIZE; PMIx launchers such as srun set PMIX_RANK), the single-process one otherwise — so
// plain runs never initialise MPI. Also how many compute threads a rank should use.
import CMPIShim
import Foundation

public enum Communicators {
    /// Environment variables whose presence means an MPI launcher started this process.
    public static let launchVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"]

    public static func isMPILaunch(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        launchVariables.contains { environment[$0] != nil }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var current: (any Communicator)?

    /// The process's communicator, created on first use and kept (MPI may be initialised only once).
    public static func make(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any Communicator {
        lock.lock()
        defer { lock.unlock() }
        if let current { return current }
        let made: any Communicator = isMPILaunch(environment: environment) ? try MPICommunicator() : SingleProcessCommunicator()
        current = made
        return made
    }

    /// Threads for BLAS, oneDNN and the worker pool of one rank: `requested` (--threads) if given, else
    /// PARARL_THREADS, else the cores this rank owns — the cores of the node shared by the ranks on it
    /// (OMPI_COMM_WORLD_LOCAL_SIZE), and no more than the launcher bound it to — so ranks never oversubscribe.
    public static func threadsPerRank(requested: Int?, environment: [String: String] = ProcessInfo.processInfo.environment,
                                      nodeCores: Int = ProcessInfo.processInfo.processorCount,
                                      boundCores: Int = Communicators.affinityCores()) -> Int {
        if let requested { return max(1, requested) }
        if let s = environment["PARARL_THREADS"], let n = Int(s), n > 0 { return n }
        let local = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) }.map { max(1, $0) } ?? 1
        return max(1, min(boundCores, nodeCores / local))
    }

    /// The cores this process may run on (its CPU affinity set; Open MPI binds ranks to cores by default).
    public static func affinityCores() -> Int {
        let n = Int(pararl_affinity_cores())
        return n > 0 ? n : ProcessInfo.processInfo.activeProcessorCount
    }
}
