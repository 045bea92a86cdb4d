// One ParaRL training step timed by phase, for `pararl bench step`: the step `train` runs (rollout, scoring,
// advantages, π_ref, update, records, the rollout-log transaction), without evaluations or checkpoints, with the
// matmul time of each phase when a `GEMMProfile` is the GEMM backend; and the step's workload (the prompts' input
// sequences and S) so that a peer implementation can repeat the same work.
import Foundation
import ParaRLCore
import ParaRLPolicy
import ParaRLSampling

/// A timed step: wall seconds and matmul tallies per phase.
public struct StepTiming: Sendable {
    public var seconds: [ParaRLTrainer.Phase: Double] = [:]
    public var gemm: [ParaRLTrainer.Phase: GEMMProfile.Tally] = [:]
    public var total: Double { seconds.values.reduce(0, +) }
}

/// What one group of a step samples: its prompt's sequences and S.
public struct GroupWorkload: Encodable, Sendable {
    public var taskID: String
    public var conditional: [Int32]
    public var conditionalKeyMask: [UInt8]
    public var unconditionalImage: [Int32]?
    public var unconditionalImageKeyMask: [UInt8]?
    public var sampledSteps: [Int]

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id", conditional, conditionalKeyMask = "conditional_key_mask", unconditionalImage = "unconditional_image"
        case unconditionalImageKeyMask = "unconditional_image_key_mask", sampledSteps = "sampled_steps"
    }

    /// Absent unconditional sequences are written as null (a generation prompt has none), not left out.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(taskID, forKey: .taskID)
        try c.encode(conditional, forKey: .conditional)
        try c.encode(conditionalKeyMask, forKey: .conditionalKeyMask)
        try c.encode(unconditionalImage, forKey: .unconditionalImage)
        try c.encode(unconditionalImageKeyMask, forKey: .unconditionalImageKeyMask)
        try c.encode(sampledSteps, forKey: .sampledSteps)
    }
}

extension ParaRLTrainer {
    /// The groups the next step samples (this rank's share).
    public func nextStepWorkload() throws -> [GroupWorkload] {
        try share.map { g in
            let task = self.task(step: step, group: g)
            let inputs = try sampler.guidanceInputs(for: try bundle.prompt(task))
            return GroupWorkload(taskID: task.id, conditional: inputs.conditional.tokens, conditionalKeyMask: inputs.conditional.keyMask,
                                 unconditionalImage: inputs.unconditionalImage?.tokens,
                                 unconditionalImageKeyMask: inputs.unconditionalImage?.keyMask,
                                 sampledSteps: sampledSteps(step: step, group: g))
        }
    }

    /// Runs the next training step as `train` does (no evaluation, no checkpoint) and times its phases; with
    /// `profile` (installed as `GEMM.backend`) each phase's matmul calls are tallied too.
    public func timedStep(profile: GEMMProfile? = nil) throws -> StepTiming {
        var timing = StepTiming()
        var last = DispatchTime.now().uptimeNanoseconds
        var lastGEMM = profile?.total ?? GEMMProfile.Tally()
        func mark(_ phase: Phase) {
            let now = DispatchTime.now().uptimeNanoseconds
            timing.seconds[phase] = Double(now - last) / 1e9
            last = now
            if let profile {
                let g = profile.total
                timing.gemm[phase] = GEMMProfile.Tally(calls: g.calls - lastGEMM.calls, seconds: g.seconds - lastGEMM.seconds,
                                                       flops: g.flops - lastGEMM.flops)
                lastGEMM = g
            }
        }
        let outcome = try trainStep(mark: mark)
        step += 1
        try log?.commitStep(runID: runID, step: outcome.record, groups: outcome.groups, rollouts: outcome.rollouts,
                            snapshots: outcome.snapshots, evaluations: [], rewardEvaluation: nil)
        mark(.log)
        return timing
    }
}
