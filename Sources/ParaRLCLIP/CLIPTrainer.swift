// Contrastive training of a small CLIP on the built-in world (issue 6 item 6): symmetric InfoNCE with a learnable
// logit scale over batches of (text, image) pairs, each anchor scene joined by its one-attribute hard negative,
// AdamW with warm-up and cosine decay, global gradient clipping; evaluation by text→image retrieval and hard-negative
// win rate on the evaluation split's target scenes.
import Foundation
import ParaRLCore
import ParaRLMedia
import ParaRLWorld

/// Evaluation of a world CLIP.
public struct CLIPWorldEvaluation: Codable, Sendable {
    /// Text → image top-1 retrieval over the evaluation scenes (captions); a retrieved identical scene counts.
    public var retrievalTop1: Double
    /// Share of (text, true scene, negative) triples where the true scene scores higher, captions and reasoning.
    public var hardNegativeWinRate: Double
    public var winRateByAttribute: [String: Double]
    public var winRateCaption: Double
    public var winRateReasoning: Double
    public var scenes: Int
    enum CodingKeys: String, CodingKey {
        case retrievalTop1 = "retrieval_top1", hardNegativeWinRate = "hard_negative_win_rate"
        case winRateByAttribute = "win_rate_by_attribute", winRateCaption = "win_rate_caption"
        case winRateReasoning = "win_rate_reasoning", scenes
    }
}

public final class CLIPTrainer {
    public let config: CLIPTrainConfig
    public let scorer: CLIPScorer
    public var model: CLIPModel { scorer.model }
    let source: WorldTaskSource
    let renderer: SceneRenderer
    let alignment = WorldAlignment(imageSize: 32)
    let optimizer: AdamW
    let schedule: CosineSchedule
    var rng: RandomStream
    /// The agreement data (`policy_samples`), if any.
    let samples: CLIPPolicySamples?

    public init(config: CLIPTrainConfig, tokenizer: CLIPTokenizer, samples: CLIPPolicySamples? = nil) throws {
        self.config = config
        self.samples = samples
        let model: CLIPModel
        if let initModel = config.initModel {
            model = try CLIPModel.load(directory: URL(fileURLWithPath: initModel))
        } else {
            model = try CLIPModel(config: config.model.clipConfig)
            var initRNG = RandomStream(seed: config.seed).split("init")
            model.initialiseWeights(rng: &initRNG)
        }
        scorer = CLIPScorer(model: model, tokenizer: tokenizer)
        source = WorldTaskSource(seed: config.worldSeed)
        renderer = SceneRenderer(imageSize: 32)
        rng = RandomStream(seed: config.seed).split("batches")
        var groups: [ParameterGroup] = []  // no decay on vectors, embeddings and logit_scale
        for e in model.params.layout.entries where e.shape.count <= 1 || e.name.contains("embedding") {
            groups.append(ParameterGroup(e.offset..<(e.offset + e.count), weightDecay: 0))
        }
        optimizer = try AdamW(parameterCount: model.params.count, beta1: 0.9, beta2: 0.98, eps: 1e-6,
                              weightDecay: config.weightDecay, groups: groups)
        schedule = CosineSchedule(peakLR: config.learningRate, warmupSteps: config.warmupSteps, totalSteps: config.steps)
    }

