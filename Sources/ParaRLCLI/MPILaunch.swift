// Running a command under `mpirun` (docs/design.md §5): pick the communicator (MPI only when an MPI launcher started
// the process), size each rank's threads to the cores it owns, end the whole job with "rank r: message" when a
// rank throws, and the hidden `pararl mpi-selftest` that checks the collectives across ranks.
import ArgumentParser
import CMPIShim
import Foundation
import ParaRLCore
import ParaRLDistributed
import ParaRLRunKit

/// The `--config` / `--resume` / `--stop-after` rules shared by `pararl sft` and `pararl train`.
func validateStartOrResume(config: String?, resume: String?, stopAfter: Int?) throws {
    if config == nil && resume == nil { throw ValidationError("give --config for a new run or --resume RUN_DIR") }
    if config != nil && resume != nil { throw ValidationError("--config and --resume exclude each other (a run keeps its config)") }
    if let s = stopAfter, s < 1 { throw ValidationError("--stop-after must be at least 1") }
}

enum MPILaunch {
    /// Test hook: `PARARL_TEST_FAIL=RANK:STEP` makes rank RANK throw in the middle of training step STEP
    /// (after its backward pass, before the gradient allreduce), to test that a failing rank ends the job.
    static let failureVariable = "PARARL_TEST_FAIL"

    /// The process's communicator with the compute options applied: under an MPI launcher each rank's threads
    /// are `--threads`, else PARARL_THREADS, else the cores of its node divided by the ranks on the node (never
    /// more than it is bound to); without a launcher, the usual defaults and no MPI.
    static func start(_ compute: ComputeOptions) throws -> any Communicator {
        let communicator = try Communicators.make()
        let threads = Communicators.isMPILaunch()
            ? Communicators.threadsPerRank(requested: compute.threads)
            : compute.threads ?? Numerics.defaultThreads()
        Numerics.configure(threads: threads, backend: GEMM.backend(named: compute.gemm) ?? OpenBLASGEMM())
        return communicator
    }

    /// Runs `body`. When it throws under MPI, prints "rank r: message" and ends every rank (MPI_Abort) at once,
    /// so no rank waits forever in a collective; on success, MPI_Finalize. With `resume` (the command that continues
    /// the work) SIGINT/SIGTERM stop the training loop after its current step, which is checkpointed; the command then
    /// prints where it stopped and `resume`, and exits with 128 + the signal's number.
    static func run(_ communicator: any Communicator, resume: String? = nil, _ body: () throws -> Void) throws {
        if resume != nil { StopSignal.install() }
        do {
            try body()
        } catch let stop as StopRequested {
            RankLog(communicator)("\(stop); nothing is lost. Resume with: \(resume ?? "the same command")")
            communicator.finalize()
            throw ExitCode(128 + stop.signal)
        } catch {
            if communicator is MPICommunicator { communicator.abort(Pararl.message(for: error), code: 1) }
            throw error
        }
        communicator.finalize()
    }

