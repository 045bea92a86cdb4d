// `pararl clip tokenize|embed|score|train|export`: the CLIP scorer of docs/design.md §3.9 from the command line.
import ArgumentParser
import Foundation
import ParaRLCLIP
import ParaRLCore
import ParaRLMedia
import ParaRLWorld

struct CLIPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip",
        abstract: "Tokenize, embed and score with a CLIP model; train a CLIP for the built-in world.",
        subcommands: [CLIPTokenizeCommand.self, CLIPEmbedCommand.self, CLIPScoreCommand.self, CLIPTrainCommand.self, CLIPSamplesCommand.self,
                      CLIPExportCommand.self])
}

/// Where the BPE vocabulary comes from.
struct CLIPVocabularyOptions: ParsableArguments {
    @Option(help: "bpe_simple_vocab_16e6.txt.gz (default: PARARL_CLIP_VOCAB, else .cache/clip/ in the current folder).")
    var vocab: String?

    func tokenizer() throws -> CLIPTokenizer {
        try CLIPTokenizer(vocabularyURL: CLIPTokenizer.locateVocabulary(explicit: vocab, repoRoot: nil))
    }
}

/// Prints a JSON value on one line.

struct CLIPTokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the CLIP BPE ids of a text ([SOT] text [EOT], truncated with EOT last, zero-padded).",
        discussion: """
            Example:
              pararl clip tokenize --text "a red square above a blue circle" --context 16 --json
            """)

    @Option(help: "The text.") var text: String
    @Option(help: "Context length (77 for OpenAI CLIP).") var context: Int = 77
    @Flag(help: "Print {\"ids\": [...]} as JSON.") var json = false
    @OptionGroup var vocabulary: CLIPVocabularyOptions

    func validate() throws {
        if !(2...4096).contains(context) { throw ValidationError("--context must be in 2…4096, got \(context)") }
    }

    func run() throws {
        let ids = try vocabulary.tokenizer().tokenize(text, contextLength: context)
        if json { try printJSON(["ids": ids]) } else { print(ids.map(String.init).joined(separator: " ")) }
    }
}

struct CLIPEmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed one text and one image; print the normalised embeddings, logit_scale and the score.",
        discussion: """
            The model folder is in Hugging Face layout (config.json, model.safetensors with HF or OpenAI key names).
            text_embeds and image_embeds are L2-normalised as CLIPModel returns them; score = 100·cosine.
            Example:
              pararl clip embed --model runs/clip-tiny/model --text "a red square" --image scene.png --json
            """)

    @Option(help: "CLIP model folder.") var model: String
    @Option(help: "The text.") var text: String
    @Option(help: "A PNG image.") var image: String
    @Flag(help: "Print the result as JSON.") var json = false
    @OptionGroup var vocabulary: CLIPVocabularyOptions
    @OptionGroup var compute: ComputeOptions

    struct Report: Codable {
        var textEmbeds: [Float], imageEmbeds: [Float], logitScale: Float, score: Float
        enum CodingKeys: String, CodingKey {
            case textEmbeds = "text_embeds", imageEmbeds = "image_embeds", logitScale = "logit_scale", score
        }
    }

    func run() throws {
        compute.apply()
        let scorer = CLIPScorer(model: try CLIPModel.load(directory: URL(fileURLWithPath: model)),
                                tokenizer: try vocabulary.tokenizer())
        let picture = try PNGCodec.read(URL(fileURLWithPath: image))
        let t = try scorer.textEmbeddings([text]), v = try scorer.imageEmbeddings([picture])
        let score = 100 * zip(t, v).reduce(0) { $0 + $1.0 * $1.1 }
        let report = Report(textEmbeds: t, imageEmbeds: v, logitScale: scorer.model.logitScale, score: score)
        if json { try printJSON(report) } else {
            print("score \(score)  logit_scale \(report.logitScale)  dim \(t.count)")
        }
    }
}

