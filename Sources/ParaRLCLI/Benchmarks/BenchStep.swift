// `pararl bench step --config RUN.yaml`: one full ParaRL training step of a run config, timed by phase (rollout,
// scoring, advantages, π_ref, update, records, log) over a throw-away run folder, with the matmul GFLOP/s and the
// share of each phase spent in GEMM; `--json` adds the workload (the prompts' input sequences, S, the layout and
// the hyper-parameters) so tools/bench/peer_step.py can run the same step in PyTorch beside it.
import ArgumentParser
import Foundation
import ParaRLCore
import ParaRLMedia
import ParaRLTrainer

struct BenchStep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Time one ParaRL training step of a run config by phase.",
        discussion: """
            Starts the config in a temporary run folder (no evaluations; a `rollouts` calibration is estimated on
            2 prompts only), runs --warmup untimed steps and --repeats timed ones, and prints the median seconds of
            every phase, the matmul rate and the share of time in GEMM (all sgemm calls are timed; the heads that run
            side by side count 1/threads of their time), and the slowest matmul shapes with --shapes.
            Example: pararl bench step --config rl-configs/pararl-s3.yaml --prompts 2 --threads 2
            """)

    @OptionGroup var compute: ComputeOptions
    @Option(help: "The ParaRL run config (YAML).") var config: String
    @Option(help: "Override prompts_per_step (the benchmark's standard is 2).") var prompts: Int?
    @Option(help: "Untimed steps first.") var warmup = 1
    @Option(help: "Timed steps (the median per phase is reported).") var repeats = 3
    @Option(help: "Keep the run folder here instead of a temporary one.") var keep: String?
    @Flag(help: "List the matmul shapes by time.") var shapes = false
    @Flag(help: "Print JSON (phase medians, rates and the workload).") var json = false

    func validate() throws {
        guard warmup >= 0, repeats >= 1 else { throw ValidationError("need --warmup ≥ 0 and --repeats ≥ 1") }
        if let p = prompts, p < 1 { throw ValidationError("--prompts must be at least 1") }
    }

    struct PhaseRow: Encodable { var phase: String; var seconds: Double; var gemmSeconds: Double; var gemmGflops: Double; var gemmShare: Double }
    struct ShapeRow: Encodable { var shape: String; var calls: Int; var seconds: Double; var gflops: Double }
    struct Workload: Encodable {
        var checkpoint: String, clipModel: String, groupSize: Int, prompts: Int, sampledSteps: Int, objective: String
        var updateBatchSize: Int, numIterations: Int, beta: Double, epsilon: Double, lr: Double, gradClip: Double
        var sampler: [String: JSONValue], layout: [String: Int], groups: [GroupWorkload]
    }
    enum JSONValue: Encodable {
        case number(Double), string(String)
        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self { case .number(let d): try c.encode(d); case .string(let s): try c.encode(s) }
        }
    }
    struct Result: Encodable {
        var cpu: String, isa: String, threads: Int, backend: String, repeats: Int
        var seconds: [String: Double], gflops: Double, gemmShare: Double, gemmGflops: Double
        var phases: [PhaseRow], shapes: [ShapeRow], workload: Workload
    }

    func run() throws {
        compute.apply()
        let profile = GEMMProfile(wrapping: GEMM.backend)
        GEMM.backend = profile
        let fm = FileManager.default
        let folder = keep.map { URL(fileURLWithPath: $0) }
            ?? fm.temporaryDirectory.appendingPathComponent("pararl-bench-step-\(ProcessInfo.processInfo.processIdentifier)")
        if keep == nil { try? fm.removeItem(at: folder) }
        defer { if keep == nil { try? fm.removeItem(at: folder) } }
        let steps = warmup + repeats
        let trainer = try ParaRLRun.start(configURL: URL(fileURLWithPath: config), runDirectory: folder) { c in
            c.steps = steps
            c.evalTasks = 0
            c.rewardEval.enabled = false
            c.checkpointEvery = steps
            if let prompts { c.promptsPerStep = prompts }
            if c.calibratesOnRollouts { c.calibrationPrompts = 2 }
        }
        let c = trainer.config
        if !json {
            FileHandle.standardError.write(Data(("bench step: \(c.promptsPerStep) prompts × G \(c.groupSize), T \(c.sampler.steps), "
                + "s \(c.effectiveSampledSteps), \(c.objective.rawValue) objective, \(Parallel.threadCount) threads, "
                + "\(warmup) warm-up + \(repeats) timed steps\n").utf8))
        }
        for _ in 0..<warmup { _ = try trainer.timedStep() }
        var workload: [GroupWorkload] = []
        var timings: [StepTiming] = []
        profile.reset()
        for r in 0..<repeats {
            if r == 0 { workload = try trainer.nextStepWorkload() }
            timings.append(try trainer.timedStep(profile: profile))
            if !json { FileHandle.standardError.write(Data(String(format: "  step %d: %.2f s\n", r + 1, timings[r].total).utf8)) }
        }
        func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s.isEmpty ? 0 : s[s.count / 2] }
        var phases: [PhaseRow] = []
        var seconds: [String: Double] = [:]
        for phase in ParaRLTrainer.Phase.allCases {
            let sec = median(timings.map { $0.seconds[phase] ?? 0 })
            let gemmSec = timings.map { $0.gemm[phase]?.seconds ?? 0 }.reduce(0, +) / Double(repeats)
            let flops = timings.map { $0.gemm[phase]?.flops ?? 0 }.reduce(0, +) / Double(repeats)
            phases.append(PhaseRow(phase: phase.rawValue, seconds: sec, gemmSeconds: gemmSec, gemmGflops: gemmSec > 0 ? flops / gemmSec / 1e9 : 0,
                                   gemmShare: sec > 0 ? gemmSec / sec : 0))
            seconds[phase.rawValue] = sec
        }
        let total = median(timings.map(\.total))
        seconds["total"] = total
        let all = profile.total
        let meanTotal = timings.map(\.total).reduce(0, +) / Double(repeats)
        let shapeRows = profile.byShape.sorted { $0.value.seconds > $1.value.seconds }.map { s, t in
            ShapeRow(shape: s.description, calls: t.calls / repeats, seconds: t.seconds / Double(repeats), gflops: t.gflops)
        }
        let l = trainer.bundle.layout, v = trainer.bundle.vocabulary, sc = c.sampler
        let load = Workload(
            checkpoint: c.initCheckpoint, clipModel: c.clipModel, groupSize: c.groupSize, prompts: c.promptsPerStep,
            sampledSteps: c.effectiveSampledSteps, objective: c.objective.rawValue, updateBatchSize: c.updateBatchSize,
            numIterations: c.numIterations, beta: c.beta, epsilon: c.epsilon, lr: c.lr, gradClip: c.gradClip,
            sampler: ["steps": .number(Double(sc.steps)), "text_block_length": .number(Double(sc.textBlockLength)),
                      "text_temperature": .number(Double(sc.textTemperature)), "image_temperature": .number(Double(sc.imageTemperature)),
                      "image_steps": .number(Double(sc.imageSteps)), "image_guidance": .number(Double(sc.imageGuidance)),
                      "text_guidance": .number(Double(sc.textGuidance)), "image_placement": .string(sc.imagePlacement.rawValue),
                      "decoding": .string(sc.decoding.rawValue)],
            layout: ["length": l.length, "image_codes": l.imageCodes, "text_length": l.textLength,
                     "image_region_start": l.imageRegion.lowerBound, "text_region_start": l.textRegion.lowerBound,
                     "mask_id": v.special.mask, "eos_id": v.special.eos, "pad_id": v.special.pad, "text_vocab_size": v.textCount,
                     "codebook_offset": v.codebookOffset, "codebook_size": v.codebookSize],
            groups: workload)
        let result = Result(cpu: Numerics.cpuName(), isa: Kernels.isa, threads: Parallel.threadCount, backend: profile.inner.name,
                            repeats: repeats, seconds: seconds, gflops: all.flops / Double(repeats) / meanTotal / 1e9,
                            gemmShare: all.seconds / Double(repeats) / meanTotal, gemmGflops: all.gflops,
                            phases: phases, shapes: shapeRows, workload: load)
        if json { try printJSON(result); return }
        print("ParaRL step, \(c.promptsPerStep) prompts × G \(c.groupSize), T \(sc.steps), s \(c.effectiveSampledSteps) — "
              + "\(result.cpu), \(result.threads) threads, kernels \(result.isa), GEMM \(result.backend); medians of \(repeats)")
        print("| phase | seconds | GEMM s | GEMM GFLOP/s | share in GEMM |")
        print("|---|---:|---:|---:|---:|")
        for p in phases {
            print(String(format: "| %@ | %.3f | %.3f | %.0f | %.0f%% |", p.phase, p.seconds, p.gemmSeconds, p.gemmGflops, 100 * p.gemmShare))
        }
        print(String(format: "| **total** | %.3f | %.3f | %.0f | %.0f%% |", total, all.seconds / Double(repeats), all.gflops,
                     100 * result.gemmShare))
        print(String(format: "step rate: %.1f GFLOP/s of matmul work over the whole step", result.gflops))
        if shapes {
            print("\n| matmul shape (M×N×K) | calls/step | s/step | GFLOP/s |")
            print("|---|---:|---:|---:|")
            for s in shapeRows.prefix(15) {
                print(String(format: "| %@ | %d | %.3f | %.0f |", s.shape, s.calls, s.seconds, s.gflops))
            }
        }
    }
}