    /// The step at which this rank should fail, from `PARARL_TEST_FAIL=RANK:STEP` (nil when unset or another rank).
    static func injectedFailureStep(rank: Int, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Int? {
        guard let value = environment[failureVariable] else { return nil }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let r = Int(parts[0]), let s = Int(parts[1]), r >= 0, s >= 1 else {
            throw ValidationError("\(failureVariable) must be RANK:STEP (e.g. 1:2), got \"\(value)\"")
        }
        return r == rank ? s : nil
    }
}

/// `pararl mpi-selftest`: every collective across the launched ranks on inputs each rank derives from its rank;
/// each rank writes what it got to OUT/rank-R.json for the tests (Tests/ParaRLDistributedTests) to check.
/// Rank r's reduction input is x_r[i] = Float(sin(0.37·i + 1.91·r)) · 10^(r mod 3 − 1) (magnitudes differ by
/// rank, so the reduction order shows in the bits).
struct MPISelfTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi-selftest",
        abstract: "Checks the MPI collectives across ranks (for tests).",
        discussion: """
            Examples:
              mpirun --oversubscribe -np 3 pararl mpi-selftest --out /tmp/selftest --chunk-bytes 256
              mpirun -np 2 pararl mpi-selftest --out /tmp/selftest --count 5282048 --time-allreduce 5
            """,
        shouldDisplay: false)

    @Option(help: "Folder for rank-R.json.") var out: String
    @Option(help: "Elements of the reduced and broadcast buffers.") var count: Int = 1000
    @Option(help: "Largest single MPI call in bytes (small values exercise the chunking).") var chunkBytes: Int = 64 << 20
    @Option(help: "This rank calls abort (the job must end non-zero at once, the others wait in a barrier).") var abortRank: Int?
    @Option(help: "This rank throws an error (the job must end non-zero at once).") var failRank: Int?
    @Option(help: "Only time this many float allreduces of --count elements and print the median (rank 0).")
    var timeAllreduce: Int?
    @OptionGroup var compute: ComputeOptions

    /// What one rank saw.
    struct Result: Codable {
        var rank: Int, size: Int, threads: Int
        var sumFloat: [UInt32], meanFloat: [UInt32], sumDouble: [UInt64], meanDouble: [UInt64]
        var sumFloatRepeatIdentical: Bool
        var broadcastFloat: [UInt32], broadcastDouble: [UInt64], broadcastData: Data
        var gathered: [Data]
        var errorsReturn: String
    }

    static func input(rank: Int, count: Int) -> [Float] {
        let scale = Float(pow(10.0, Double(rank % 3 - 1)))
        return (0..<count).map { Float(sin(0.37 * Double($0) + 1.91 * Double(rank))) * scale }
    }

    func run() throws {
        let communicator = try Communicators.isMPILaunch() ? MPICommunicator(maxChunkBytes: chunkBytes) : Communicators.make()
        let threads = Communicators.isMPILaunch() ? Communicators.threadsPerRank(requested: compute.threads)
            : compute.threads ?? Numerics.defaultThreads()
        Numerics.configure(threads: threads, backend: GEMM.backend(named: compute.gemm) ?? OpenBLASGEMM())
        try MPILaunch.run(communicator) {
            let r = communicator.rank, n = communicator.size, last = n - 1
            if failRank == r { throw ValidationError("selftest failure requested on this rank") }
            let x = Self.input(rank: r, count: count)
            if let repeats = timeAllreduce {
                var seconds: [Double] = []
                for _ in 0..<max(1, repeats) {
                    var buffer = x
                    try communicator.barrier()
                    let start = Date()
                    try communicator.allreduce(&buffer, .mean)
                    seconds.append(Date().timeIntervalSince(start))
                }
                let median = seconds.sorted()[seconds.count / 2], bytes = Double(count * 4)
                if r == 0 {
                    print(String(format: "allreduce of %d floats (%.1f MB) over %d ranks: median %.4f s, %.2f GB/s of buffer",
                                 count, bytes / 1e6, n, median, bytes / median / 1e9))
                }
                return
            }
            var sumF = x, meanF = x, sumD = x.map(Double.init), meanD = sumD, again = x
            try communicator.allreduce(&sumF, .sum)
            try communicator.allreduce(&again, .sum)
            try communicator.allreduce(&meanF, .mean)
            try communicator.allreduce(&sumD, .sum)
            try communicator.allreduce(&meanD, .mean)
            var bf = r == last ? x : [Float](repeating: -1, count: count)
            var bd = r == last ? x.map { Double($0) * 3 } : [Double](repeating: -1, count: count)
            var data = r == last ? Data("broadcast from rank \(r)".utf8) : Data([1, 2, 3])
            try communicator.broadcast(&bf, root: last)
            try communicator.broadcast(&bd, root: last)
            try communicator.broadcast(&data, root: last)
            let gathered = try communicator.gather(Data(repeating: UInt8(r), count: 3 * r + 1), root: 0)
            var errorsReturn = ""
            if let mpi = communicator as? MPICommunicator {
                var value: Int32 = 0
                do {  // an invalid root must come back as an error naming the rank, not kill the job
                    try mpi.check(MPI_Bcast(&value, 1, pararl_mpi_int32(), Int32(n), pararl_mpi_comm_world()), "MPI_Bcast")
                } catch {
                    errorsReturn = String(describing: error)
                }
            }
            let result = Result(rank: r, size: n, threads: Parallel.threadCount, sumFloat: sumF.map(\.bitPattern),
                                meanFloat: meanF.map(\.bitPattern), sumDouble: sumD.map(\.bitPattern), meanDouble: meanD.map(\.bitPattern),
                                sumFloatRepeatIdentical: again.map(\.bitPattern) == sumF.map(\.bitPattern),
                                broadcastFloat: bf.map(\.bitPattern), broadcastDouble: bd.map(\.bitPattern), broadcastData: data,
                                gathered: gathered, errorsReturn: errorsReturn)
            let folder = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try JSONEncoder().encode(result).write(to: folder.appendingPathComponent("rank-\(r).json"))
            if abortRank == r { communicator.abort("selftest abort requested", code: 3) }
            try communicator.barrier()
        }
    }
}