    /// One batch: anchors and their hard negatives, as texts and images; `anchors` holds the index of each anchor
    /// (its negatives follow it). A scene allows fewer negatives when an attribute cannot change (e.g. no objects).
    func batch() -> (texts: [String], images: [RGBImage], anchors: [Int]) {
        var texts: [String] = [], images: [RGBImage] = [], anchors: [Int] = []
        for _ in 0..<config.batchSize {
            anchors.append(texts.count)
            let task = source.trainTask(index: rng.int(below: config.trainTasks))
            let u = rng.uniformDouble()
            let form: CLIPTextForm = u < config.captionShare ? .caption
                : u < config.captionShare + config.reasoningShare ? .reasoning : .partialReasoning
            var negatives: [Scene] = []
            var kinds = CLIPHardNegativeKind.allCases
            rng.shuffle(&kinds)
            for kind in kinds where negatives.count < config.hardNegatives {
                if let negative = CLIPWorldData.hardNegative(of: task.targetScene, kind: kind, rng: &rng) { negatives.append(negative) }
            }
            let formRNG = rng.split(texts.count)  // the same cut for the anchor's and its negatives' texts
            let minimumWords = CLIPWorldData.distinguishingWords(task: task, scene: task.targetScene, negatives: negatives)
            var anchorRNG = formRNG
            texts.append(CLIPWorldData.text(form, task: task, scene: task.targetScene, minimumWords: minimumWords, rng: &anchorRNG))
            images.append(renderer.render(task.targetScene))
            for negative in negatives {
                var negRNG = formRNG
                texts.append(CLIPWorldData.text(form, task: task, scene: negative, minimumWords: minimumWords, rng: &negRNG))
                images.append(renderer.render(negative))
            }
        }
        return (texts, images, anchors)
    }

    /// One optimiser step; returns the loss and the gradient norm before clipping.
    public func step(index: Int) throws -> (loss: Double, gradNorm: Double) {
        var (texts, images, _) = batch()
        let b = texts.count, p = model.config.projectionDim
        // The agreement batch rides in the same forward pass, after the contrastive rows.
        var targets: [Double] = [], groups: [Range<Int>] = []
        func append(_ group: [CLIPPolicySamples.Pair]) {
            groups.append(targets.count..<(targets.count + group.count))
            for pair in group {
                texts.append(pair.text); images.append(pair.image)
                targets.append(config.targetCosLow + (config.targetCosHigh - config.targetCosLow) * pair.score / 100)
            }
        }
        if let samples {
            for _ in 0..<config.policyGroups { append(samples.groups[rng.int(below: samples.groups.count)]) }
        }
        for _ in 0..<config.errorGroups {
            let task = source.trainTask(index: rng.int(below: config.trainTasks))
            append(CLIPErrorGroups.group(task: task, count: config.errorGroupSize, renderer: renderer, alignment: alignment, rng: &rng))
        }
        let rows = texts.count
        model.grads.zero()
        let t = try model.textForward(ids: scorer.tokenize(texts), b: rows, t: model.config.textConfig.maxPositionEmbeddings)
        let v = try model.visionForward(pixels: scorer.pixelValues(images), b: rows)
        let textFeatures = Array(UnsafeBufferPointer(start: t.features, count: rows * p))
        let imageFeatures = Array(UnsafeBufferPointer(start: v.features, count: rows * p))
        let result = CLIPContrastiveLoss.evaluate(text: Array(textFeatures[0..<(b * p)]), image: Array(imageFeatures[0..<(b * p)]),
                                                  b: b, p: p, logitScale: model.logitScale)
        var dText = result.dText, dImage = result.dImage, loss = result.loss
        if !targets.isEmpty {
            let agreement = CLIPScoreRegression.evaluate(text: Array(textFeatures[(b * p)...]), image: Array(imageFeatures[(b * p)...]),
                                                         p: p, targets: targets, groups: groups, weight: config.policyWeight,
                                                         withinWeight: config.policyWithinWeight)
            dText += agreement.dText; dImage += agreement.dImage; loss += agreement.loss
        }
        dText.withUnsafeBufferPointer { if let d = $0.baseAddress { model.textBackward(dfeatures: d, acts: t) } }
        dImage.withUnsafeBufferPointer { if let d = $0.baseAddress { model.visionBackward(dfeatures: d, acts: v) } }
        model.grads["logit_scale"][0] += result.dLogitScale
        let norm = GradientClipping.clip(model.grads.buffer, maxNorm: config.gradClip)
        guard norm.isFinite else { return (loss, norm) }  // a non-finite gradient skips the step
        optimizer.step(parameters: model.params.buffer, gradients: model.grads.buffer, lr: schedule.lr(step: index))
        let scale = model.params["logit_scale"]
        scale[0] = min(max(scale[0], 0), config.maxLogitScale)
        return (loss, norm)
    }