struct CLIPScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score (text, image) pairs from a JSONL file: 100·cosine per pair, both towers batched.",
        discussion: """
            Each line of --pairs is {"text": "...", "image": "path.png"}; relative image paths are resolved
            against the file's folder. Prints one {"index", "score"} JSON line per pair, then (on stderr)
            the throughput in pairs/s.
            Example:
              pararl clip score --model runs/clip-tiny/model --pairs pairs.jsonl --batch 64
            """)

    @Option(help: "CLIP model folder.") var model: String
    @Option(help: "JSONL file of {\"text\", \"image\"} pairs.") var pairs: String
    @Option(help: "Pairs per batched forward.") var batch: Int = 64
    @Flag(help: "Print only {\"pairs\", \"seconds\", \"pairs_per_second\", \"mean_score\"} as JSON.") var summary = false
    @OptionGroup var vocabulary: CLIPVocabularyOptions
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
    }

    struct Pair: Decodable { var text: String; var image: String }
    struct Line: Encodable { var index: Int; var score: Float }
    struct Summary: Encodable {
        var pairs: Int, seconds: Double, pairsPerSecond: Double, meanScore: Double
        enum CodingKeys: String, CodingKey {
            case pairs, seconds, pairsPerSecond = "pairs_per_second", meanScore = "mean_score"
        }
    }

    func run() throws {
        compute.apply()
        let scorer = CLIPScorer(model: try CLIPModel.load(directory: URL(fileURLWithPath: model)),
                                tokenizer: try vocabulary.tokenizer())
        let url = URL(fileURLWithPath: pairs), folder = url.deletingLastPathComponent()
        var texts: [String] = [], images: [RGBImage] = []
        let content = try String(contentsOf: url, encoding: .utf8)
        for (n, line) in content.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let pair: Pair
            do { pair = try JSONDecoder().decode(Pair.self, from: Data(line.utf8)) } catch {
                throw ValidationError("\(pairs):\(n + 1): not a {\"text\", \"image\"} object: \(error)")
            }
            let imageURL = pair.image.hasPrefix("/") ? URL(fileURLWithPath: pair.image) : folder.appendingPathComponent(pair.image)
            texts.append(pair.text)
            images.append(try PNGCodec.read(imageURL))
        }
        let start = Date()
        let scores = try scorer.scores(texts: texts, images: images, batchSize: batch)
        let seconds = Date().timeIntervalSince(start)
        let mean = scores.isEmpty ? 0 : scores.reduce(0.0) { $0 + Double($1) } / Double(scores.count)
        let report = Summary(pairs: scores.count, seconds: seconds, pairsPerSecond: Double(scores.count) / max(seconds, 1e-9),
                             meanScore: mean)
        if summary { try printJSON(report); return }
        for (i, s) in scores.enumerated() { try printJSON(Line(index: i, score: s)) }
        FileHandle.standardError.write(Data(String(format: "scored %d pairs in %.3f s (%.1f pairs/s)\n",
                                                   report.pairs, seconds, report.pairsPerSecond).utf8))
    }
}

struct CLIPExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a CLIP model folder in another dtype (e.g. BF16) and evaluate the written copy on the world.",
        discussion: """
            Loads --model (HF layout), writes --out (config.json + model.safetensors in --dtype), loads the written
            folder back and prints its text→image top-1 retrieval and hard-negative win rate on the first --scenes
            evaluation scenes (the numbers `clip train` reports, for the copy that is actually shipped).
            Example:
              pararl clip export --model runs/clip-tiny/model --out models/world-clip --dtype bf16
            """)

    @Option(help: "CLIP model folder to read.") var model: String
    @Option(help: "Output folder (must not exist).") var out: String
    @Option(help: "Weight dtype: f32, bf16 or f16.") var dtype: String = "bf16"
    @Option(help: "Evaluation scenes (at most 300).") var scenes: Int = 300
    @Flag(help: "Print the evaluation as JSON.") var json = false
    @OptionGroup var vocabulary: CLIPVocabularyOptions
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard weightDType(dtype) != nil else { throw ValidationError("--dtype must be f32, bf16 or f16, got \(dtype)") }
        guard (1...300).contains(scenes) else { throw ValidationError("--scenes must be 1…300, got \(scenes)") }
    }

    func run() throws {
        compute.apply()
        let outURL = URL(fileURLWithPath: out)
        guard !FileManager.default.fileExists(atPath: outURL.path) else { throw ValidationError("\(out) already exists") }
        let type = weightDType(dtype) ?? .bf16
        try CLIPModel.load(directory: URL(fileURLWithPath: model)).save(directory: outURL, dtype: type)
        let scorer = CLIPScorer(model: try CLIPModel.load(directory: outURL), tokenizer: try vocabulary.tokenizer())
        let e = try CLIPTrainer.evaluate(scorer: scorer, tasks: Array(WorldTaskSource(seed: 0).evalTasks.prefix(scenes)), seed: 0)
        if json {
            print(String(decoding: try JSONText.outputEncoder(pretty: true).encode(e), as: UTF8.self))
        } else {
            print(String(format: "wrote %@ (%@); retrieval top-1 %.3f, hard-negative win rate %.3f on %d scenes", out, type.rawValue,
                         e.retrievalTop1, e.hardNegativeWinRate, e.scenes))
        }
    }
}
