// The sequence layout a policy was trained with, as a file of its own in every checkpoint (`sequence_layout.json`):
// instruction and text lengths, the text filler, and where the run's image tokenizer and text vocabulary are
// (relative paths are relative to the checkpoint folder). Checkpoints written before this file existed record the
// same keys in their SFT config (`sft_config.yaml`), which is read instead.
import Foundation
import ParaRLRunKit
import Yams

public struct SequenceLayoutFile: Codable, Equatable, Sendable {
    public static let fileName = "sequence_layout.json"
    /// The SFT config older checkpoints carry the layout in.
    public static let legacyFileName = "sft_config.yaml"
    /// A run folder's copy of its tokenizers, and their file names there.
    public static let tokenizerFolder = "tokenizer"
    public static let imageTokenizerFile = "vq.safetensors"
    public static let textVocabularyFile = "text_vocabulary.json"

    public var instructionLength: Int
    public var textLength: Int
    public var textFiller: TextFiller
    /// The patch-VQ file.
    public var imageTokenizer: String
    /// `world` or a text vocabulary JSON.
    public var textVocabulary: String

    enum CodingKeys: String, CodingKey {
        case instructionLength = "instruction_length", textLength = "text_length", textFiller = "text_filler"
        case imageTokenizer = "image_tokenizer", textVocabulary = "text_vocabulary"
    }

    public init(instructionLength: Int, textLength: Int, textFiller: TextFiller, imageTokenizer: String, textVocabulary: String) {
        self.instructionLength = instructionLength; self.textLength = textLength; self.textFiller = textFiller
        self.imageTokenizer = imageTokenizer; self.textVocabulary = textVocabulary
    }

    /// The layout for an image tokenizer of `imageCodes` codes per image.
    public func layout(imageCodes: Int) -> SequenceLayout {
        SequenceLayout(instructionLength: instructionLength, textLength: textLength, imageCodes: imageCodes, filler: textFiller)
    }

    /// The file's contents (sorted keys, so equal layouts write equal bytes).
    public func data() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// The layout of a checkpoint folder: `sequence_layout.json`, else the layout keys of an older `sft_config.yaml`
    /// (with the SFT config's defaults for absent keys).
    public static func read(checkpoint: URL) throws -> SequenceLayoutFile {
        let url = checkpoint.appendingPathComponent(fileName), legacy = checkpoint.appendingPathComponent(legacyFileName)
        if let data = FileManager.default.contents(atPath: url.path) {
            do { return try JSONDecoder().decode(SequenceLayoutFile.self, from: data) } catch {
                throw ParaRLError.invalidConfig(file: url.path, key: "", reason: "not a sequence layout: \(error)")
            }
        }
        guard FileManager.default.fileExists(atPath: legacy.path) else {
            throw ParaRLError.io(path: url.path, reason: "the checkpoint records no sequence layout (nor \(legacyFileName))")
        }
        struct Legacy: Decodable {
            var instruction_length: Int?, text_length: Int?, text_filler: TextFiller?
            var image_tokenizer: String?, text_vocabulary: String?
        }
        let text = try StrictYAML.read(legacy)
        let l: Legacy
        do { l = try YAMLDecoder().decode(Legacy.self, from: text) } catch {
            throw ParaRLError.invalidConfig(file: legacy.path, key: "", reason: "not an SFT config: \(error)")
        }
        return SequenceLayoutFile(instructionLength: l.instruction_length ?? 32, textLength: l.text_length ?? 96,
                                  textFiller: l.text_filler ?? .eos, imageTokenizer: l.image_tokenizer ?? imageTokenizerFile,
                                  textVocabulary: l.text_vocabulary ?? "world")
    }
}