    /// Retrieval and hard-negative win rate on the first `evalScenes` evaluation tasks' target scenes.
    public func evaluate() throws -> CLIPWorldEvaluation {
        try CLIPTrainer.evaluate(scorer: scorer, tasks: Array(source.evalTasks.prefix(config.evalScenes)), seed: config.seed)
    }

    public static func evaluate(scorer: CLIPScorer, tasks: [WorldTask], seed: UInt64) throws -> CLIPWorldEvaluation {
        let renderer = SceneRenderer(imageSize: 32), p = scorer.model.config.projectionDim
        let scenes = tasks.map(\.targetScene)
        var rng = RandomStream(seed: seed).split("eval")
        let textEmb = try chunked(scenes.map(\.statement)) { try scorer.textEmbeddings($0) }
        let imageEmb = try chunked(scenes.map(renderer.render)) { try scorer.imageEmbeddings($0) }
        var hits = 0
        for i in scenes.indices {
            var best = 0, bestScore = -Float.infinity
            for j in scenes.indices {
                var dot: Float = 0
                for d in 0..<p { dot += textEmb[i * p + d] * imageEmb[j * p + d] }
                if dot > bestScore { bestScore = dot; best = j }
            }
            if scenes[best] == scenes[i] { hits += 1 }
        }
        var wins: [String: (Int, Int)] = [:], formWins: [CLIPTextForm: (Int, Int)] = [:]
        var texts: [String] = [], positives: [RGBImage] = [], negatives: [RGBImage] = []
        var labels: [(CLIPHardNegativeKind, CLIPTextForm)] = []
        for task in tasks {
            for kind in CLIPHardNegativeKind.allCases {
                guard let negative = CLIPWorldData.hardNegative(of: task.targetScene, kind: kind, rng: &rng) else { continue }
                for form in [CLIPTextForm.caption, .reasoning] {
                    texts.append(CLIPWorldData.text(form, task: task, scene: task.targetScene, rng: &rng))
                    positives.append(renderer.render(task.targetScene))
                    negatives.append(renderer.render(negative))
                    labels.append((kind, form))
                }
            }
        }
        let pos = try scorer.scores(texts: texts, images: positives), neg = try scorer.scores(texts: texts, images: negatives)
        for (i, (kind, form)) in labels.enumerated() {
            let win = pos[i] > neg[i] ? 1 : 0
            let k = wins[kind.rawValue] ?? (0, 0), f = formWins[form] ?? (0, 0)
            wins[kind.rawValue] = (k.0 + win, k.1 + 1)
            formWins[form] = (f.0 + win, f.1 + 1)
        }
        func rate(_ x: (Int, Int)?) -> Double { guard let x, x.1 > 0 else { return 0 } ; return Double(x.0) / Double(x.1) }
        let total = wins.values.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
        return CLIPWorldEvaluation(retrievalTop1: Double(hits) / Double(max(1, scenes.count)),
                                   hardNegativeWinRate: rate(total),
                                   winRateByAttribute: wins.mapValues { rate($0) },
                                   winRateCaption: rate(formWins[.caption]), winRateReasoning: rate(formWins[.reasoning]),
                                   scenes: scenes.count)
    }

    /// `body` on chunks of 64, concatenated.
    static func chunked<T>(_ items: [T], _ body: ([T]) throws -> [Float]) throws -> [Float] {
        var out: [Float] = []
        var start = 0
        while start < items.count {
            let end = min(start + 64, items.count)
            out += try body(Array(items[start..<end]))
            start = end
        }
        return out
    }
}
