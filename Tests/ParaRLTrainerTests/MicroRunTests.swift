// A micro ParaRL run end to end (issue 7): a micro SFT checkpoint, a random tiny CLIP and its calibration built here
// (nothing from runs/), three steps of the trajectory objective. The rollout log must hold exactly one snapshot per
// (group, rollout, t ∈ S) with S shared inside a group; R and A recompute from the logged c, μ, σ; a run stopped
// and resumed (also after losing its newest checkpoint) equals the uninterrupted run bitwise (weights and rows).
import Foundation
import Testing
import ParaRLCLIP
import ParaRLSFT
import ParaRLRunKit
import ParaRLCore
import ParaRLMedia
import ParaRLPolicy
import ParaRLSampling
import ParaRLStorage
@testable import ParaRLTrainer
import ParaRLWorld
import TestSupport

/// Micro inputs of a run, written once into a temporary folder.
struct MicroFixture {
    let folder: URL
    let checkpoint: URL
    let clip: URL
    let calibration: URL
    let vocabulary: URL

    static func repositoryRoot(file: String = #filePath) -> URL {
        URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static let shared: Result<MicroFixture, Error> = Result { try make() }

    static func make() throws -> MicroFixture {
        let fm = FileManager.default
        let folder = fm.temporaryDirectory.appendingPathComponent("pararl-trainer-tests-\(getpid())")
        try? fm.removeItem(at: folder)
        let tokenizer = folder.appendingPathComponent("sft/tokenizer"), checkpoint = folder.appendingPathComponent("sft/checkpoints/step-00000001")
        try fm.createDirectory(at: tokenizer, withIntermediateDirectories: true)
        try fm.createDirectory(at: checkpoint, withIntermediateDirectories: true)
        // Image tokenizer fitted on a few world scenes (8×8 patches: 16 codes per image), the world's text vocabulary.
        let world = WorldTaskSource(seed: 0), renderer = SceneRenderer(imageSize: 32)
        let images = (0..<12).map { renderer.render(world.trainTask(index: $0).targetScene) }
        let vq = try PatchVQ.fit(images: images, patchSize: 8, codebookSize: 12, iterations: 5).tokenizer
        try vq.save(to: tokenizer.appendingPathComponent(SequenceLayoutFile.imageTokenizerFile))
        let text = TextTokenizer.world()
        try text.save(to: tokenizer.appendingPathComponent(SequenceLayoutFile.textVocabularyFile))
        // A random micro policy saved as an SFT checkpoint (config.json, weights, sft_config.yaml with the layout).
        var architecture = PolicyArchitecture()
        architecture.dModel = 16; architecture.nLayers = 1; architecture.nHeads = 2; architecture.mlpHiddenSize = 24
        architecture.maxSequenceLength = 128
        let policy = try Policy(config: architecture.modelConfig(vocabulary: UnifiedVocabulary(textCount: text.count, codebookSize: vq.codeCount)))
        var rng = RandomStream(seed: 1)
        policy.initialise(std: 0.3, rng: &rng)
        try policy.save(directory: checkpoint)
        var sft = SFTConfig()
        sft.instructionLength = 24; sft.textLength = 16
        sft.imageTokenizer = tokenizer.appendingPathComponent(SequenceLayoutFile.imageTokenizerFile).path
        sft.textVocabulary = tokenizer.appendingPathComponent(SequenceLayoutFile.textVocabularyFile).path
        try Data(try StrictYAML.encode(sft).utf8).write(to: checkpoint.appendingPathComponent(SFTRun.checkpointConfigFile))
        // A random tiny CLIP and μ/σ from its scores on reference pairs.
        var clipConfig = CLIPTrainModelConfig()
        clipConfig.patchSize = 8; clipConfig.visionWidth = 16; clipConfig.visionLayers = 1; clipConfig.visionHeads = 2
        clipConfig.textWidth = 16; clipConfig.textLayers = 1; clipConfig.textHeads = 2; clipConfig.contextLength = 96
        clipConfig.projectionDim = 16
        let model = try CLIPModel(config: clipConfig.clipConfig)
        var clipRNG = RandomStream(seed: 2)
        model.initialiseWeights(rng: &clipRNG)
        let clip = folder.appendingPathComponent("clip")
        try model.save(directory: clip)
        let vocabulary = try CLIPTokenizer.locateVocabulary(explicit: nil, repoRoot: repositoryRoot())
        let scorer = CLIPScorer(model: model, tokenizer: try CLIPTokenizer(vocabularyURL: vocabulary))
        var pairRNG = RandomStream(seed: 3)
        let pairs = CLIPCalibration.referencePairs(source: world, trainTasks: 400, fraction: 0.05, rng: &pairRNG)
        let (mu, sigma) = CLIPCalibration.statistics(try scorer.scores(texts: pairs.texts, images: pairs.images))
        let calibration = folder.appendingPathComponent(CLIPCalibration.fileName)
        try CLIPCalibration(mu: mu, sigma: sigma, count: pairs.texts.count, source: "references", model: clip.path, seed: 3,
                            fraction: 0.05).write(to: calibration)
        return MicroFixture(folder: folder, checkpoint: checkpoint, clip: clip, calibration: calibration, vocabulary: vocabulary)
    }

    /// A new run of rl-configs/pararl-micro.yaml on these inputs.
    /// A new run `name` of the micro config (its folder removed first unless `keepFolder`).
    func start(_ name: String, keepFolder: Bool = false, edit: (inout ParaRLConfig) -> Void = { _ in }) throws -> ParaRLTrainer {
        let run = folder.appendingPathComponent(name)
        if !keepFolder { try? FileManager.default.removeItem(at: run) }
        return try ParaRLRun.start(configURL: Self.repositoryRoot().appendingPathComponent("rl-configs/pararl-micro.yaml"),
                                   runDirectory: run) { c in
            c.initCheckpoint = checkpoint.path; c.clipModel = clip.path; c.calibration = calibration.path
            c.clipVocabulary = vocabulary.path
            edit(&c)
        }
    }
}

/// Every row of a run except wall-clock fields (timings, timestamps, checkpoint paths).
struct LoggedRun: Equatable {
    var steps: [StepRecord], groups: [GroupRecord], rollouts: [RolloutRecord], snapshots: [SnapshotRecord]
    var evaluations: [EvaluationRecord], checkpointSteps: [Int]
    var rewardEvals: [RewardEvalRecord], rewardEvalRollouts: [RewardEvalRolloutRecord]

