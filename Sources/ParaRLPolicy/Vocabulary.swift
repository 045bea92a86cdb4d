// The unified vocabulary of docs/design.md §3.1: text tokens [0, Vt), image codes [offset, offset+K), then the
// special tokens; and the vocabulary slices that restrict the head to a position's modality.
import Foundation
import ParaRLCore
import ParaRLRunKit

/// Ids of the special tokens (docs/design.md §3.1), spelled in config.json as `"<|soi|>"` etc.
public struct SpecialTokens: Codable, Sendable, Equatable {
    public var thinkGen: Int
    public var thinkEdit: Int
    public var soi: Int
    public var eoi: Int
    public var bos: Int
    public var eos: Int
    public var pad: Int
    public var mask: Int
    public var uncond: Int

    enum CodingKeys: String, CodingKey, CaseIterable {
        case thinkGen = "<|thinkgen|>", thinkEdit = "<|thinkedit|>", soi = "<|soi|>", eoi = "<|eoi|>", bos = "<|bos|>"
        case eos = "<|eos|>", pad = "<|pad|>", mask = "[MASK]", uncond = "<|uncond|>"
    }

    /// The nine tokens at consecutive ids from `first`, in the order of docs/design.md §3.1.
    public init(first: Int) {
        thinkGen = first; thinkEdit = first + 1; soi = first + 2; eoi = first + 3; bos = first + 4
        eos = first + 5; pad = first + 6; mask = first + 7; uncond = first + 8
    }

    public var all: [(name: String, id: Int)] {
        [("<|thinkgen|>", thinkGen), ("<|thinkedit|>", thinkEdit), ("<|soi|>", soi), ("<|eoi|>", eoi), ("<|bos|>", bos),
         ("<|eos|>", eos), ("<|pad|>", pad), ("[MASK]", mask), ("<|uncond|>", uncond)]
    }
    public static let count = 9
}

/// Which part of the vocabulary a position predicts.
public enum Modality: String, Codable, Sendable, CaseIterable {
    case text, image
}

/// Text ids, image codes and special tokens in one id space.
public struct UnifiedVocabulary: Codable, Sendable, Equatable {
    /// Vt: text tokens are ids `0..<textCount` (the text tokenizer's ids unchanged).
    public var textCount: Int
    /// K: image code `c` is id `codebookOffset + c`.
    public var codebookSize: Int
    public var codebookOffset: Int
    public var special: SpecialTokens

    enum CodingKeys: String, CodingKey, CaseIterable {
        case textCount = "text_vocab_size", codebookSize = "codebook_size", codebookOffset = "codebook_offset"
        case special = "special_tokens"
    }

    /// The default layout: text, then codes right after it, then the nine special tokens.
    public init(textCount: Int, codebookSize: Int) {
        self.textCount = textCount
        self.codebookSize = codebookSize
        codebookOffset = textCount
        special = SpecialTokens(first: textCount + codebookSize)
    }

    public init(textCount: Int, codebookSize: Int, codebookOffset: Int, special: SpecialTokens) {
        self.textCount = textCount; self.codebookSize = codebookSize
        self.codebookOffset = codebookOffset; self.special = special
    }

    /// One more than the largest id in use (LLaDA `vocab_size`).
    public var size: Int { max(textCount, codebookOffset + codebookSize, (special.all.map(\.id).max() ?? 0) + 1) }

    /// Text positions predict text ids, `<|eos|>` and `<|pad|>` (docs/design.md §3.1), in that column order.
    public var textSlice: VocabularySlice {
        VocabularySlice([0..<textCount, special.eos..<(special.eos + 1), special.pad..<(special.pad + 1)])
    }
    /// Image positions predict the K image codes; column = code.
    public var imageSlice: VocabularySlice { VocabularySlice([codebookOffset..<(codebookOffset + codebookSize)]) }
    public func slice(_ m: Modality) -> VocabularySlice { m == .text ? textSlice : imageSlice }

    public func imageID(code: Int) -> Int { codebookOffset + code }

    /// The column of `id` in the slice of modality `m`, or nil when `m` cannot produce it.
    public func column(of id: Int, in m: Modality) -> Int? {
        switch m {
        case .image: return (codebookOffset..<(codebookOffset + codebookSize)).contains(id) ? id - codebookOffset : nil
        case .text:
            if id >= 0 && id < textCount { return id }
            if id == special.eos { return textCount }
            if id == special.pad { return textCount + 1 }
            return nil
        }
    }

    /// Checks that text, codes and specials do not overlap and ids are non-negative.
    public func validate(source: String) throws {
        func fail(_ m: String) -> ParaRLError { .invalidConfig(file: source, key: "pararl", reason: m) }
        guard textCount > 0, codebookSize > 0 else { throw fail("text_vocab_size and codebook_size must be positive") }
        guard codebookOffset >= textCount else {
            throw fail("codebook_offset \(codebookOffset) overlaps the text ids 0..<\(textCount)")
        }
        var used = Set<Int>()
        for (name, id) in special.all {
            guard id >= 0 else { throw fail("special token \(name) has negative id \(id)") }
            guard id >= codebookOffset + codebookSize || id < codebookOffset, id >= textCount else {
                throw fail("special token \(name) id \(id) overlaps the text ids or image codes")
            }
            guard used.insert(id).inserted else { throw fail("special token \(name) reuses id \(id)") }
        }
        guard special.eos != special.pad else { throw fail("<|eos|> and <|pad|> must differ") }
    }
}
