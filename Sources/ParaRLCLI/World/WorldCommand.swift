// `pararl world generate|judge|show`: the built-in task world's dataset writer, its exact judge and a
// picture of one task (docs/design.md §3.8, §6).
import ArgumentParser
import Foundation
import ParaRLCore
import ParaRLMedia
import ParaRLWorld

struct World: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate, judge and show tasks of the built-in world.",
        discussion: """
            The world: coloured shapes (circle, square, triangle, diamond, cross, ring; ten colours; small or
            large) on a 3×3 board framed by a day, night, sunset or rain background, rendered to 32×32 images.
            Editing tasks come in ParaBench's five categories (spatial, temporal, causal, world_knowledge,
            general); generation tasks describe a scene that needs counting, relations or knowledge.
            """,
        subcommands: [WorldGenerateCommand.self, WorldJudgeCommand.self, WorldShowCommand.self])
}

struct WorldGenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a split of world tasks as a JSONL dataset with PNG images.",
        discussion: """
            Writes DIR/<split>.jsonl and DIR/images/<id>-input.png, <id>-output.png. The eval split is fixed:
            300 tasks (40 per editing category, 100 generation), byte-identical for the same seed. Training
            tasks never contain the held-out combinations (a triangle at center, a ring at top left, a cross
            at bottom right, a purple object at top right) and never repeat an eval task.
            Examples:
              pararl world generate --split eval --seed 0 --out data/world
              pararl world generate --split train --count 5000 --seed 0 --out data/world
            """)

    @Option(help: "train or eval.") var split: String
    @Option(help: "Number of training tasks (train only; eval always has 300).") var count: Int?
    @Option(help: "The world seed.") var seed: UInt64 = 0
    @Option(help: "Output folder.") var out: String
    @Option(help: "Image side in pixels (at least 16; multiples of 16 keep cells aligned to 4-pixel patches).")
    var imageSize: Int = 32

    func validate() throws {
        guard let s = WorldSplit(rawValue: split) else { throw ValidationError("--split must be train or eval, got \(split)") }
        if s == .train {
            guard let c = count, c >= 1 else { throw ValidationError("--split train needs --count N (N ≥ 1)") }
        } else if count != nil {
            throw ValidationError("--count applies to the train split only; the eval split always has 300 tasks")
        }
        if !(16...RGBImage.maxSide).contains(imageSize) {
            throw ValidationError("--image-size must be in 16…\(RGBImage.maxSide), got \(imageSize)")
        }
    }

    func run() throws {
        let s = WorldSplit(rawValue: split) ?? .eval
        let source = WorldTaskSource(seed: seed)
        let tasks = s == .eval ? source.evalTasks : source.trainTasks(0..<(count ?? 0))
        var progress = WorldProgressLine("generate \(s.rawValue)", total: tasks.count)
        let url = try WorldDataset.write(tasks, name: s.rawValue, to: URL(fileURLWithPath: out), imageSize: imageSize) { done, _ in
            progress.update(done)
        }
        progress.finish()
        let counts = Dictionary(grouping: tasks, by: \.category).mapValues(\.count)
        let summary = TaskCategory.allCases.compactMap { c in counts[c].map { "\(c.rawValue) \($0)" } }.joined(separator: ", ")
        print("wrote \(tasks.count) tasks to \(url.path) (\(summary))")
    }
}