    init(_ trainer: ParaRLTrainer) throws {
        let log = try RolloutLog(readingAt: trainer.runDirectory.appendingPathComponent(RolloutLog.fileName).path)
        let id = trainer.runID
        steps = try log.steps(runID: id).map { s in
            var s = s
            s.secondsRollout = 0; s.secondsScoring = 0; s.secondsUpdate = 0; s.secondsTotal = 0
            return s
        }
        groups = try log.groups(runID: id); rollouts = try log.rollouts(runID: id); snapshots = try log.snapshots(runID: id)
        evaluations = try log.evaluations(runID: id); checkpointSteps = try log.checkpoints(runID: id).map(\.step)
        rewardEvals = try log.rewardEvaluations(runID: id); rewardEvalRollouts = try log.rewardEvaluationRollouts(runID: id)
    }
}

@Suite("ParaRL micro run", .serialized)
struct MicroRunTests {
    func fixture() throws -> MicroFixture { try MicroFixture.shared.get() }

    func weights(_ trainer: ParaRLTrainer) -> [Float] { Array(trainer.policy.model.params.buffer) }

    @Test("the log holds one snapshot per (group, rollout, t ∈ S); R and A recompute from c, μ, σ; S is per group")
    func rolloutLog() throws {
        let f = try fixture()
        let trainer = try f.start("log")
        let before = weights(trainer)
        try trainer.train()
        #expect(weights(trainer) != before)
        let c = trainer.config
        let log = try RolloutLog(readingAt: trainer.runDirectory.appendingPathComponent(RolloutLog.fileName).path)
        let runs = try log.runs()
        #expect(runs.count == 1 && runs[0].clipMu == trainer.calibration.mu && runs[0].clipSigma == trainer.calibration.sigma)
        #expect(runs[0].endedAt != nil && runs[0].sampledSteps == 2 && runs[0].objective == "trajectory")
        let steps = try log.steps(runID: trainer.runID)
        #expect(steps.map(\.step) == [1, 2, 3])
        #expect(steps.allSatisfy { !$0.skipped && $0.gradNorm.isFinite && $0.kl.isFinite && $0.lr > 0 })
        let reward = CLIPReward(mu: runs[0].clipMu, sigma: runs[0].clipSigma)
        var sampledSets: [[Int]] = []
        for step in 1...3 {
            let groups = try log.groups(runID: trainer.runID, step: step)
            #expect(groups.map(\.group) == [0, 1])
            for group in groups {
                let S = group.sampledSteps
                sampledSets.append(S)
                #expect(S.count == c.sampledSteps && S == S.sorted() && Set(S).count == S.count && S.allSatisfy { (1...c.sampler.steps).contains($0) })
                #expect(S == trainer.sampledSteps(step: step - 1, group: group.group))
                let rollouts = try log.rollouts(runID: trainer.runID, step: step, group: group.group)
                #expect(rollouts.map(\.rollout) == Array(0..<c.groupSize))
                var rewards: [[Double]] = [], advantages: [[Double]] = []
                for r in rollouts {
                    let record = try TrajectoryRecord(encoded: r.trajectory)
                    #expect(record.seed == r.samplerSeed && record.seed == trainer.samplerSeed(step: step - 1, group: group.group, rollout: r.rollout))
                    let snaps = try log.snapshots(runID: trainer.runID, step: step, group: group.group, rollout: r.rollout)
                    #expect(snaps.map(\.t) == S)  // exactly one snapshot per t ∈ S, the group's S for every rollout
                    for s in snaps { #expect(s.reward == reward.reward(score: s.clipScore)) }
                    rewards.append(snaps.map(\.reward)); advantages.append(snaps.map(\.advantage))
                    #expect(snaps.allSatisfy { !$0.partialImagePNG.isEmpty })
                }
                let recomputed = GroupAdvantages(rewards: rewards)
                #expect(recomputed.advantages == advantages)
            }
            let snapshots = try log.snapshots(runID: trainer.runID, step: step)
            #expect(snapshots.count == c.promptsPerStep * c.groupSize * c.sampledSteps)
            let rewards = snapshots.map(\.reward), mean = rewards.reduce(0, +) / Double(rewards.count)
            #expect(abs(steps[step - 1].rewardMean - mean) < 1e-12)
        }
        #expect(Set(sampledSets).count > 1)  // drawn afresh per group
        // Evaluations before training, at step 2 (eval_every) and at the end, overall + per category + per kind.
        let evaluations = try log.evaluations(runID: trainer.runID)
        #expect(Set(evaluations.map(\.step)) == [0, 2, 3])
        #expect(evaluations.filter { $0.scope == "overall" }.allSatisfy { $0.tasks == c.evalTasks })
        #expect(try log.checkpoints(runID: trainer.runID).map(\.step) == [2, 3])  // the checkpoints still on disk (keep_checkpoints 2)
        #expect(try TrainingCheckpoint.completed(runDirectory: trainer.runDirectory).map(\.step) == [2, 3])  // the last 2 kept
        // The newest checkpoint loads as a policy bundle with the trained weights.
        let bundle = try PolicyBundle.load(checkpoint: try #require(TrainingCheckpoint.completed(runDirectory: trainer.runDirectory).last).url)
        #expect(Array(bundle.policy.model.params.buffer) == weights(trainer))
    }

    @Test("resume after a stop at step 1, and after losing the newest checkpoint, equals the uninterrupted run bitwise")
    func resumeIsExact() throws {
        let f = try fixture()
        let full = try f.start("full")
        try full.train()
        let expected = try LoggedRun(full)

        let stopped = try f.start("stopped")
        try stopped.train(until: 1)
        let resumed = try ParaRLRun.resume(runDirectory: stopped.runDirectory)
        #expect(resumed.step == 1 && resumed.runID == stopped.runID)
        try resumed.train(until: 2)
        // Losing checkpoint 2 after its rows were committed (as a kill between the two would): resume from 1 rewrites step 2.
        try FileManager.default.removeItem(at: stopped.runDirectory.appendingPathComponent("checkpoints/step-00000002"))
        let again = try ParaRLRun.resume(runDirectory: stopped.runDirectory)
        #expect(again.step == 1)
        try again.train()
        #expect(weights(again) == weights(full))
        var got = try LoggedRun(again)
        #expect(got.checkpointSteps.last == 3)
        got.checkpointSteps = expected.checkpointSteps  // which checkpoints remain differs by construction
        #expect(got.steps == expected.steps)
        #expect(got.groups == expected.groups)
        #expect(got.rollouts == expected.rollouts)
        #expect(got.snapshots == expected.snapshots)
        #expect(got.evaluations == expected.evaluations)
    }

    @Test("a checkpoint in the format before the run kit (sft_config.yaml, mask_stream) resumes to the uninterrupted run")
    func legacyCheckpointResumes() throws {
        let f = try fixture()
        let full = try f.start("legacy-full")
        try full.train()
        let stopped = try f.start("legacy-stopped")
        try stopped.train(until: 1)
        // Rewrite checkpoint 1 as the old code wrote it: the layout inside an SFT config, the root stream as mask_stream.
        let folder = stopped.runDirectory.appendingPathComponent("checkpoints/step-00000001")
        let layout = try SequenceLayoutFile.read(checkpoint: folder)
        var sft = SFTConfig()
        sft.instructionLength = layout.instructionLength; sft.textLength = layout.textLength; sft.textFiller = layout.textFiller
        sft.imageTokenizer = layout.imageTokenizer; sft.textVocabulary = layout.textVocabulary
        try FileManager.default.removeItem(at: folder.appendingPathComponent(SequenceLayoutFile.fileName))
        try Data(try StrictYAML.encode(sft).utf8).write(to: folder.appendingPathComponent(SequenceLayoutFile.legacyFileName))
        let stateURL = folder.appendingPathComponent(TrainingCheckpoint.stateFile)
        let state = try String(contentsOf: stateURL, encoding: .utf8)
        #expect(state.contains("\"root_stream\""))
        try Data(state.replacingOccurrences(of: "\"root_stream\"", with: "\"mask_stream\"").utf8).write(to: stateURL)
        try FileManager.default.removeItem(at: folder.appendingPathComponent(TrainingCheckpoint.manifestFile))  // nor a manifest

        let resumed = try ParaRLRun.resume(runDirectory: stopped.runDirectory)
        #expect(resumed.step == 1)
        try resumed.train()
        #expect(weights(resumed) == weights(full))
        #expect(try LoggedRun(resumed).steps == LoggedRun(full).steps)
    }

    @Test("a run that failed before its first checkpoint starts again in its folder; a missing checkpoint row is restored on resume")
    func unfinishedRunFolders() throws {
        let f = try fixture()
        // A bad CLIP path fails before the run folder is created: nothing is left behind.
        #expect(throws: TrainerError.self) { try f.start("unfinished") { $0.clipModel = "/nonexistent/clip" } }
        let folder = f.folder.appendingPathComponent("unfinished")
        #expect(!FileManager.default.fileExists(atPath: folder.path))
        // A failure in the first step leaves a folder without a checkpoint: it starts again with its config.
        let failing = try f.start("unfinished")
        failing.failure = 1
        #expect(throws: InjectedFailure(step: 1)) { try failing.train(until: 1) }
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(ParaRLRun.configFile).path))
        #expect(throws: TrainerError.noCheckpoint(runDirectory: folder.path)) { try ParaRLRun.resume(runDirectory: folder) }
        let trainer = try ParaRLRun.start(configURL: folder.appendingPathComponent(ParaRLRun.configFile), runDirectory: folder)
        try trainer.train(until: 1)
        // A kill between the checkpoint folder's rename and its row: resume lists the checkpoint it resumes from.
        let log = try RolloutLog(path: folder.appendingPathComponent(RolloutLog.fileName).path)
        try log.queue.write { try $0.execute(sql: "DELETE FROM checkpoints") }
        let resumed = try ParaRLRun.resume(runDirectory: folder)
        #expect(resumed.step == 1)
        #expect(try log.checkpoints(runID: resumed.runID).map(\.step) == [1])
    }

