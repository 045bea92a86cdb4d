// Token sequences of docs/design.md §3.1 for editing and generation samples, and their unconditional variants:
//   input : <|task|> <|soi|> [input image codes] <|eoi|> <|bos|> [instruction] <|eos|>
//   output: <|soi|> [output image codes] <|eoi|> <|bos|> [reasoning text] <|eos|> <filler>…
// Every sequence has the same length T: the input is left-padded with <|pad|> (masked out of attention) to
// the longest possible input, so the output regions sit at the same positions in every sequence.
import Foundation
import ParaRLRunKit
import ParaRLWorld

/// A sample in token space: text ids of the text tokenizer and image codes of the image tokenizer.
public struct PolicySample: Sendable, Equatable {
    public var id: String
    public var kind: TaskKind
    public var instruction: [Int]
    /// Codes of the input image (editing tasks), nil for generation.
    public var inputImage: [Int]?
    public var reasoning: [Int]
    public var outputImage: [Int]

    public init(id: String, kind: TaskKind, instruction: [Int], inputImage: [Int]?, reasoning: [Int], outputImage: [Int]) {
        self.id = id; self.kind = kind; self.instruction = instruction; self.inputImage = inputImage
        self.reasoning = reasoning; self.outputImage = outputImage
    }
}

/// How the output text region is filled after the reasoning's `<|eos|>`.
public enum TextFiller: String, Codable, Sendable {
    /// LLaDA's SFT: every position after the answer is `<|eos|>` (and is trained on).
    case eos
    /// `<|pad|>` after the one `<|eos|>`, as drawn in docs/design.md §3.1.
    case pad
}

/// Sizes of the fixed regions.
public struct SequenceLayout: Sendable, Equatable {
    /// Instruction tokens kept (longer instructions are cut; `PolicySequence.truncated` says so).
    public var instructionLength: Int
    /// L_text: output text positions, including the reasoning's closing `<|eos|>` and the filler.
    public var textLength: Int
    /// N: codes per image.
    public var imageCodes: Int
    public var filler: TextFiller

    public init(instructionLength: Int, textLength: Int, imageCodes: Int, filler: TextFiller = .eos) {
        self.instructionLength = instructionLength; self.textLength = textLength
        self.imageCodes = imageCodes; self.filler = filler
    }

    /// Longest input: task, soi, N codes, eoi, bos, instruction, eos.
    public var inputLength: Int { 1 + imageCodes + 2 + 1 + instructionLength + 1 }
    public var outputLength: Int { imageCodes + 2 + 1 + textLength }
    /// T, the length of every sequence.
    public var length: Int { inputLength + outputLength }
    /// Positions of the output image codes.
    public var imageRegion: Range<Int> { (inputLength + 1)..<(inputLength + 1 + imageCodes) }
    /// Positions of the output text region (reasoning, `<|eos|>`, filler).
    public var textRegion: Range<Int> { (inputLength + imageCodes + 3)..<length }
    /// The noised positions: image region then text region.
    public var outputPositions: [Int] { Array(imageRegion) + Array(textRegion) }
}

/// One sequence: tokens, attention key mask (0 = left padding), and whether something was cut.
public struct PolicySequence: Sendable, Equatable {
    public var tokens: [Int32]
    public var keyMask: [UInt8]
    public var truncated: Bool
}

public struct SequenceBuilder: Sendable {
    public let layout: SequenceLayout
    public let vocabulary: UnifiedVocabulary

    public init(layout: SequenceLayout, vocabulary: UnifiedVocabulary) throws {
        guard layout.instructionLength >= 1, layout.textLength >= 1, layout.imageCodes >= 1 else {
            throw ParaRLError.invalidInput("instruction_length, text_length and image codes must be at least 1")
        }
        self.layout = layout
        self.vocabulary = vocabulary
    }

    /// The sequence of `sample`; `dropInstruction` replaces the instruction by `<|uncond|>` and `dropInputImage`
    /// removes the input image (with its `<|soi|>`/`<|eoi|>`), the unconditional variants for guidance.
    public func build(_ sample: PolicySample, dropInstruction: Bool = false, dropInputImage: Bool = false) throws -> PolicySequence {
        let s = vocabulary.special, n = layout.imageCodes
        guard sample.outputImage.count == n else {
            throw ParaRLError.invalidInput("sample \(sample.id): output image has \(sample.outputImage.count) codes, the layout \(n)")
        }
        if let input = sample.inputImage, input.count != n {
            throw ParaRLError.invalidInput("sample \(sample.id): input image has \(input.count) codes, the layout \(n)")
        }
        func text(_ ids: [Int]) throws -> [Int] {
            if let bad = ids.first(where: { $0 < 0 || $0 >= vocabulary.textCount }) {
                throw ParaRLError.invalidInput("sample \(sample.id): text id \(bad) outside 0..<\(vocabulary.textCount)")
            }
            return ids
        }
        func codes(_ c: [Int]) throws -> [Int] {
            if let bad = c.first(where: { $0 < 0 || $0 >= vocabulary.codebookSize }) {
                throw ParaRLError.invalidInput("sample \(sample.id): image code \(bad) outside 0..<\(vocabulary.codebookSize)")
            }
            return c.map(vocabulary.imageID(code:))
        }
        var truncated = false
        var input = [sample.kind == .edit ? s.thinkEdit : s.thinkGen]
        if let image = sample.inputImage, !dropInputImage { input += [s.soi] + (try codes(image)) + [s.eoi] }
        var instruction = dropInstruction ? [s.uncond] : try text(sample.instruction)
        if instruction.count > layout.instructionLength {
            instruction = Array(instruction.prefix(layout.instructionLength))
            truncated = true
        }
        input += [s.bos] + instruction + [s.eos]
        var reasoning = try text(sample.reasoning)
        if reasoning.count > layout.textLength - 1 {
            reasoning = Array(reasoning.prefix(layout.textLength - 1))
            truncated = true
        }
        let filler = layout.filler == .eos ? s.eos : s.pad
        let textRegion = reasoning + [s.eos] + Array(repeating: filler, count: layout.textLength - 1 - reasoning.count)
        let output = [s.soi] + (try codes(sample.outputImage)) + [s.eoi, s.bos] + textRegion
        let padding = layout.inputLength - input.count
        let tokens = Array(repeating: s.pad, count: padding) + input + output
        let keyMask = Array(repeating: UInt8(0), count: padding) + Array(repeating: UInt8(1), count: input.count + output.count)
        return PolicySequence(tokens: tokens.map { Int32($0) }, keyMask: keyMask, truncated: truncated)
    }
}