struct WorldJudgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "judge",
        abstract: "Score predictions on ParaBench's six axes with the world's exact judge.",
        discussion: """
            PRED.jsonl holds one record per task with its "id", the generated "reasoning" and "output_image"
            (a PNG path relative to the file). References are the world's tasks for --seed (eval and train
            ids), or the records of --ref (a dataset with target_scene). Axes, 0–100: text quality (the
            reasoning parses under the world grammar), text alignment (the final statement vs the target),
            image quality (the image vs the clean re-render of the scene parsed from it), image alignment
            (parsed image vs target), image consistency (editing: what should stay, stays), output alignment
            (final statement vs parsed image); overall is their mean.
            Examples:
              pararl world judge --pred data/world/eval.jsonl
              pararl world judge --pred samples/pred.jsonl --json
              pararl world judge --pred data/world/eval.jsonl --through-vq vq.safetensors
              pararl world judge --pred data/world/eval.jsonl --shuffle-images 1   # chance-level control
            """)

    @Option(help: "Predictions JSONL (id, reasoning, output_image).") var pred: String
    @Option(help: "Reference dataset JSONL with target_scene (default: the world's tasks for --seed).") var ref: String?
    @Option(help: "The world seed of the references.") var seed: UInt64 = 0
    @Option(help: "Image side the judge expects.") var imageSize: Int = 32
    @Option(help: "Judge each image after an encode/decode round trip through this tokenizer (vq.safetensors).")
    var throughVq: String?
    @Option(help: "Control: give each record another record's image (a seeded derangement) before judging.")
    var shuffleImages: UInt64?
    @Flag(help: "Print the report as JSON.") var json = false
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if !(16...RGBImage.maxSide).contains(imageSize) {
            throw ValidationError("--image-size must be in 16…\(RGBImage.maxSide), got \(imageSize)")
        }
    }

    func run() throws {
        compute.apply()
        let predURL = URL(fileURLWithPath: pred)
        let records = try WorldDataset.load(predURL, schema: .predictions, checkImages: false)
        guard !records.isEmpty else { throw ValidationError("\(pred) holds no predictions: nothing to judge") }
        let judge = WorldJudge(imageSize: imageSize)
        let references = try loadReferences(judge: judge, predictions: records)
        let tokenizer = try throughVq.map { try PatchVQ.load(from: URL(fileURLWithPath: $0)) }

        var imageOrder = Array(records.indices)
        if let s = shuffleImages, records.count > 1 {
            var rng = RandomStream(seed: s).split("judge-shuffle")
            let p = rng.permutation(records.count)
            for i in 0..<p.count { imageOrder[p[i]] = p[(i + 1) % p.count] }  // one cycle: nobody keeps its own
        }
        var judgements: [TaskJudgement] = []
        var progress = WorldProgressLine("judge", total: records.count)
        for (i, r) in records.enumerated() {
            guard let reference = references.byID[r.id] else {
                throw ValidationError("\(r.file):\(r.line): id \"\(r.id)\" is not a reference task"
                                      + (ref == nil ? " of the world with seed \(seed)" : " in \(ref ?? "")"))
            }
            let source = records[imageOrder[i]]
            var image = try source.loadOutputImage()
            guard image.width == imageSize && image.height == imageSize else {
                throw ValidationError("\(source.file):\(source.line): output_image \(source.outputImage.path) is "
                                      + "\(image.width)×\(image.height); the judge expects \(imageSize)×\(imageSize) (--image-size)")
            }
            if let tokenizer { image = try tokenizer.reconstruct(image) }
            judgements.append(judge.judge(reference, reasoning: r.reasoning, image: image))
            progress.update(i + 1)
        }
        progress.finish()
        let judged = Set(records.map(\.id))
        let missing = references.ordered.filter { !judged.contains($0) && (ref != nil || $0.hasPrefix("eval-")) }
        let report = JudgeReport(judgements, missing: missing)
        if json {
            print(String(decoding: try JSONText.outputEncoder(pretty: true).encode(report), as: UTF8.self))
        } else {
            print(Self.table(report, title: "judged \(report.count) predictions from \(pred)"))
            if !missing.isEmpty { print("note: \(missing.count) reference tasks have no prediction and are not scored") }
        }
    }

    /// References by id, and the ids in reference order.
    private func loadReferences(judge: WorldJudge, predictions: [DatasetRecord]) throws
        -> (byID: [String: JudgeReference], ordered: [String]) {
        if let ref {
            let records = try WorldDataset.load(URL(fileURLWithPath: ref), schema: .dataset, checkImages: false)
            var byID: [String: JudgeReference] = [:]
            for r in records {
                guard let target = r.targetScene else {
                    throw ValidationError("\(r.file):\(r.line): field \"target_scene\" is needed for judging")
                }
                let kind = r.kind ?? .generate
                var input = r.inputScene
                if kind == .edit, input == nil, let image = try r.loadInputImage() { input = judge.parser.parse(image) }
                byID[r.id] = JudgeReference(id: r.id, kind: kind, category: r.category ?? kind.rawValue,
                                            inputScene: input, targetScene: target)
            }
            return (byID, records.map(\.id))
        }
        let source = WorldTaskSource(seed: seed)
        var byID = Dictionary(uniqueKeysWithValues: source.evalTasks.map { ($0.id, JudgeReference($0)) })
        // Training ids are regenerated on demand.
        for r in predictions where byID[r.id] == nil {
            if let t = source.task(id: r.id) { byID[r.id] = JudgeReference(t) }
        }
        return (byID, source.evalTasks.map(\.id))
    }

    static func table(_ report: JudgeReport, title: String) -> String {
        let headers = ["text_q", "text_al", "img_q", "img_al", "img_cons", "out_al", "overall"]
        func row(_ name: String, _ s: JudgeScores, _ n: Int?) -> String {
            let cells = s.axes.map { $0.1.map { String(format: "%9.1f", $0) } ?? String(repeating: " ", count: 8) + "-" }
            return name.padding(toLength: 18, withPad: " ", startingAt: 0) + cells.joined() + (n.map { "   n=\($0)" } ?? "")
        }
        let header = headers.map { String(repeating: " ", count: 9 - $0.count) + $0 }.joined()
        var lines = [title, String(repeating: " ", count: 18) + header]
        lines.append(row("overall", report.overall, report.count))
        for kind in TaskKind.allCases.map(\.rawValue) where report.byKind[kind] != nil {
            if let s = report.byKind[kind] { lines.append(row(kind, s, nil)) }
        }
        let known = TaskCategory.allCases.map(\.rawValue)
        let categories = known.filter { report.byCategory[$0] != nil } + report.byCategory.keys.filter { !known.contains($0) }.sorted()
        for c in categories { if let s = report.byCategory[c] { lines.append(row("  " + c, s, nil)) } }
        return lines.joined(separator: "\n")
    }
}