    @Test("the output-level objective: S = {T}, one snapshot per rollout at T, updates the policy")
    func outputLevelRun() throws {
        let f = try fixture()
        let trainer = try f.start("output") { c in c.objective = .output; c.steps = 1; c.evalTasks = 0 }
        let before = weights(trainer)
        try trainer.train()
        #expect(weights(trainer) != before)
        let log = try RolloutLog(readingAt: trainer.runDirectory.appendingPathComponent(RolloutLog.fileName).path)
        let groups = try log.groups(runID: trainer.runID)
        #expect(groups.allSatisfy { $0.sampledSteps == [trainer.config.sampler.steps] })
        #expect(try log.snapshots(runID: trainer.runID).count == trainer.config.promptsPerStep * trainer.config.groupSize)
        #expect(try log.runs()[0].sampledSteps == 1)
    }

    @Test("the selection slice: training-distribution tasks never trained on, judged at step 0 and the end, logged apart")
    func selectionSlice() throws {
        let f = try fixture()
        let trainer = try f.start("select") { c in c.steps = 1; c.evalTasks = 1; c.selectTasks = 2; c.rewardEval.enabled = false }
        var seen: [Int] = []
        try trainer.train { event in if case .selection(let step, let report, _) = event { seen.append(step); #expect(report.count == 2) } }
        #expect(seen == [0, 1])
        let log = try RolloutLog(readingAt: trainer.runDirectory.appendingPathComponent(RolloutLog.fileName).path)
        let rows = try log.evaluations(runID: trainer.runID)
        let selection = rows.filter { $0.scope == ParaRLTrainer.selectionScope }
        #expect(selection.map(\.step) == [0, 1] && selection.allSatisfy { $0.tasks == 2 })
        #expect(rows.filter { $0.scope == "overall" }.allSatisfy { $0.tasks == 1 })  // the evaluation split's rows stay apart
        // The slice: training tasks, none an evaluation task nor a prompt of any run's first 9,000,000 tasks.
        let tasks = PolicyEvaluator.selectionTasks(worldSeed: 0, count: 60)
        let evalIDs = Set(PolicyEvaluator.evalTasks(worldSeed: 0).map(\.id))
        #expect(tasks.count == 60 && tasks.allSatisfy { $0.id.hasPrefix("train-") && !evalIDs.contains($0.id) })
        #expect(tasks.map(\.id) == PolicyEvaluator.selectionTasks(worldSeed: 0, count: 60).map(\.id))
        #expect(tasks.allSatisfy { Int($0.id.dropFirst(6)).map { $0 >= PolicyEvaluator.selectionTaskOffset } ?? false })
        do {
            _ = try ParaRLConfig.parse("select_tasks: -1\n", source: "run.yaml")
            Issue.record("select_tasks -1 was accepted")
        } catch { #expect("\(error)".contains("select_tasks") && "\(error)".contains("run.yaml"), "\(error)") }
    }

    @Test("bench step: a timed step runs every phase as train does, logs its row, and the workload is the step's groups")
    func timedStep() throws {
        let f = try fixture()
        let trainer = try f.start("timed") { c in c.steps = 2; c.evalTasks = 0; c.rewardEval.enabled = false }
        let workload = try trainer.nextStepWorkload()
        #expect(workload.count == trainer.config.promptsPerStep)
        let timing = try trainer.timedStep()
        #expect(Set(timing.seconds.keys) == Set(ParaRLTrainer.Phase.allCases) && timing.seconds.values.allSatisfy { $0 >= 0 })
        #expect(timing.gemm.isEmpty && trainer.step == 1)
        let log = try RolloutLog(readingAt: trainer.runDirectory.appendingPathComponent(RolloutLog.fileName).path)
        #expect(try log.steps(runID: trainer.runID).map(\.step) == [1])
        let groups = try log.groups(runID: trainer.runID)
        #expect(groups.map(\.taskID) == workload.map(\.taskID) && groups.map(\.sampledSteps) == workload.map(\.sampledSteps))
        for (g, w) in zip(0..., workload) {
            let inputs = try trainer.bundle.sequences(try trainer.bundle.prompt(trainer.task(step: 0, group: g)))
            #expect(w.conditional == inputs.conditional.tokens && w.conditionalKeyMask == inputs.conditional.keyMask)
        }
    }

    @Test("calibration: rollouts estimates μ, σ from the initial policy's partial outputs at every step and stores them")
    func rolloutCalibration() throws {
        let f = try fixture()
        let trainer = try f.start("calibrate") { c in c.calibration = ParaRLConfig.rolloutCalibration; c.steps = 1; c.evalTasks = 0 }
        let stored = try CLIPCalibration.read(from: trainer.runDirectory.appendingPathComponent(CLIPCalibration.fileName))
        #expect(stored == trainer.calibration && stored.source == "rollouts")
        #expect(stored.count == trainer.config.calibrationPrompts * trainer.config.sampler.steps && stored.sigma > 0)
        #expect(try RolloutLog(readingAt: trainer.runDirectory.appendingPathComponent(RolloutLog.fileName).path).runs()[0].clipMu == stored.mu)
    }

    @Test("pararl calibrate --config: paths from the config's folder, μ/σ on the sampled share, written where train reads them")
    func calibrateFromConfig() throws {
        let f = try fixture()
        let folder = f.folder.appendingPathComponent("calibrate-config")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var config = try ParaRLConfig.load(MicroFixture.repositoryRoot().appendingPathComponent("rl-configs/pararl-micro.yaml"))
        config.initCheckpoint = "../sft/checkpoints/step-00000001"; config.clipModel = "../clip"
        config.calibration = "out/clip_calibration.json"; config.clipVocabulary = f.vocabulary.path; config.seed = 11
        let configURL = folder.appendingPathComponent("run.yaml")
        try Data(try config.yaml().utf8).write(to: configURL)
        let destination = try RunCalibration.destination(config: config, configURL: configURL)
        #expect(destination.standardizedFileURL.path == folder.appendingPathComponent("out/clip_calibration.json").standardizedFileURL.path)

        // References: the config's seed draws 5% of 400 training tasks; μ and σ are those of the CLIP's scores on them.
        let calibration = try RunCalibration.estimate(configURL: configURL, config: config, source: .references, fraction: 0.05,
                                                      trainTasks: 400)
        var rng = RandomStream(seed: 11).split("calibrate")
        let pairs = CLIPCalibration.referencePairs(source: WorldTaskSource(seed: config.worldSeed), trainTasks: 400, fraction: 0.05, rng: &rng)
        let scorer = CLIPScorer(model: try CLIPModel.load(directory: f.clip), tokenizer: try CLIPTokenizer(vocabularyURL: f.vocabulary))
        let scores = try scorer.scores(texts: pairs.texts, images: pairs.images).map(Double.init)
        let mu = scores.reduce(0, +) / Double(scores.count)
        let sigma = (scores.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(scores.count)).squareRoot()
        #expect(calibration.count == 20 && calibration.source == "references" && calibration.seed == 11)
        #expect(abs(calibration.mu - mu) < 1e-9 && abs(calibration.sigma - sigma) < 1e-9 && sigma > 0)

        // Written to the config's calibration: file, a new run of that config reads exactly these values.
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try calibration.write(to: destination)
        let run = try ParaRLRun.start(configURL: configURL, runDirectory: folder.appendingPathComponent("run"))
        #expect(run.calibration == calibration)

        // Rollouts: one rollout per sampled prompt, scored at every step.
        let rollouts = try RunCalibration.estimate(configURL: configURL, config: config, source: .rollouts, fraction: 2.0 / 400, trainTasks: 400)
        #expect(rollouts.source == "rollouts" && rollouts.count == 2 * config.sampler.steps && rollouts.sigma > 0)

        // A config that estimates its calibration at the start names no file.
        config.calibration = ParaRLConfig.rolloutCalibration
        #expect(throws: TrainerError.self) { try RunCalibration.destination(config: config, configURL: configURL) }
    }

    @Test("an ablation plan expands variants × seeds into their own folders and resumes: finished runs are skipped")
    func ablationPlan() throws {
        let f = try fixture()
        let folder = f.folder.appendingPathComponent("ablation")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var base = try ParaRLConfig.load(MicroFixture.repositoryRoot().appendingPathComponent("rl-configs/pararl-micro.yaml"))
        base.initCheckpoint = f.checkpoint.path; base.clipModel = f.clip.path; base.calibration = f.calibration.path
        base.clipVocabulary = f.vocabulary.path; base.promptsPerStep = 1; base.evalTasks = 1
        try Data(try base.yaml().utf8).write(to: folder.appendingPathComponent("base.yaml"))
        let planURL = folder.appendingPathComponent("plan.yaml")
        try Data("""
            base: base.yaml
            out: runs
            seeds: [4, 5]
            steps: 1
            eval_tasks: 1
            eval_every: 0
            set:
              beta: 0.5
            variants:
              - name: output-level
                set:
                  objective: output
              - name: s2
                set:
                  sampled_steps: 2
                  num_iterations: 1

            """.utf8).write(to: planURL)
        let plan = try AblationPlan.load(planURL)
        #expect(plan.runs.map { "\($0.variant)/\($0.seed)/\($0.directory.lastPathComponent)" }
                == ["output-level/4/output-level-seed4", "output-level/5/output-level-seed5", "s2/4/s2-seed4", "s2/5/s2-seed5"])
        #expect(plan.runs.allSatisfy { $0.directory.deletingLastPathComponent().standardizedFileURL.path
                                       == folder.appendingPathComponent("runs").standardizedFileURL.path })
        // Only the `set:` keys and the plan's overrides differ from the base.
        for run in plan.runs {
            var expected = base
            expected.seed = run.seed; expected.steps = 1; expected.evalTasks = 1; expected.evalEvery = 0; expected.beta = 0.5
            if run.variant == "output-level" { expected.objective = .output } else { expected.sampledSteps = 2; expected.numIterations = 1 }
            #expect(run.config == expected)
        }
        let first = plan.runs[0]
        #expect(try AblationPlan.state(of: first.directory) == .pending)
        let (trainer, state) = try #require(try AblationPlan.trainer(for: first, baseURL: plan.baseURL, codeVersion: "test"))
        #expect(state == .pending && trainer.config.objective == .output && trainer.config.seed == 4)
        try trainer.train()
        #expect(try AblationPlan.state(of: first.directory) == .finished)
        #expect(try AblationPlan.trainer(for: first, baseURL: plan.baseURL, codeVersion: "test") == nil)
        // A folder with a checkpoint but no end resumes from it; one without a checkpoint is moved aside and restarted.
        let second = plan.runs[2]
        var resumedConfig = second
        resumedConfig.config.steps = 2
        let (partial, _) = try #require(try AblationPlan.trainer(for: resumedConfig, baseURL: plan.baseURL, codeVersion: "test"))
        // Same seed, start and evaluation settings as the finished output-level run: its step-0 rows are copied, and they
        // equal what sampling them again gives (a run of the same variant in another folder, without the copy).
        let reused = try #require(try plan.stepZeroSource(for: resumedConfig, trainer: partial))
        #expect(reused.source == first.directory.path && !reused.evaluations.isEmpty)
        partial.reusedStepZero = reused
        try partial.train(until: 1)
        #expect(try AblationPlan.state(of: second.directory) == .resumable(step: 1))
        func stepZero(_ dir: URL) throws -> ([EvaluationRecord], [RewardEvalRolloutRecord]) {
            let log = try RolloutLog(readingAt: dir.appendingPathComponent(RolloutLog.fileName).path)
            let id = try #require(try log.runs().first).runID
            return (try log.evaluations(runID: id).filter { $0.step == 0 }, try log.rewardEvaluationRollouts(runID: id, step: 0))
        }
        var sampledAgain = resumedConfig
        sampledAgain.directory = folder.appendingPathComponent("s2-seed4-sampled")
        let (fresh, _) = try #require(try AblationPlan.trainer(for: sampledAgain, baseURL: plan.baseURL, codeVersion: "test"))
        try fresh.train(until: 1)
        let (copied, copiedRewards) = try stepZero(second.directory), (sampled, sampledRewards) = try stepZero(sampledAgain.directory)
        let original = try stepZero(first.directory).0
        #expect(copied == sampled && copiedRewards == sampledRewards && copied == original)
        // No run of seed 5 has step-0 rows yet.
        let (seed5, _) = try #require(try AblationPlan.trainer(for: plan.runs[1], baseURL: plan.baseURL, codeVersion: "test"))
        #expect(try plan.stepZeroSource(for: plan.runs[1], trainer: seed5) == nil)
        let third = plan.runs[3]
        try FileManager.default.createDirectory(at: third.directory, withIntermediateDirectories: true)
        try Data(try base.yaml().utf8).write(to: third.directory.appendingPathComponent(ParaRLRun.configFile))
        #expect(try AblationPlan.state(of: third.directory) == .incomplete)
        let (restarted, restartState) = try #require(try AblationPlan.trainer(for: third, baseURL: plan.baseURL, codeVersion: "test"))
        #expect(restartState == .incomplete && restarted.config.sampledSteps == 2)
        let aside = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("runs").path)
            .filter { $0.hasPrefix("s2-seed5.incomplete-") }
        #expect(aside.count == 1)
        // Unknown keys at the top or inside a variant are errors naming them.
        for (bad, key) in [("base: base.yaml\nvariants: [{name: a}]\nstep: 3\n", "step"),
                           ("base: base.yaml\nvariants: [{name: a, sett: {}}]\n", "variants[0].sett"),
                           ("base: base.yaml\nvariants: [{name: a, set: {lr_typo: 1}}]\n", "lr_typo"),
                           ("base: base.yaml\nset: {betta: 1}\nvariants: [{name: a}]\n", "betta")] {
            let url = folder.appendingPathComponent("bad.yaml")
            try Data(bad.utf8).write(to: url)
            do {
                _ = try AblationPlan.load(url)
                Issue.record("accepted \(key)")
            } catch let e as TrainerError {
                #expect(e.description.contains(key), "\(e)")
            }
        }
    }

