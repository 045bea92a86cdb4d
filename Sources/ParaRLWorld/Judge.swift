// The exact judge that replaces ParaBench's GPT-4.1 judge (docs/design.md §3.8): six axes scored 0–100 by programs,
// from the plan stated in the reasoning text and the scene parsed from the generated pixels.
import ParaRLMedia

/// A task's reference for the judge: what the output should be, and what the input was.
public struct JudgeReference: Sendable, Equatable {
    public var id: String
    public var kind: TaskKind
    public var category: String
    public var inputScene: Scene?
    public var targetScene: Scene

    public init(id: String, kind: TaskKind, category: String, inputScene: Scene?, targetScene: Scene) {
        self.id = id
        self.kind = kind
        self.category = category
        self.inputScene = inputScene
        self.targetScene = targetScene
    }

    public init(_ task: WorldTask) {
        self.init(id: task.id, kind: task.kind, category: task.category.rawValue, inputScene: task.inputScene,
                  targetScene: task.targetScene)
    }
}

/// Scores on ParaBench's six axes, each 0–100. `imageConsistency` is nil for generation tasks (and for
/// aggregates without editing tasks).
public struct JudgeScores: Equatable, Sendable, Codable {
    /// The reasoning parses under the world grammar: 50 for a final statement that parses, plus 50 × the
    /// fraction of the other sentences that match a reasoning template.
    public var textQuality: Double
    /// The plan (the final statement) against the target scene (`WorldJudge.similarity`).
    public var textAlignment: Double
    /// The image against the clean re-render of the scene parsed from it: per pixel, full credit within
    /// 24 RGB units, none beyond 96, linear between.
    public var imageQuality: Double
    /// The scene parsed from the image against the target scene.
    public var imageAlignment: Double
    /// Editing: the share of what should stay (input objects the target keeps unchanged, and the background
    /// when it should not change) that the image keeps.
    public var imageConsistency: Double?
    /// The plan against the scene parsed from the image.
    public var outputAlignment: Double
    /// The mean of the axes present.
    public var overall: Double

    enum CodingKeys: String, CodingKey {
        case textQuality = "text_quality", textAlignment = "text_alignment", imageQuality = "image_quality"
        case imageAlignment = "image_alignment", imageConsistency = "image_consistency"
        case outputAlignment = "output_alignment", overall
    }

    public init(textQuality: Double, textAlignment: Double, imageQuality: Double, imageAlignment: Double,
                imageConsistency: Double?, outputAlignment: Double) {
        self.textQuality = textQuality
        self.textAlignment = textAlignment
        self.imageQuality = imageQuality
        self.imageAlignment = imageAlignment
        self.imageConsistency = imageConsistency
        self.outputAlignment = outputAlignment
        let axes = [textQuality, textAlignment, imageQuality, imageAlignment, outputAlignment] + (imageConsistency.map { [$0] } ?? [])
        overall = axes.reduce(0, +) / Double(axes.count)
    }

    /// (name, value) pairs in report order.
    public var axes: [(String, Double?)] {
        [("text quality", textQuality), ("text alignment", textAlignment), ("image quality", imageQuality),
         ("image alignment", imageAlignment), ("image consistency", imageConsistency),
         ("output alignment", outputAlignment), ("overall", overall)]
    }

    /// Each axis averaged over the scores that have it; overall is the mean of the averaged axes.
    public static func mean(_ list: [JudgeScores]) -> JudgeScores {
        func avg(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
        let consistency = list.compactMap(\.imageConsistency)
        return JudgeScores(textQuality: avg(list.map(\.textQuality)), textAlignment: avg(list.map(\.textAlignment)),
                           imageQuality: avg(list.map(\.imageQuality)), imageAlignment: avg(list.map(\.imageAlignment)),
                           imageConsistency: consistency.isEmpty ? nil : avg(consistency),
                           outputAlignment: avg(list.map(\.outputAlignment)))
    }
}

/// The judgement of one prediction.
public struct TaskJudgement: Equatable, Sendable {
    public var id: String
    public var kind: TaskKind
    public var category: String
    public var scores: JudgeScores
    /// The scene stated by the reasoning's final statement, if it parses.
    public var plan: Scene?
    /// The scene parsed from the image.
    public var imageScene: Scene
}

/// Aggregated judgements.
public struct JudgeReport: Equatable, Sendable, Codable {
    public var count: Int
    /// Reference ids without a prediction (not scored).
    public var missing: [String]
    public var overall: JudgeScores
    public var byCategory: [String: JudgeScores]
    public var byKind: [String: JudgeScores]

    enum CodingKeys: String, CodingKey {
        case count, missing, overall, byCategory = "by_category", byKind = "by_kind"
    }

