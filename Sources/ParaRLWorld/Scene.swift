// Scenes of the built-in task world (docs/design.md §3.8): coloured shapes of two sizes on a 3×3 grid over a
// background, and the canonical sentence that states a scene exactly and parses back to it.
import ParaRLMedia

/// Object colours: crisp palette entries, each at least ~80 RGB units from every other palette entry.
public enum WorldColor: String, CaseIterable, Sendable, Codable, Comparable {
    case red, orange, yellow, green, blue, purple, pink, brown, white, black

    public var rgb: RGB {
        switch self {
        case .red: return RGB(220, 30, 30)
        case .orange: return RGB(250, 140, 20)
        case .yellow: return RGB(250, 225, 40)
        case .green: return RGB(30, 160, 50)
        case .blue: return RGB(30, 70, 220)
        case .purple: return RGB(140, 50, 180)
        case .pink: return RGB(250, 120, 190)
        case .brown: return RGB(120, 70, 30)
        case .white: return RGB(250, 250, 250)
        case .black: return RGB(15, 15, 15)
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.order < b.order }
    var order: Int { Self.allCases.firstIndex(of: self) ?? 0 }
}

/// Object shapes. Each is a predicate on the object's box (see `SceneGeometry`).
public enum WorldShape: String, CaseIterable, Sendable, Codable {
    case circle, square, triangle, diamond, cross, ring

    /// The plural used in counting phrases ("three circles").
    public var plural: String { self == .cross ? "crosses" : rawValue + "s" }
    var order: Int { Self.allCases.firstIndex(of: self) ?? 0 }
}

/// Object sizes: small objects leave a one-pixel border in their cell (at 32×32), large ones fill it.
public enum WorldSize: String, CaseIterable, Sendable, Codable {
    case small, large
}

/// The scene's background, which stands for the time of day or the weather.
public enum Background: String, CaseIterable, Sendable, Codable {
    case day, night, sunset, rain

    public var rgb: RGB {
        switch self {
        case .day: return RGB(140, 200, 245)
        case .night: return RGB(20, 40, 110)
        case .sunset: return RGB(245, 180, 130)
        case .rain: return RGB(120, 130, 145)
        }
    }
}

/// A cell of the 3×3 grid. Rows are top, middle, bottom; columns left, center, right.
public struct GridPosition: Hashable, Comparable, Sendable, Codable {
    public static let rows = 3, columns = 3
    public let row: Int
    public let column: Int

    public init(row: Int, column: Int) {
        precondition((0..<Self.rows).contains(row) && (0..<Self.columns).contains(column),
                     "grid position out of range: row \(row), column \(column)")
        self.row = row
        self.column = column
    }

    /// Row-major index 0..<9: the canonical order of objects in a scene statement.
    public var index: Int { row * Self.columns + column }
    public init(index: Int) { self.init(row: index / Self.columns, column: index % Self.columns) }

    /// All nine cells in reading order.
    public static let all: [GridPosition] = (0..<(rows * columns)).map { GridPosition(index: $0) }

    /// "top left", "top center", …, "center", …, "bottom right".
    public var name: String {
        let r = ["top", "middle", "bottom"][row], c = ["left", "center", "right"][column]
        if row == 1 && column == 1 { return "center" }
        if row == 1 { return "middle \(c)" }
        return "\(r) \(c)"
    }

    public static let names: [String] = all.map(\.name)

    /// The position called `name`, if any.
    public init?(name: String) {
        guard let i = Self.names.firstIndex(of: name) else { return nil }
        self.init(index: i)
    }

    /// The cell `dr` rows down and `dc` columns right, or nil off the grid.
    public func offset(rows dr: Int, columns dc: Int) -> GridPosition? {
        let r = row + dr, c = column + dc
        guard (0..<Self.rows).contains(r), (0..<Self.columns).contains(c) else { return nil }
        return GridPosition(row: r, column: c)
    }

    public static func < (a: Self, b: Self) -> Bool { a.index < b.index }
}

/// One object of a scene.
public struct SceneObject: Hashable, Sendable, Codable {
    public var color: WorldColor
    public var shape: WorldShape
    public var size: WorldSize
    public var position: GridPosition

    public init(color: WorldColor, shape: WorldShape, size: WorldSize, position: GridPosition) {
        self.color = color
        self.shape = shape
        self.size = size
        self.position = position
    }

    /// "red small circle": the attribute order of every statement in the world.
    public var phrase: String { "\(color.rawValue) \(size.rawValue) \(shape.rawValue)" }
    /// "red circle": how instructions name an object (colour and shape are unique in an input scene).
    public var name: String { "\(color.rawValue) \(shape.rawValue)" }
    /// "a red small circle at top left" ("an orange …"): one item of the canonical statement.
    public var statement: String { "\(color == .orange ? "an" : "a") \(phrase) at \(position.name)" }
}

/// A scene: a background and at most one object per grid cell, kept in canonical (reading) order.
public struct Scene: Hashable, Sendable {
    public static let maxObjects = 4
    public var background: Background
    public private(set) var objects: [SceneObject]

    /// A scene from objects in any order; at most one object per cell.
    public init(background: Background, objects: [SceneObject]) {
        self.background = background
        self.objects = objects.sorted { $0.position < $1.position }
        precondition(Set(objects.map(\.position)).count == objects.count, "two objects share a cell")
    }

