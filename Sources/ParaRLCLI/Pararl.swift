// The `pararl` command: one entry point with a subcommand per task of the trainer (docs/design.md §6).
import ArgumentParser
import Foundation
import ParaRLMedia
import ParaRLRunKit
import ParaRLCore

@main
struct PararlMain {
    static func main() {
        BLASEnvironment.reexecIfNeeded()
        Pararl.main()
    }
}

struct Pararl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pararl",
        abstract: "Parallel Reinforcement Learning (ParaRL) for text–image diffusion policies, on CPUs.",
        discussion: """
            Trains a masked discrete-diffusion policy that writes a reasoning text and an image in parallel,
            with trajectory-level CLIP rewards and a diffusion-GRPO optimiser (MMaDA-Parallel, arXiv 2511.09611).
            """,
        version: ParaRLVersion.string,
        subcommands: [Bench.self, World.self, TokenizerCommand.self, PolicyCommand.self, SFTCommand.self, CLIPCommand.self, CalibrateCommand.self, MPISelfTestCommand.self, SampleCommand.self, EvalCommand.self, EvalRewardCommand.self, RewardAgreementCommand.self, TrainCommand.self, InspectCommand.self, ReportCommand.self, AblateCommand.self, DemoCommand.self]
    )
}

/// Options every compute-heavy command shares.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Threads for kernels, BLAS and oneDNN (default: PARARL_THREADS or all cores).")
    var threads: Int?

    @Option(help: "Matmul backend: openblas, dnnl or naive.")
    var gemm: String = "dnnl"

    func validate() throws {
        if let t = threads, !(1...Limits.threads).contains(t) {
            throw ValidationError("--threads must be in 1…\(Limits.threads), got \(t)")
        }
        if GEMM.backend(named: gemm) == nil {
            throw ValidationError("--gemm must be openblas, dnnl or naive, got \(gemm)")
        }
    }

    /// Applies the thread count and backend to the process.
    func apply() {
        let backend = GEMM.backend(named: gemm) ?? OpenBLASGEMM()
        Numerics.configure(threads: threads ?? Numerics.defaultThreads(), backend: backend)
    }
}

/// One JSON line on standard output (`JSONText.outputEncoder`: snake_case keys, sorted).
func printJSON<T: Encodable>(_ value: T) throws {
    print(String(decoding: try JSONText.outputEncoder().encode(value), as: UTF8.self))
}
