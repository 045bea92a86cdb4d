// The phrasing machinery of the world's text: templates with named slots, slot classes (the phrases a slot
// can hold), rendering with values, and matching a sentence against the grammar for the judge.
import ParaRLCore
import ParaRLMedia

/// The phrases a template slot can hold.
indirect enum SlotClass: Sendable {
    /// One of these phrases (each a token list).
    case phrases([[String]])
    /// Classes one after the other ("red small circle" = colour, size, shape).
    case sequence([SlotClass])
    /// One or more items: "x", "x and y", "x, y and z".
    case list(SlotClass)

    static func words(_ list: [String]) -> SlotClass { .phrases(list.map { normalized(TextTokenizer.split($0)) }) }

    /// Every token the class can produce.
    var vocabulary: Set<String> {
        switch self {
        case .phrases(let p): return Set(p.joined())
        case .sequence(let s): return s.reduce(into: Set<String>()) { $0.formUnion($1.vocabulary) }
        case .list(let c): return c.vocabulary.union([",", "and"])
        }
    }

    /// The token indices where a match of this class starting at `start` can end.
    func ends(_ tokens: [String], from start: Int) -> Set<Int> {
        switch self {
        case .phrases(let list):
            var out = Set<Int>()
            for p in list where start + p.count <= tokens.count && Array(tokens[start..<(start + p.count)]) == p {
                out.insert(start + p.count)
            }
            return out
        case .sequence(let parts):
            var at: Set<Int> = [start]
            for part in parts {
                at = at.reduce(into: Set<Int>()) { $0.formUnion(part.ends(tokens, from: $1)) }
                if at.isEmpty { break }
            }
            return at
        case .list(let item):
            // item ((", " item)* " and " item)?
            var out = Set<Int>()
            var frontier = item.ends(tokens, from: start)
            out.formUnion(frontier)
            var seen = frontier
            while !frontier.isEmpty {
                var next = Set<Int>()
                for e in frontier where e < tokens.count && (tokens[e] == "," || tokens[e] == "and") {
                    next.formUnion(item.ends(tokens, from: e + 1))
                }
                next.subtract(seen)
                seen.formUnion(next)
                out.formUnion(next)
                frontier = next
            }
            return out
        }
    }
}

/// A sentence pattern: literal tokens and `{slot}` holes. A slot's class is its name without trailing
/// digits (`{obj2}` is an `obj`); see `WorldGrammar.slotClasses`.
struct Template: Sendable, CustomStringConvertible {
    enum Piece: Sendable {
        case word(String)
        case slot(name: String, kind: String)
    }

    let text: String
    let pieces: [Piece]
    var description: String { text }

    init(_ text: String) {
        self.text = text
        var pieces: [Piece] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            pieces += normalized(TextTokenizer.split(String(rest[..<open]))).map(Piece.word)
            guard let close = rest[open...].firstIndex(of: "}") else {
                preconditionFailure("unclosed slot in template \"\(text)\"")
            }
            let name = String(rest[rest.index(after: open)..<close])
            pieces.append(.slot(name: name, kind: String(name.reversed().drop { $0.isNumber }.reversed())))
            rest = rest[rest.index(after: close)...]
        }
        pieces += normalized(TextTokenizer.split(String(rest))).map(Piece.word)
        self.pieces = pieces
    }

    /// The sentence with every slot filled from `values` (a missing value is a programming error).
    func render(_ values: [String: String]) -> String {
        var tokens: [String] = []
        for p in pieces {
            switch p {
            case .word(let w): tokens.append(w)
            case .slot(let name, _):
                guard let v = values[name] else { preconditionFailure("no value for {\(name)} in \"\(text)\"") }
                tokens += TextTokenizer.split(v)
            }
        }
        return TextTokenizer.join(withArticles(tokens))
    }

    /// Whether `tokens` (normalised by `normalized`) is exactly a sentence of this template with slots filled from their classes.
    func matches(_ tokens: [String], classes: [String: SlotClass]) -> Bool {
        var at: Set<Int> = [0]
        for p in pieces {
            var next = Set<Int>()
            for i in at {
                switch p {
                case .word(let w): if i < tokens.count && tokens[i] == w { next.insert(i + 1) }
                case .slot(_, let kind): if let c = classes[kind] { next.formUnion(c.ends(tokens, from: i)) }
                }
            }
            at = next
            if at.isEmpty { return false }
        }
        return at.contains(tokens.count)
    }
}

/// Tokens with "an" written as "a": templates and sentences are compared in this form.
func normalized(_ tokens: [String]) -> [String] { tokens.map { $0 == "an" ? "a" : $0 } }

/// Tokens with the article "a" or "an" chosen by the next word's sound ("an orange", "an hour", "a red").
func withArticles(_ tokens: [String]) -> [String] {
    var out = tokens
    for i in out.indices where (out[i] == "a" || out[i] == "an") && i + 1 < out.count {
        let next = out[i + 1]
        out[i] = (next.first.map { "aeiou".contains($0) } ?? false) || next == "hour" ? "an" : "a"
    }
    return out
}

/// "x", "x and y", "x, y and z": the list form the grammar's `list` class accepts.
func listPhrase(_ items: [String]) -> String {
    switch items.count {
    case 0: return ""
    case 1: return items[0]
    default: return items.dropLast().joined(separator: ", ") + " and " + (items.last ?? "")
    }
}

/// The number words of the grammar.
let numberWords = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

extension RandomStream {
    /// A uniformly chosen element of a non-empty array.
    mutating func pick<T>(_ items: [T]) -> T {
        precondition(!items.isEmpty, "pick from an empty list")
        return items[int(below: items.count)]
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { uniformDouble() < p }
}