    public init(_ judgements: [TaskJudgement], missing: [String] = []) {
        count = judgements.count
        self.missing = missing
        overall = JudgeScores.mean(judgements.map(\.scores))
        byCategory = Dictionary(grouping: judgements, by: \.category).mapValues { JudgeScores.mean($0.map(\.scores)) }
        byKind = Dictionary(grouping: judgements, by: \.kind.rawValue).mapValues { JudgeScores.mean($0.map(\.scores)) }
    }
}

/// Scores predictions against references.
public struct WorldJudge: Sendable {
    public let parser: SceneParser
    public var imageSize: Int { parser.geometry.imageSize }

    public init(imageSize: Int = 32) { parser = SceneParser(imageSize: imageSize) }

    /// Judges one prediction: its reasoning text and its image (which must be `imageSize` square).
    public func judge(_ reference: JudgeReference, reasoning: String, image: RGBImage) -> TaskJudgement {
        let text = Self.readReasoning(reasoning)
        let imageScene = parser.parse(image)
        let quality = imageQuality(image, imageScene)
        var consistency: Double?
        if reference.kind == .edit, let input = reference.inputScene {
            consistency = Self.consistency(input: input, target: reference.targetScene, output: imageScene)
        }
        let scores = JudgeScores(textQuality: text.quality,
                                 textAlignment: text.plan.map { 100 * Self.similarity($0, reference.targetScene) } ?? 0,
                                 imageQuality: quality,
                                 imageAlignment: 100 * Self.similarity(imageScene, reference.targetScene),
                                 imageConsistency: consistency,
                                 outputAlignment: text.plan.map { 100 * Self.similarity($0, imageScene) } ?? 0)
        return TaskJudgement(id: reference.id, kind: reference.kind, category: reference.category, scores: scores,
                             plan: text.plan, imageScene: imageScene)
    }

    /// Text quality (0–100) and the plan of a reasoning trace.
    public static func readReasoning(_ reasoning: String) -> (quality: Double, plan: Scene?) {
        let tokens = TextTokenizer.split(reasoning.lowercased())
        var sentences: [[String]] = [[]]
        for t in tokens {
            sentences[sentences.count - 1].append(t)
            if t == "." { sentences.append([]) }
        }
        if sentences.last?.isEmpty ?? false { sentences.removeLast() }
        guard let last = sentences.last else { return (0, nil) }
        let finalStatement = try? Scene(statement: TextTokenizer.join(last))
        let others = sentences.dropLast()
        let matching = others.filter(WorldGrammar.isReasoningSentence).count
        let quality = (finalStatement == nil ? 0 : 50) + (others.isEmpty ? 0 : 50 * Double(matching) / Double(others.count))
        // The plan is the last sentence that states a final scene, even when something follows it.
        let plan = finalStatement ?? sentences.reversed().lazy
            .filter { $0.starts(with: ["final", "scene"]) }
            .compactMap { try? Scene(statement: TextTokenizer.join($0)) }.first
        return (quality, plan)
    }

    /// Per-pixel credit against the clean render of the parsed scene.
    func imageQuality(_ image: RGBImage, _ scene: Scene) -> Double {
        let clean = parser.renderer.render(scene)
        var credit = 0.0
        let n = image.width * image.height
        for i in 0..<n {
            let d = image[i % image.width, i / image.width].distanceSquared(to: clean[i % image.width, i / image.width])
            let dist = Double(d).squareRoot()
            credit += dist <= 24 ? 1 : dist >= 96 ? 0 : (96 - dist) / 72
        }
        return 100 * credit / Double(n)
    }

    /// Scene similarity in [0, 1]: (background match + Σ over the union of occupied cells of the fraction of
    /// colour, shape and size that agree where both scenes have an object) / (1 + number of cells in the union).
    /// 1 exactly when the scenes are equal; a missing, extra or moved object costs its whole cell.
    /// (The world reward's similarity of a completely stated scene: one implementation.)
    public static func similarity(_ a: Scene, _ b: Scene) -> Double {
        WorldAlignment.similarity(StatedScene(a), b)
    }

    /// Share (0–100) of what should stay that stays: the input objects the target keeps unchanged, plus the
    /// background when the target keeps it. 100 when nothing should stay.
    public static func consistency(input: Scene, target: Scene, output: Scene) -> Double {
        let kept = input.objects.filter { target.object(at: $0.position) == $0 }
        let keepBackground = input.background == target.background
        let units = kept.count + (keepBackground ? 1 : 0)
        guard units > 0 else { return 100 }
        var held = kept.filter { output.object(at: $0.position) == $0 }.count
        if keepBackground && output.background == input.background { held += 1 }
        return 100 * Double(held) / Double(units)
    }
}