    @Test("unknown keys, also inside sampler:, are errors naming the key and file")
    func strictConfig() throws {
        let url = MicroFixture.repositoryRoot().appendingPathComponent("rl-configs/pararl-micro.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        for (bad, key) in [(text + "lr_typo: 1\n", "lr_typo"), (text.replacingOccurrences(of: "  steps: 6", with: "  steps: 6\n  stepz: 2"), "sampler.stepz")] {
            do {
                _ = try ParaRLConfig.parse(bad, source: "micro.yaml")
                Issue.record("accepted an unknown key \(key)")
            } catch let e as TrainerError {
                #expect(e.description.contains(key) && e.description.contains("micro.yaml"), "\(e)")
            }
        }
        #expect(throws: TrainerError.self) { try ParaRLConfig.parse("sampled_steps: 9\nsampler:\n  steps: 6\n", source: "x.yaml") }
        for name in ["pararl-s2", "pararl-s3", "pararl-s4", "output-level", "pararl-micro"] {
            let c = try ParaRLConfig.load(MicroFixture.repositoryRoot().appendingPathComponent("rl-configs/\(name).yaml"))
            #expect(c.epsilon > 0)
        }
        let s3 = try ParaRLConfig.load(MicroFixture.repositoryRoot().appendingPathComponent("rl-configs/pararl-s3.yaml"))
        #expect(s3.sampledSteps == 3 && s3.epsilon == 0.2 && s3.beta == 1e-4 && s3.gradClip == 1.0 && s3.objective == .trajectory)
    }
}
