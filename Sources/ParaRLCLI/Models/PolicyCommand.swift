// `pararl policy logits`: the logits of a policy checkpoint at chosen positions, for checking a converted
// MMaDA/LLaDA checkpoint against PyTorch.
import ArgumentParser
import Foundation
import ParaRLMedia
import ParaRLCore
import ParaRLPolicy
import ParaRLSampling

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Inspect a policy checkpoint.",
        subcommands: [PolicyLogitsCommand.self, PolicyExportCommand.self, PolicyBenchCommand.self])
}

/// The weight dtype named by an `--dtype` option (f32, bf16, f16; any case), nil for anything else.
func weightDType(_ name: String) -> SafetensorsDType? {
    switch name.lowercased() {
    case "f32": return .f32
    case "bf16": return .bf16
    case "f16": return .f16
    default: return nil
    }
}

struct PolicyExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a self-contained policy folder (weights, layout, tokenizers) from a checkpoint, e.g. in BF16.",
        discussion: """
            The folder holds config.json, model.safetensors (--dtype f32, bf16 or f16), tokenizer/vq.safetensors,
            tokenizer/text_vocabulary.json and sequence_layout.json (tokenizer paths relative to the folder), so it loads with --checkpoint wherever it is copied. No optimiser or trainer state is copied.
            Example:
              pararl policy export --checkpoint runs/sft-world-policy/checkpoints/step-00006000 --out models/world-policy
            """)

    @Option(help: "Checkpoint folder (a run's checkpoints/step-N or another exported folder).") var checkpoint: String
    @Option(help: "Output folder (must not exist).") var out: String
    @Option(help: "Weight dtype: f32, bf16 or f16.") var dtype: String = "bf16"

    func validate() throws {
        guard weightDType(dtype) != nil else { throw ValidationError("--dtype must be f32, bf16 or f16, got \(dtype)") }
    }

    func run() throws {
        let source = URL(fileURLWithPath: checkpoint)
        let bundle = try PolicyBundle.load(checkpoint: source)
        let type = weightDType(dtype) ?? .bf16
        try bundle.export(to: URL(fileURLWithPath: out), dtype: type)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: URL(fileURLWithPath: out).appendingPathComponent(Policy.weightsFileName).path)[.size] as? Int) ?? 0
        print("wrote \(out): \(bundle.policy.config.transformer.parameterCount) parameters in \(type.rawValue) (\(bytes) bytes of weights)")
    }
}

struct PolicyLogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits",
        abstract: "Print the logits of a policy checkpoint at chosen positions of one token sequence.",
        discussion: """
            Loads DIR (config.json with LLaDA's fields, model.safetensors or shards with
            model.safetensors.index.json; F32, BF16 or F16), runs one bidirectional forward pass over --tokens
            and prints the output head's logits at --positions (default: every position) over the whole
            vocabulary (vocab_size columns, ids in order). With --restrict, each row covers only its
            position's modality as in training: text ids + <|eos|>/<|pad|> if the position holds a text id
            or a special token, the image codes if it holds an image code (needs the "pararl" section).
            Examples:
              pararl policy logits --checkpoint runs/sft/checkpoints/step-00002000 --tokens 1,5,9 --json
              pararl policy logits --checkpoint mmada-converted --tokens 12,7,126336,3 --positions 2
            """)

    @Option(help: "Checkpoint folder.") var checkpoint: String
    @Option(help: "Comma-separated token ids (one sequence).") var tokens: String
    @Option(help: "Comma-separated positions (0-based; default: all).") var positions: String?
    @Flag(help: "Restrict each row to its position's modality (text or image).") var restrict = false
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var compute: ComputeOptions

    static func ints(_ s: String, _ name: String) throws -> [Int] {
        try s.split(separator: ",", omittingEmptySubsequences: false).map {
            guard let v = Int($0.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--\(name): \"\($0)\" is not an integer (give comma-separated integers, e.g. 1,5,9)")
            }
            return v
        }
    }

    struct Output: Codable {
        var positions: [Int]
        var modalities: [String]?
        var logits: [[Float]]
    }

    func run() throws {
        compute.apply()
        let policy = try Policy.load(directory: URL(fileURLWithPath: checkpoint))
        let ids = try Self.ints(tokens, "tokens")
        guard !ids.isEmpty else { throw ValidationError("--tokens is empty") }
        let vocabularySize = policy.config.transformer.vocabSize
        if let bad = ids.first(where: { !(0..<vocabularySize).contains($0) }) {
            throw ValidationError("--tokens: id \(bad) is outside the vocabulary 0…\(vocabularySize - 1)")
        }
        guard ids.count <= policy.config.maxSequenceLength else {
            throw ValidationError("--tokens: \(ids.count) tokens exceed the model's max_sequence_length \(policy.config.maxSequenceLength)")
        }
        let rows = try positions.map { try Self.ints($0, "positions") } ?? Array(ids.indices)
        if let bad = rows.first(where: { !ids.indices.contains($0) }) {
            throw ValidationError("--positions: \(bad) is outside the sequence 0…\(ids.count - 1)")
        }
        var modalities: [Modality]?
        if restrict {
            let v = try policy.vocabulary()
            modalities = rows.map { p in
                guard p >= 0 && p < ids.count else { return .text }
                return v.column(of: ids[p], in: .image) != nil ? .image : .text
            }
        }
        let logits = try policy.logits(tokens: ids.map { Int32($0) }, batch: 1, length: ids.count, positions: rows,
                                       modalities: modalities)
        if json {
            let out = Output(positions: rows, modalities: modalities?.map(\.rawValue), logits: logits)
            print(String(decoding: try JSONText.outputEncoder().encode(out), as: UTF8.self))
        } else {
            for (i, p) in rows.enumerated() {
                let row = logits[i]
                let top = row.indices.max { row[$0] < row[$1] } ?? 0
                let m = modalities.map { " (\($0[i].rawValue))" } ?? ""
                print("position \(p)\(m): \(row.count) logits, argmax column \(top) = \(row[top])")
                print("  " + row.map { String(format: "%.6g", $0) }.joined(separator: " "))
            }
        }
    }
}