    public func object(at p: GridPosition) -> SceneObject? { objects.first { $0.position == p } }
    public func isFree(_ p: GridPosition) -> Bool { object(at: p) == nil }
    public var freePositions: [GridPosition] { GridPosition.all.filter(isFree) }

    /// The object named `color shape`, if any.
    public func object(color: WorldColor, shape: WorldShape) -> SceneObject? {
        objects.first { $0.color == color && $0.shape == shape }
    }

    /// This scene with the object at `p` replaced by `new` (or removed when `new` is nil).
    public func replacing(at p: GridPosition, with new: SceneObject?) -> Scene {
        var rest = objects.filter { $0.position != p }
        if let new { rest.append(new) }
        return Scene(background: background, objects: rest)
    }

    /// This scene with `object` moved to the free cell `to`.
    public func moving(_ object: SceneObject, to: GridPosition) -> Scene {
        var moved = object
        moved.position = to
        return replacing(at: object.position, with: nil).replacing(at: to, with: moved)
    }

    public func with(background b: Background) -> Scene { Scene(background: b, objects: objects) }

    // MARK: The canonical statement

    /// The canonical statement of the scene, the last sentence of every reasoning trace:
    ///
    ///     statement := "final scene:" items ";" "background" BACKGROUND "."
    ///     items     := "nothing" | item ("," item)*
    ///     item      := ("a" | "an") COLOR SIZE SHAPE "at" POSITION
    ///
    /// ("an" before a colour starting with a vowel, i.e. "an orange"; the parser accepts either article)
    /// with the items in reading order of their cells (top left first), single spaces, and no space before
    /// punctuation, e.g. `final scene: a red small circle at top left, a blue large square at center;
    /// background day.` `Scene(statement:)` reads it back exactly.
    public var statement: String { "final scene: \(body)." }

    /// The statement without its "final scene:" prefix and final period (the JSONL `target_scene` text form).
    public var body: String {
        let items = objects.isEmpty ? "nothing" : objects.map(\.statement).joined(separator: ", ")
        return "\(items); background \(background.rawValue)"
    }

    /// Parses a canonical statement (`statement`) or its body (`body`). Words may be separated by any
    /// whitespace and may differ in case; anything else that deviates from the grammar is an error.
    public init(statement text: String) throws {
        var t = WordTokens(TextTokenizer.split(text.lowercased()))
        if t.peek == "final" {
            try t.expect("final")
            try t.expect("scene")
            try t.expect(":")
        }
        var objects: [SceneObject] = []
        if t.peek == "nothing" {
            t.advance()
        } else {
            while true {
                if t.peek == "an" { t.advance() } else { try t.expect("a") }
                let color = try t.word(WorldColor.self, "colour")
                let size = try t.word(WorldSize.self, "size")
                let shape = try t.word(WorldShape.self, "shape")
                try t.expect("at")
                let position = try t.position()
                if objects.contains(where: { $0.position == position }) {
                    throw SceneStatementError(reason: "two objects at \(position.name)", word: t.index)
                }
                objects.append(SceneObject(color: color, shape: shape, size: size, position: position))
                if t.peek == "," { t.advance() } else { break }
            }
        }
        try t.expect(";")
        try t.expect("background")
        let background = try t.word(Background.self, "background")
        if t.peek == "." { t.advance() }
        guard t.atEnd else { throw SceneStatementError(reason: "unexpected \"\(t.peek ?? "")\" after the statement", word: t.index) }
        self.init(background: background, objects: objects)
    }
}

/// A canonical statement did not parse; `word` is the 0-based index of the offending token.
public struct SceneStatementError: Error, Equatable, CustomStringConvertible {
    public let reason: String
    public let word: Int
    public var description: String { "scene statement, word \(word + 1): \(reason)" }
}

/// A cursor over word tokens for the statement parser.
struct WordTokens {
    let words: [String]
    var index = 0
    init(_ words: [String]) { self.words = words }

    var peek: String? { index < words.count ? words[index] : nil }
    var atEnd: Bool { index >= words.count }
    mutating func advance() { index += 1 }

    mutating func expect(_ w: String) throws {
        guard peek == w else {
            throw SceneStatementError(reason: "expected \"\(w)\", found \(peek.map { "\"\($0)\"" } ?? "the end")", word: index)
        }
        index += 1
    }

    mutating func word<T: RawRepresentable & CaseIterable>(_: T.Type, _ what: String) throws -> T where T.RawValue == String {
        guard let w = peek, let v = T(rawValue: w) else {
            throw SceneStatementError(reason: "expected a \(what), found \(peek.map { "\"\($0)\"" } ?? "the end")", word: index)
        }
        index += 1
        return v
    }

    /// The longest position name at the cursor ("center" or two words).
    mutating func position() throws -> GridPosition {
        if index + 1 < words.count, let p = GridPosition(name: words[index] + " " + words[index + 1]) {
            index += 2
            return p
        }
        if let w = peek, let p = GridPosition(name: w) {
            index += 1
            return p
        }
        throw SceneStatementError(reason: "expected a position, found \(peek.map { "\"\($0)\"" } ?? "the end")", word: index)
    }
}