struct WorldShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Draw one task: input | target side by side, with its instruction and reasoning.",
        discussion: """
            The task comes from --data (a dataset JSONL) or, by default, from the world's tasks for --seed.
            Examples:
              pararl world show eval-spatial-000 --out task.png
              pararl world show eval-causal-007 --data data/world/eval.jsonl --out task.png
            """)

    @Argument(help: "Task id, e.g. eval-temporal-003 or train-000042.") var id: String
    @Option(help: "Output PNG file.") var out: String
    @Option(help: "Dataset JSONL to read the task from (default: generate it from --seed).") var data: String?
    @Option(help: "The world seed.") var seed: UInt64 = 0
    @Option(help: "Image side in pixels when generating.") var imageSize: Int = 32
    @Option(help: "Enlargement of the task images.") var scale: Int = 8

    func validate() throws {
        if scale < 1 || scale > 32 { throw ValidationError("--scale must be in 1...32, got \(scale)") }
        if !(16...1024).contains(imageSize) { throw ValidationError("--image-size must be in 16…1024, got \(imageSize)") }
    }

    func run() throws {
        let title: String, instruction: String, reasoning: String, input: RGBImage?, target: RGBImage
        if let data {
            let records = try WorldDataset.load(URL(fileURLWithPath: data), schema: .dataset, checkImages: false)
            guard let r = records.first(where: { $0.id == id }) else { throw ValidationError("no task \"\(id)\" in \(data)") }
            title = "\(r.id) (\(r.category ?? r.kind?.rawValue ?? "task"))"
            instruction = r.instruction ?? ""
            reasoning = r.reasoning
            input = try r.loadInputImage()
            target = try r.loadOutputImage()
        } else {
            guard let t = WorldTaskSource(seed: seed).task(id: id) else {
                throw ValidationError("no task \"\(id)\" in the world with seed \(seed) (ids look like eval-spatial-000 or train-000042)")
            }
            let renderer = SceneRenderer(imageSize: imageSize)
            title = "\(t.id) (\(t.category.rawValue))"
            instruction = t.instruction
            reasoning = t.reasoning
            input = t.inputScene.map(renderer.render)
            target = renderer.render(t.targetScene)
        }
        let panel = TaskPanel.render(title: title, instruction: instruction, reasoning: reasoning, input: input,
                                     target: target, scale: scale)
        try PNGCodec.write(panel, to: URL(fileURLWithPath: out))
        print(title)
        print("instruction: \(instruction)")
        print("reasoning: \(reasoning)")
        print("wrote \(out) (\(panel.width)×\(panel.height))")
    }
}

/// Progress of long work on stderr: a self-updating line on a terminal, otherwise a plain line every
/// tenth of the work (and at the end).
struct WorldProgressLine {
    let label: String
    let total: Int
    let start = Date()
    let terminal = isatty(fileno(stderr)) != 0
    var nextReport: Int
    var last = 0

    init(_ label: String, total: Int) {
        self.label = label
        self.total = total
        nextReport = max(1, total / 10)
    }

    mutating func update(_ done: Int) {
        last = done
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let text = "\(label): \(done)/\(total) (\(String(format: "%.0f", rate))/s, ETA \(String(format: "%.0f", eta)) s)"
        if terminal {
            FileHandle.standardError.write(Data(("\r" + text + "\u{1B}[K").utf8))
        } else if done >= nextReport || done == total {
            FileHandle.standardError.write(Data((text + "\n").utf8))
            nextReport = done + max(1, total / 10)
        }
    }

    func finish() {
        if terminal && total > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
