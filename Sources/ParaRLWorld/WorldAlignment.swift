// The exact world reward (docs/design.md §3.5, `reward: world`): the judge's output alignment extended to partial states —
// the scene similarity between the scene a partial reasoning text states so far and the scene parsed from a partial
// image, as a score c = 100 × similarity in [0, 100] that Eq. 4 normalises like a CLIP score. It needs no task: like
// CLIP it compares the two halves of one output, so a policy cannot raise it by copying the prompt.
//
// How a text is read (`WorldAlignment.statedScene`):
// 1. A complete output (t = T) is read as the judge reads it (`WorldJudge.readReasoning`): its plan, or nothing when
//    no final statement parses — so on complete outputs the score is exactly the judge's output alignment.
// 2. A partial output (t < T) whose reasoning already has such a plan states that plan. Otherwise the words after the last "final scene" (or "scene :") are read leniently, as the objects stated so
//    far: an item is an article or a comma/semicolon boundary followed by colour, size and shape words and a
//    position ("at" optional, since a partial text drops still-masked words); an item without a position states
//    nothing, a missing attribute counts as a mismatch, a second item at a taken cell is ignored, and
//    "background X" states the background. Reading stops at the first period.
// 3. No marker: nothing is stated yet, and the score is 0 (defined, never NaN).
import ParaRLMedia

/// One object of a partially stated scene: its cell and whatever attributes were stated.
public struct StatedObject: Equatable, Sendable {
    public var position: GridPosition
    public var color: WorldColor?
    public var size: WorldSize?
    public var shape: WorldShape?

    public init(position: GridPosition, color: WorldColor?, size: WorldSize?, shape: WorldShape?) {
        self.position = position; self.color = color; self.size = size; self.shape = shape
    }
}

/// What a (partial) reasoning text states about the final scene so far.
public struct StatedScene: Equatable, Sendable {
    public var background: Background?
    public var objects: [StatedObject]

    public init(background: Background?, objects: [StatedObject]) { self.background = background; self.objects = objects }

    /// A complete scene as stated (every attribute and the background known).
    public init(_ scene: Scene) {
        background = scene.background
        objects = scene.objects.map { StatedObject(position: $0.position, color: $0.color, size: $0.size, shape: $0.shape) }
    }

    public static let nothing = StatedScene(background: nil, objects: [])

    public func object(at p: GridPosition) -> StatedObject? { objects.first { $0.position == p } }
}

/// The exact output-alignment score of (partial text, partial image) pairs.
public struct WorldAlignment: Sendable {
    public let parser: SceneParser

    public init(imageSize: Int = 32) { parser = SceneParser(imageSize: imageSize) }

    /// c = 100 × similarity(stated scene of `text`, scene parsed from `image`), in [0, 100]; `complete`: the text is
    /// a final output (t = T), read strictly as the judge does.
    public func score(text: String, image: RGBImage, complete: Bool = false) -> Double {
        100 * Self.similarity(Self.statedScene(text, complete: complete), parser.parse(image))
    }

    /// Scores of pairs `texts[i]`, `images[i]` (the same count), as CLIP's scorer returns them; `complete[i]` as in
    /// `score` (missing entries: partial).
    public func scores(texts: [String], images: [RGBImage], complete: [Bool] = []) -> [Float] {
        zip(texts, images).enumerated().map { i, pair in
            Float(score(text: pair.0, image: pair.1, complete: i < complete.count && complete[i]))
        }
    }

    /// `WorldJudge.similarity` with unknowns: (background stated and equal + Σ over the union of stated and image
    /// cells of the fraction of colour, shape and size stated and equal where both have an object) / (1 + cells).
    /// Equals `WorldJudge.similarity` when the stated scene is complete.
    public static func similarity(_ stated: StatedScene, _ scene: Scene) -> Double {
        var score = stated.background == scene.background ? 1.0 : 0.0
        let cells = Set(stated.objects.map(\.position)).union(scene.objects.map(\.position))
        for p in cells.sorted() {  // a fixed order: a Set's order changes from process to process
            guard let x = stated.object(at: p), let y = scene.object(at: p) else { continue }
            score += Double((x.color == y.color ? 1 : 0) + (x.shape == y.shape ? 1 : 0) + (x.size == y.size ? 1 : 0)) / 3
        }
        return score / Double(1 + cells.count)
    }

    /// The scene `text` states so far (see the file header for the reading); `complete`: read as the judge does.
    public static func statedScene(_ text: String, complete: Bool = false) -> StatedScene {
        if let plan = WorldJudge.readReasoning(text).plan { return StatedScene(plan) }
        if complete { return .nothing }
        let words = TextTokenizer.split(text.lowercased())
        var start: Int?
        for i in words.indices.dropLast() where words[i + 1] == "scene" && words[i] == "final" || words[i] == "scene" && words[i + 1] == ":" {
            start = i + 2
        }
        guard var i = start else { return .nothing }
        var stated = StatedScene.nothing
        var current: (color: WorldColor?, size: WorldSize?, shape: WorldShape?, position: GridPosition?) = (nil, nil, nil, nil)
        func flush() {
            if let p = current.position, stated.object(at: p) == nil {
                stated.objects.append(StatedObject(position: p, color: current.color, size: current.size, shape: current.shape))
            }
            current = (nil, nil, nil, nil)
        }
        while i < words.count {
            let w = words[i]
            if w == "." { break }
            if w == "," || w == ";" || ((w == "a" || w == "an") && current.position != nil) {
                flush()
            } else if w == "background", i + 1 < words.count, let b = Background(rawValue: words[i + 1]) {
                flush()
                stated.background = b
                i += 1
            } else if let c = WorldColor(rawValue: w) {
                if current.color != nil && current.position != nil { flush() }
                current.color = current.color ?? c
            } else if let s = WorldSize(rawValue: w) {
                current.size = current.size ?? s
            } else if let s = WorldShape(rawValue: w) {
                current.shape = current.shape ?? s
            } else if current.position == nil, i + 1 < words.count, let p = GridPosition(name: w + " " + words[i + 1]) {
                current.position = p
                i += 1
            } else if current.position == nil, let p = GridPosition(name: w) {
                current.position = p
            }
            i += 1
        }
        flush()
        return stated
    }
}
