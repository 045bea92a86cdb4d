// The reward source key (`reward: clip | world`) and the monitor: a micro run logs the other source's raw score beside
// every snapshot and paired-evaluation rollout (recomputed here from the logged partial outputs), the step row holds
// its mean, a world-reward run's scores are the exact world reward of its logged partials, and bad values of the new
// keys are errors naming key and file.
import Foundation
import Testing
import ParaRLCLIP
import ParaRLMedia
import ParaRLStorage
import ParaRLWorld
@testable import ParaRLTrainer

@Suite("Reward sources", .serialized)
struct RewardSourceTests {
    func fixture() throws -> MicroFixture { try MicroFixture.shared.get() }

    static func log(_ trainer: ParaRLTrainer) throws -> RolloutLog {
        try RolloutLog(readingAt: trainer.runDirectory.appendingPathComponent(RolloutLog.fileName).path)
    }

    @Test("bad values of reward and reward_monitor are errors naming key and file")
    func strictKeys() throws {
        let text = try String(contentsOf: MicroFixture.repositoryRoot().appendingPathComponent("rl-configs/pararl-micro.yaml"), encoding: .utf8)
        for (line, key) in [("reward: banana\n", "reward"), ("reward_monitor: 3\n", "reward_monitor"), ("reward: [clip]\n", "reward"),
                            ("clip_text: final\n", "clip_text")] {
            do {
                _ = try ParaRLConfig.parse(text + line, source: "micro.yaml")
                Issue.record("accepted \(line)")
            } catch let e as TrainerError {
                #expect(e.description.contains(key) && e.description.contains("micro.yaml"), "\(e)")
            }
        }
        let world = try ParaRLConfig.parse(text + "reward: world\nreward_monitor: false\n", source: "micro.yaml")
        #expect(world.reward == .world && !world.rewardMonitor)
        #expect(try ParaRLConfig.parse(text, source: "micro.yaml").reward == .clip)
    }

    @Test("clip_text: statement scores from the last final statement on; trace scores the whole text")
    func clipTextReading() throws {
        let text = "the red small ring goes at center. final scene: a blue large square at top left, final scene: a red small ring at center; background day."
        #expect(CLIPTextReading.statement.read(text) == "final scene: a red small ring at center; background day.")
        #expect(CLIPTextReading.trace.read(text) == text)
        #expect(CLIPTextReading.statement.read("the red small ring goes at") == "the red small ring goes at")  // none written yet
        #expect(CLIPTextReading.statement.read("x. Final Scene: a") == "Final Scene: a")
        // The run's CLIP scorer reads as configured: its scores equal CLIP's on the read texts.
        let f = try fixture()
        var config = try ParaRLConfig.parse(try String(contentsOf: MicroFixture.repositoryRoot().appendingPathComponent("rl-configs/pararl-micro.yaml"),
                                                       encoding: .utf8) + "clip_text: statement\n", source: "micro.yaml")
        config.clipModel = f.clip.path; config.clipVocabulary = f.vocabulary.path
        let scorer = try ParaRLRun.rewardScorer(config, file: "micro.yaml")
        let image = SceneRenderer(imageSize: 32).render(try Scene(statement: "final scene: a red small ring at center; background day."))
        let read = try scorer.pairScores(texts: [text], images: [image], complete: [true])
        config.clipText = .trace
        let whole = try ParaRLRun.rewardScorer(config, file: "micro.yaml")
        #expect(try whole.pairScores(texts: [CLIPTextReading.statement.read(text)], images: [image], complete: [true]) == read)
        #expect(try whole.pairScores(texts: [text], images: [image], complete: [true]) != read)
    }

