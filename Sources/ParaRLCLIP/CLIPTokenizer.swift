// The OpenAI CLIP byte-level BPE tokenizer, as open_clip 3.3 `SimpleTokenizer` (clean "lower"): text cleaning,
// the split regex `<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`,
// bytes_to_unicode, `</w>`, the 48,894 merges of bpe_simple_vocab_16e6.txt.gz, 49,408 ids (SOT 49406, EOT 49407),
// truncation keeping EOT last and zero padding.
import Foundation

/// The CLIP BPE tokenizer.
public final class CLIPTokenizer: @unchecked Sendable {
    public static let vocabularyFileName = "bpe_simple_vocab_16e6.txt.gz"
    public static let mergeCount = 49152 - 256 - 2
    public let startOfText: Int32
    public let endOfText: Int32
    public var vocabularySize: Int { encoder.count }

    private let encoder: [String: Int32]
    /// Merge rank keyed by "first second".
    private let ranks: [String: Int]
    private let byteEncoder: [String]
    private var cache: [String: [Int32]] = [:]
    private let lock = NSLock()

    /// Reads the gzip-compressed merges file.
    public convenience init(vocabularyURL: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: vocabularyURL) } catch {
            throw CLIPError.vocabulary(path: vocabularyURL.path, reason: "cannot read: \(error.localizedDescription)")
        }
        let text = String(decoding: try Gzip.inflate(data, path: vocabularyURL.path), as: UTF8.self)
        try self.init(mergesText: text, path: vocabularyURL.path)
    }

    /// Builds the tokenizer from the merges file's text (first line a header, then "a b" per line).
    public init(mergesText: String, path: String) throws {
        let lines = mergesText.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > CLIPTokenizer.mergeCount else {
            throw CLIPError.vocabulary(path: path, reason: "has \(lines.count) lines, expected at least \(CLIPTokenizer.mergeCount + 1)")
        }
        let (table, order) = CLIPTokenizer.bytesToUnicode()
        byteEncoder = table.map { String($0) }
        let symbols = order.map { String(table[$0]) }  // the dict's insertion order: printable bytes first
        var vocab = symbols + symbols.map { $0 + "</w>" }
        var ranks: [String: Int] = [:]
        ranks.reserveCapacity(CLIPTokenizer.mergeCount)
        for (rank, line) in lines[1...CLIPTokenizer.mergeCount].enumerated() {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else {
                throw CLIPError.vocabulary(path: path, reason: "line \(rank + 2) is not a merge of two symbols: \"\(line)\"")
            }
            ranks["\(parts[0]) \(parts[1])"] = rank
            vocab.append(String(parts[0]) + String(parts[1]))
        }
        vocab += ["<start_of_text>", "<end_of_text>"]
        var encoder: [String: Int32] = [:]
        for (i, v) in vocab.enumerated() { encoder[v] = Int32(i) }
        self.encoder = encoder
        self.ranks = ranks
        startOfText = Int32(vocab.count - 2)
        endOfText = Int32(vocab.count - 1)
    }

    /// The vocabulary file: `explicit`, else `PARARL_CLIP_VOCAB`, else `<repo>/.cache/clip/…` (repo = `repoRoot`).
    public static func locateVocabulary(explicit: String?, repoRoot: URL?) throws -> URL {
        if let explicit { return URL(fileURLWithPath: explicit) }
        if let env = ProcessInfo.processInfo.environment["PARARL_CLIP_VOCAB"], !env.isEmpty { return URL(fileURLWithPath: env) }
        let root = repoRoot ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let url = root.appendingPathComponent(".cache/clip").appendingPathComponent(vocabularyFileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CLIPError.vocabulary(path: url.path, reason: "not found; run tools/setup.sh, set PARARL_CLIP_VOCAB or pass --vocab")
        }
        return url
    }

    /// GPT-2/CLIP `bytes_to_unicode`: printable bytes map to themselves, the others to U+0100 onwards.
    /// Returns the symbol of each byte and the bytes in the order the Python dict lists them.
    static func bytesToUnicode() -> (table: [Character], order: [Int]) {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var codes = printable
        var n = 0
        for b in 0..<256 where !printable.contains(b) {
            printable.append(b)
            codes.append(256 + n)
            n += 1
        }
        var table = [Character](repeating: " ", count: 256)
        for (b, c) in zip(printable, codes) { table[b] = Character(Unicode.Scalar(UInt32(c)).map { $0 } ?? " ") }
        return (table, printable)
    }

    /// The BPE ids of `text` without SOT/EOT.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        for piece in CLIPTextCleaning.split(CLIPTextCleaning.clean(text)) {
            if piece == "<start_of_text>" { ids.append(startOfText); continue }
            if piece == "<end_of_text>" { ids.append(endOfText); continue }
            ids += bpe(piece.utf8.map { byteEncoder[Int($0)] }.joined())
        }
        return ids
    }

    /// `[SOT] + encode(text) + [EOT]`, truncated to `contextLength` with EOT kept last, zero-padded.
    public func tokenize(_ text: String, contextLength: Int) -> [Int32] {
        var ids = [startOfText] + encode(text) + [endOfText]
        if ids.count > contextLength {
            ids = Array(ids.prefix(contextLength))
            if contextLength > 0 { ids[contextLength - 1] = endOfText }
        }
        return ids + [Int32](repeating: 0, count: contextLength - ids.count)
    }

    /// Merges the symbols of one byte-encoded word by rank, lowest first (the last symbol carries `</w>`).
    private func bpe(_ token: String) -> [Int32] {
        lock.lock()
        if let hit = cache[token] { lock.unlock(); return hit }
        lock.unlock()
        var word = token.map { String($0) }
        guard let last = word.popLast() else { return [] }
        word.append(last + "</w>")
        while word.count > 1 {
            var best = Int.max, bestIndex = -1
            for i in 0..<(word.count - 1) {
                if let r = ranks[word[i] + " " + word[i + 1]], r < best { best = r; bestIndex = i }
            }
            guard bestIndex >= 0 else { break }
            let first = word[bestIndex], second = word[bestIndex + 1]
            var merged: [String] = []
            merged.reserveCapacity(word.count)
            var i = 0
            while i < word.count {
                if i < word.count - 1 && word[i] == first && word[i + 1] == second {
                    merged.append(first + second)
                    i += 2
                } else {
                    merged.append(word[i])
                    i += 1
                }
            }
            word = merged
        }
        let ids = word.map { encoder[$0] ?? 0 }
        lock.lock()
        cache[token] = ids
        lock.unlock()
        return ids
    }
}
