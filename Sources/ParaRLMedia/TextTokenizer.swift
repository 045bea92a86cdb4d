// The policy's text tokenizer: whole lowercase words and single punctuation marks over a word list (the built-in
// world's grammar, or a corpus's words) with an `<unk>` fallback.
import Foundation

/// Word-level tokenizer. Text is lowercased and split into words (letters, digits, apostrophes) and single
/// punctuation marks; whitespace only separates. `decode` joins tokens with single spaces and no space
/// before `. , : ; ! ?`, so `decode(encode(t)) == t` for all text made of its words.
public struct TextTokenizer: Equatable, Sendable {
    public static let unknownToken = "<unk>"
    public static let format = "pararl-text-vocabulary"

    /// Token strings by id; id 0 is `<unk>`.
    public let tokens: [String]
    private let ids: [String: Int]

    public var count: Int { tokens.count }
    public var unknownID: Int { 0 }

    /// A vocabulary of `<unk>` followed by `words` in the given order (duplicates and `<unk>` dropped).
    public init(words: [String]) {
        var seen: Set<String> = [Self.unknownToken]
        var list = [Self.unknownToken]
        for w in words where !seen.contains(w) {
            seen.insert(w)
            list.append(w)
        }
        tokens = list
        var ids: [String: Int] = [:]
        for (i, t) in list.enumerated() { ids[t] = i }
        self.ids = ids
    }

    /// A vocabulary of `base` followed by the other words of a corpus (e.g. a user dataset's instructions and
    /// reasoning) seen at least `minCount` times, in byte order.
    public static func fitted(to texts: [String], base: [String], minCount: Int = 1) -> TextTokenizer {
        var counts: [String: Int] = [:]
        for t in texts { for w in split(t.lowercased()) { counts[w, default: 0] += 1 } }
        let extra = counts.filter { $0.value >= minCount }.map(\.key).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        return TextTokenizer(words: base + extra)
    }

    public func id(of token: String) -> Int { ids[token] ?? unknownID }

    public func encode(_ text: String) -> [Int] { Self.split(text.lowercased()).map(id(of:)) }

    /// Joins the tokens of `ids`; out-of-range ids decode as `<unk>`.
    public func decode(_ ids: [Int]) -> String {
        Self.join(ids.map { $0 >= 0 && $0 < tokens.count ? tokens[$0] : Self.unknownToken })
    }

    // MARK: Splitting

    static let tight: Set<String> = [".", ",", ":", ";", "!", "?"]

    /// Words and punctuation marks of `text` (not lowercased).
    public static func split(_ text: String) -> [String] {
        var out: [String] = [], word = ""
        for ch in text {
            if ch.isLetter || ch.isNumber || ch == "'" || ch == "_" {
                word.append(ch)
                continue
            }
            if !word.isEmpty { out.append(word); word = "" }
            if ch.isWhitespace { continue }
            out.append(String(ch))  // punctuation and any other symbol is a token of its own
        }
        if !word.isEmpty { out.append(word) }
        return out
    }

    /// The inverse of `split` on normally spaced text.
    public static func join(_ words: [String]) -> String {
        var s = ""
        for w in words {
            if !s.isEmpty && !tight.contains(w) { s += " " }
            s += w
        }
        return s
    }

    // MARK: Vocabulary file

    /// The vocabulary as a JSON file: `{"format": "pararl-text-vocabulary", "version": 1, "unknown": "<unk>",
    /// "tokens": [...]}` with one token per line, ids in order.
    public func fileContents() -> String {
        var s = "{\n  \"format\": \(JSONText.quote(Self.format)),\n  \"version\": 1,\n"
        s += "  \"unknown\": \(JSONText.quote(Self.unknownToken)),\n  \"tokens\": [\n"
        s += tokens.map { "    " + JSONText.quote($0) }.joined(separator: ",\n")
        s += "\n  ]\n}\n"
        return s
    }

    public func save(to url: URL) throws {
        do {
            try Data(fileContents().utf8).write(to: url, options: .atomic)
        } catch {
            throw TextTokenizerError.cannotWrite(path: url.path, reason: error.localizedDescription)
        }
    }

    /// Loads a vocabulary file written by `save`.
    public static func load(from url: URL) throws -> TextTokenizer {
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TextTokenizerError.invalidFile(path: path, reason: "cannot read the file")
        }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TextTokenizerError.invalidFile(path: path, reason: "not a JSON object")
        }
        guard root["format"] as? String == format else {
            throw TextTokenizerError.invalidFile(path: path, reason: "field \"format\" must be \"\(format)\"")
        }
        guard let list = root["tokens"] as? [String], list.first == unknownToken else {
            throw TextTokenizerError.invalidFile(path: path, reason: "field \"tokens\" must be a list of strings starting with \"\(unknownToken)\"")
        }
        guard Set(list).count == list.count else {
            throw TextTokenizerError.invalidFile(path: path, reason: "field \"tokens\" has duplicates")
        }
        return TextTokenizer(words: Array(list.dropFirst()))
    }

    public static func == (a: Self, b: Self) -> Bool { a.tokens == b.tokens }
}

public enum TextTokenizerError: Error, Equatable, CustomStringConvertible {
    case invalidFile(path: String, reason: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidFile(path, reason): return "\(path): invalid vocabulary file: \(reason)"
        case let .cannotWrite(path, reason): return "\(path): cannot write the vocabulary: \(reason)"
        }
    }
}