    @Test("a CLIP-reward run logs the world reward of every snapshot and paired-evaluation rollout as its monitor")
    func clipRunMonitorsTheWorldReward() throws {
        let trainer = try fixture().start("monitor-clip")
        try trainer.train()
        let log = try Self.log(trainer)
        let world = WorldAlignment()
        let snapshots = try log.snapshots(runID: trainer.runID)
        #expect(!snapshots.isEmpty)
        for s in snapshots {
            let image = try PNGCodec.decode(s.partialImagePNG)
            let complete = s.t == trainer.config.sampler.steps
            #expect(s.monitorScore == world.score(text: s.partialText, image: image, complete: complete), "step \(s.step) group \(s.group) rollout \(s.rollout) t \(s.t)")
        }
        for step in try log.steps(runID: trainer.runID) {
            let mine = snapshots.filter { $0.step == step.step }.compactMap(\.monitorScore)
            let mean = try #require(step.monitorMean)
            #expect(abs(mean - mine.reduce(0, +) / Double(mine.count)) < 1e-9)
        }
        let evaluated = try log.rewardEvaluationRollouts(runID: trainer.runID)
        #expect(!evaluated.isEmpty && evaluated.allSatisfy { $0.monitorScore != nil })
        #expect(try log.rewardEvaluations(runID: trainer.runID).allSatisfy { $0.monitorMean != nil })
    }

    @Test("a world-reward run scores its snapshots with the exact world reward and monitors CLIP; references cannot calibrate it")
    func worldRun() throws {
        let f = try fixture()
        // The untrained micro policy's partial outputs all score 0 under the world reward: σ = 0 cannot normalise
        // (Eq. 4 divides by σ), so the rollouts calibration is refused naming the key, and no run folder is made.
        do {
            _ = try f.start("reward-world-flat") { c in c.reward = .world; c.calibration = ParaRLConfig.rolloutCalibration }
            Issue.record("a σ = 0 calibration was accepted")
        } catch let e as TrainerError {
            #expect(e.description.contains("calibration") && e.description.contains("σ = 0"), "\(e)")
        }
        #expect(!FileManager.default.fileExists(atPath: f.folder.appendingPathComponent("reward-world-flat").path))
        let calibrationFile = f.folder.appendingPathComponent("world-calibration.json")
        try CLIPCalibration(mu: 20, sigma: 10, count: 24, source: "rollouts", model: "world", seed: 0, fraction: 0).write(to: calibrationFile)
        let trainer = try f.start("reward-world") { c in c.reward = .world; c.calibration = calibrationFile.path }
        try trainer.train()
        #expect(trainer.calibration.sigma == 10)
        let log = try Self.log(trainer)
        let world = WorldAlignment()
        let clip = CLIPScorer(model: try CLIPModel.load(directory: f.clip), tokenizer: try CLIPTokenizer(vocabularyURL: f.vocabulary))
        let reward = CLIPReward(trainer.calibration)
        let snapshots = try log.snapshots(runID: trainer.runID)
        let images = try snapshots.map { try PNGCodec.decode($0.partialImagePNG) }
        let clipScores = try clip.scores(texts: snapshots.map(\.partialText), images: images)
        for (s, (image, c)) in zip(snapshots, zip(images, clipScores)) {
            #expect(s.clipScore == world.score(text: s.partialText, image: image, complete: s.t == trainer.config.sampler.steps))
            #expect(s.reward == reward.reward(score: s.clipScore))
            #expect(abs((s.monitorScore ?? .nan) - Double(c)) <= 1e-3 * max(1, abs(Double(c))), "monitor \(String(describing: s.monitorScore)) vs CLIP \(c)")
        }
        // Reference pairs all score 100 under the world reward: σ = 0 is refused with the way out.
        let url = f.folder.appendingPathComponent("reward-world.yaml")
        var config = trainer.config
        config.calibration = f.folder.appendingPathComponent("unused.json").path
        try Data(try config.yaml().utf8).write(to: url)
        do {
            _ = try RunCalibration.estimate(configURL: url, config: config, source: .references, fraction: 0.001)
            Issue.record("calibrated the world reward on reference pairs")
        } catch let e as TrainerError {
            #expect(e.description.contains("reward") && e.description.contains("rollouts") && e.description.contains(url.path), "\(e)")
        }
    }
}
