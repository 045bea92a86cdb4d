// The sequence layout of docs/design.md §3.1: fixed length, fixed output regions, LLaDA-style filler, truncation,
// and the unconditional variants used for guidance.
import Foundation
import Testing
import ParaRLWorld
import ParaRLRunKit
@testable import ParaRLPolicy

@Suite("Policy sequences")
struct SequenceBuilderTests {
    static let v = UnifiedVocabulary(textCount: 11, codebookSize: 8)
    static let layout = SequenceLayout(instructionLength: 3, textLength: 4, imageCodes: 4)
    static let edit = PolicySample(id: "e", kind: .edit, instruction: [3, 5, 7], inputImage: [0, 1, 2, 3],
                                   reasoning: [4, 6], outputImage: [4, 5, 6, 7])

    @Test("unconditional variants: <|uncond|> instruction, dropped input image; output regions unchanged")
    func unconditional() throws {
        let b = try SequenceBuilder(layout: Self.layout, vocabulary: Self.v)
        let s = Self.v.special
        let full = try b.build(Self.edit)
        let noText = try b.build(Self.edit, dropInstruction: true)
        let noImage = try b.build(Self.edit, dropInputImage: true)
        let neither = try b.build(Self.edit, dropInstruction: true, dropInputImage: true)
        for seq in [full, noText, noImage, neither] {
            #expect(seq.tokens.count == Self.layout.length)
            #expect(Array(seq.tokens[Self.layout.inputLength...]) == Array(full.tokens[Self.layout.inputLength...]))
        }
        let inputEnd = Self.layout.inputLength
        #expect(Array(noText.tokens[(inputEnd - 3)..<inputEnd]).map(Int.init) == [s.bos, s.uncond, s.eos])
        #expect(!noImage.tokens.contains(Int32(Self.v.imageID(code: 0))))
        #expect(noImage.keyMask.filter { $0 == 0 }.count == 6)   // soi, 4 codes, eoi removed
        #expect(neither.tokens[neither.keyMask.firstIndex(of: 1) ?? 0] == Int32(s.thinkEdit))
        // Left padding is <|pad|> and never attended to.
        for (tok, m) in zip(neither.tokens, neither.keyMask) where m == 0 { #expect(tok == Int32(s.pad)) }
    }

    @Test("text filler: eos as LLaDA, or one eos then pad; long texts are cut and flagged")
    func fillerAndTruncation() throws {
        let s = Self.v.special
        var layout = Self.layout
        layout.filler = .pad
        let b = try SequenceBuilder(layout: layout, vocabulary: Self.v)
        let seq = try b.build(Self.edit)
        #expect(Array(seq.tokens[layout.textRegion]).map(Int.init) == [4, 6, s.eos, s.pad])
        var long = Self.edit
        long.reasoning = [1, 2, 3, 4, 5, 6]
        long.instruction = [1, 2, 3, 4]
        let cut = try b.build(long)
        #expect(cut.truncated)
        #expect(Array(cut.tokens[layout.textRegion]).map(Int.init) == [1, 2, 3, s.eos])
        #expect(throws: ParaRLError.self) {
            var bad = Self.edit
            bad.reasoning = [11]
            _ = try b.build(bad)
        }
    }
}
