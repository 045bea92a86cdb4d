// Everything needed to sample a trained policy, found from one checkpoint folder: the policy, the sequence layout it
// was trained with (sequence_layout.json), the unified vocabulary, and the text and image tokenizers of the run; plus the
// conversions between world tasks, prompts, rollouts, text and pictures.
import Foundation
import ParaRLCore
import ParaRLMedia
import ParaRLPolicy
import ParaRLRunKit
import ParaRLWorld

public struct PolicyBundle {
    public let policy: Policy
    public let layout: SequenceLayout
    public let vocabulary: UnifiedVocabulary
    public let encoder: SampleEncoder
    public let checkpoint: URL

    public init(policy: Policy, layout: SequenceLayout, vocabulary: UnifiedVocabulary, encoder: SampleEncoder, checkpoint: URL) {
        self.policy = policy; self.layout = layout; self.vocabulary = vocabulary; self.encoder = encoder; self.checkpoint = checkpoint
    }

    /// Loads a checkpoint folder (e.g. runs/sft-tiny/checkpoints/step-00000400 or RUN/checkpoints/step-N): config.json and
    /// model.safetensors, the layout from its sequence_layout.json (older checkpoints: sft_config.yaml; N from the
    /// image tokenizer), and the tokenizers at the paths the layout records or, when those are gone, in the run's
    /// `tokenizer/` folder next to the checkpoint (`CKPT/../tokenizer`, `CKPT/../../tokenizer`).
    public static func load(checkpoint: URL) throws -> PolicyBundle {
        let fm = FileManager.default
        guard fm.fileExists(atPath: checkpoint.appendingPathComponent("config.json").path) else {
            throw SamplingError.missingFile(what: "policy config.json", tried: [checkpoint.appendingPathComponent("config.json").path])
        }
        let recorded: SequenceLayoutFile
        do { recorded = try SequenceLayoutFile.read(checkpoint: checkpoint) } catch ParaRLError.io {
            throw SamplingError.missingFile(what: "sequence layout", tried: [SequenceLayoutFile.fileName, SequenceLayoutFile.legacyFileName]
                                                .map { checkpoint.appendingPathComponent($0).path })
        }
        let policy = try Policy.load(directory: checkpoint)
        let vocabulary = try policy.vocabulary()
        let folders = [checkpoint.deletingLastPathComponent(), checkpoint.deletingLastPathComponent().deletingLastPathComponent()]
            .map { $0.appendingPathComponent(SequenceLayoutFile.tokenizerFolder) }
        func locate(_ recorded: String, file: String, what: String) throws -> URL {
            var tried: [String] = []
            let recordedURL = URL(fileURLWithPath: recorded.hasPrefix("/") ? recorded : checkpoint.appendingPathComponent(recorded).path)
            for url in [recordedURL] + folders.map({ $0.appendingPathComponent(file) }) {
                tried.append(url.path)
                if fm.fileExists(atPath: url.path) { return url }
            }
            throw SamplingError.missingFile(what: what, tried: tried)
        }
        let vq = try PatchVQ.load(from: try locate(recorded.imageTokenizer, file: SequenceLayoutFile.imageTokenizerFile, what: "image tokenizer"))
        let text = recorded.textVocabulary == "world" ? TextTokenizer.world()
            : try TextTokenizer.load(from: try locate(recorded.textVocabulary, file: SequenceLayoutFile.textVocabularyFile, what: "text vocabulary"))
        guard vocabulary.textCount == text.count, vocabulary.codebookSize == vq.codeCount else {
            throw SamplingError.invalidInput("\(checkpoint.path): the policy's vocabulary (\(vocabulary.textCount) text ids, \(vocabulary.codebookSize) codes) "
                                             + "does not match the tokenizers (\(text.count) text ids, \(vq.codeCount) codes)")
        }
        return PolicyBundle(policy: policy, layout: recorded.layout(imageCodes: vq.codesPerImage), vocabulary: vocabulary,
                            encoder: SampleEncoder(text: text, image: vq), checkpoint: checkpoint)
    }

    /// A sampler over this policy, the partial-text placeholder word resolved in the text vocabulary.
    public func sampler(config: SamplerConfig) throws -> ParallelSampler {
        let word = config.partialTextPlaceholder
        let id = encoder.text.id(of: word)
        guard word == TextTokenizer.unknownToken || id != encoder.text.unknownID else {
            throw ParaRLError.invalidConfig(file: "(sampler config)", key: "partial_text_placeholder",
                                            reason: "\"\(word)\" is not in the text vocabulary")
        }
        return try ParallelSampler(policy: policy, layout: layout, config: config, placeholderTextID: id)
    }

    /// The prompt of a world task (its outputs are filled from the target too, for reference).
    public func prompt(_ task: WorldTask) throws -> PolicySample {
        try encoder.sample(task, renderer: SceneRenderer(imageSize: encoder.image.imageWidth))
    }

    /// A prompt from an instruction and an optional input image (an editing task when given).
    public func prompt(instruction: String, image: RGBImage?, id: String = "prompt") throws -> PolicySample {
        PolicySample(id: id, kind: image == nil ? .generate : .edit, instruction: encoder.text.encode(instruction),
                     inputImage: try image.map { try encoder.image.encode($0) }, reasoning: [],
                     outputImage: Array(repeating: 0, count: layout.imageCodes))
    }

    /// The conditional sequence and its unconditional variants (input image dropped; instruction → `<|uncond|>`).
    public func sequences(_ prompt: PolicySample) throws
        -> (conditional: PolicySequence, unconditionalImage: PolicySequence, unconditionalText: PolicySequence) {
        let b = try SequenceBuilder(layout: layout, vocabulary: vocabulary)
        var p = prompt
        p.reasoning = []
        p.outputImage = Array(repeating: 0, count: layout.imageCodes)
        return (try b.build(p), try b.build(p, dropInputImage: true), try b.build(p, dropInstruction: true))
    }

    /// Reasoning text (decoded up to `<|eos|>`) and image of a rollout.
    public func decode(_ rollout: Rollout) throws -> (reasoning: String, image: RGBImage) {
        (encoder.text.decode(rollout.finalTextIDs), try encoder.image.decode(rollout.finalImageCodes))
    }

    /// Text and image of a partial output.
    public func decode(_ partial: PartialOutput) throws -> (text: String, image: RGBImage) {
        (encoder.text.decode(partial.textIDs), try encoder.image.decode(partial.imageCodes))
    }
}

extension PolicyBundle {
    /// Writes a self-contained policy folder at `folder` (which must not exist): config.json, model.safetensors in
    /// `dtype`, tokenizer/vq.safetensors, tokenizer/text_vocabulary.json and sequence_layout.json recording the layout
    /// with tokenizer paths relative to the folder — so the folder loads with `load(checkpoint:)` wherever it is
    /// copied (the shipped models/world-policy). Written into a temporary sibling and renamed into place.
    public func export(to folder: URL, dtype: SafetensorsDType) throws {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: folder.path) else {
            throw SamplingError.invalidInput("\(folder.path) already exists; choose another folder or remove it")
        }
        guard let patchVQ = encoder.image as? PatchVQ else {
            throw SamplingError.invalidInput("only a patch-VQ image tokenizer can be exported with a policy")
        }
        let temporary = folder.deletingLastPathComponent().appendingPathComponent(".\(folder.lastPathComponent).partial-\(getpid())")
        try? fm.removeItem(at: temporary)
        do {
            let tokenizers = temporary.appendingPathComponent(SequenceLayoutFile.tokenizerFolder)
            try fm.createDirectory(at: tokenizers, withIntermediateDirectories: true)
            try policy.save(directory: temporary, dtype: dtype)
            try patchVQ.save(to: tokenizers.appendingPathComponent(SequenceLayoutFile.imageTokenizerFile))
            try encoder.text.save(to: tokenizers.appendingPathComponent(SequenceLayoutFile.textVocabularyFile))
            let recorded = SequenceLayoutFile(instructionLength: layout.instructionLength, textLength: layout.textLength,
                                              textFiller: layout.filler,
                                              imageTokenizer: SequenceLayoutFile.tokenizerFolder + "/" + SequenceLayoutFile.imageTokenizerFile,
                                              textVocabulary: SequenceLayoutFile.tokenizerFolder + "/" + SequenceLayoutFile.textVocabularyFile)
            try recorded.data().write(to: temporary.appendingPathComponent(SequenceLayoutFile.fileName), options: .atomic)
            try fm.moveItem(at: temporary, to: folder)
        } catch {
            try? fm.removeItem(at: temporary)
            throw error
        }
    }
}
