// The dataset format (also how users bring their own data): a JSONL file with one task per line plus PNG
// files, written with a fixed field order so the same tasks give the same bytes, and a strict loader whose
// errors name the file, the line and the field.
import Foundation
import ParaRLMedia

/// One line of a dataset or prediction file.
///
/// Fields, in the order the writer emits them:
/// - `id` (string, unique in the file)
/// - `task`: `"edit"` or `"generate"`
/// - `category`: `spatial`, `temporal`, `causal`, `world_knowledge`, `general`, `generation` for world tasks;
///   any string for other data
/// - `instruction` (string)
/// - `input_image` (PNG path relative to the JSONL file; editing tasks only)
/// - `reasoning` (string; world traces end with the canonical statement, see `Scene.statement`)
/// - `output_image` (PNG path relative to the JSONL file)
/// - `input_scene`, `target_scene` (world tasks only): `{"background": "day", "objects": [{"color": "red",
///   "size": "small", "shape": "circle", "position": "top left"}, …]}`
///
/// Prediction files for the judge need only `id`, `reasoning` and `output_image`.
public struct DatasetRecord: Equatable, Sendable {
    public var id: String
    public var kind: TaskKind?
    public var category: String?
    public var instruction: String?
    public var inputImage: URL?
    public var reasoning: String
    public var outputImage: URL
    public var inputScene: Scene?
    public var targetScene: Scene?
    /// Where the record came from (file and 1-based line), for error messages.
    public var file: String
    public var line: Int

    public init(id: String, kind: TaskKind?, category: String?, instruction: String?, inputImage: URL?,
                reasoning: String, outputImage: URL, inputScene: Scene? = nil, targetScene: Scene? = nil,
                file: String = "", line: Int = 0) {
        self.id = id
        self.kind = kind
        self.category = category
        self.instruction = instruction
        self.inputImage = inputImage
        self.reasoning = reasoning
        self.outputImage = outputImage
        self.inputScene = inputScene
        self.targetScene = targetScene
        self.file = file
        self.line = line
    }

    /// Decodes the output image (`output_image`).
    public func loadOutputImage() throws -> RGBImage { try loadImage(outputImage, field: "output_image") }

    /// Decodes the input image (`input_image`), or nil for generation tasks.
    public func loadInputImage() throws -> RGBImage? {
        guard let url = inputImage else { return nil }
        return try loadImage(url, field: "input_image")
    }

    private func loadImage(_ url: URL, field: String) throws -> RGBImage {
        do {
            return try PNGCodec.read(url)
        } catch let e as PNGError {
            if case .cannotRead = e, !FileManager.default.fileExists(atPath: url.path) {
                throw DatasetError.missingFile(file: file, line: line, field: field, path: url.path)
            }
            throw DatasetError.unreadableImage(file: file, line: line, field: field, path: url.path, reason: "\(e)")
        }
    }
}

/// A dataset or prediction file is malformed.
public enum DatasetError: Error, Equatable, CustomStringConvertible {
    case cannotRead(file: String, reason: String)
    case malformedLine(file: String, line: Int, reason: String)
    case missingField(file: String, line: Int, field: String)
    case invalidField(file: String, line: Int, field: String, reason: String)
    case duplicateID(file: String, line: Int, id: String, firstLine: Int)
    case missingFile(file: String, line: Int, field: String, path: String)
    case unreadableImage(file: String, line: Int, field: String, path: String, reason: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotRead(file, reason): return "\(file): cannot read: \(reason)"
        case let .malformedLine(file, line, reason): return "\(file):\(line): \(reason)"
        case let .missingField(file, line, field): return "\(file):\(line): missing field \"\(field)\""
        case let .invalidField(file, line, field, reason): return "\(file):\(line): field \"\(field)\": \(reason)"
        case let .duplicateID(file, line, id, first): return "\(file):\(line): id \"\(id)\" already used on line \(first)"
        case let .missingFile(file, line, field, path): return "\(file):\(line): field \"\(field)\": no such file \(path)"
        case let .unreadableImage(file, line, field, path, reason):
            return "\(file):\(line): field \"\(field)\": cannot read image \(path): \(reason)"
        case let .cannotWrite(path, reason): return "\(path): cannot write: \(reason)"
        }
    }
}

public enum WorldDataset {
    /// What a loader requires of each line.
    public enum Schema: Sendable {
        /// Full task records: `id`, `task`, `category`, `instruction`, `reasoning`, `output_image`, and
        /// `input_image` for editing tasks.
        case dataset
        /// Predictions: `id`, `reasoning`, `output_image`.
        case predictions
    }

    // MARK: Writing

    /// The JSONL line of a record (no newline); image paths are written as given relative to `base`.
    public static func line(id: String, kind: TaskKind?, category: String?, instruction: String?, inputImage: String?,
                            reasoning: String, outputImage: String, inputScene: Scene?, targetScene: Scene?) -> String {
        var fields: [(String, String)] = [("id", JSONText.quote(id))]
        if let kind { fields.append(("task", JSONText.quote(kind.rawValue))) }
        if let category { fields.append(("category", JSONText.quote(category))) }
        if let instruction { fields.append(("instruction", JSONText.quote(instruction))) }
        if let inputImage { fields.append(("input_image", JSONText.quote(inputImage))) }
        fields.append(("reasoning", JSONText.quote(reasoning)))
        fields.append(("output_image", JSONText.quote(outputImage)))
        if let inputScene { fields.append(("input_scene", sceneJSON(inputScene))) }
        if let targetScene { fields.append(("target_scene", sceneJSON(targetScene))) }
        return "{" + fields.map { "\(JSONText.quote($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }

    static func sceneJSON(_ s: Scene) -> String {
        let objects = s.objects.map { o in
            "{\"color\": \(JSONText.quote(o.color.rawValue)), \"size\": \(JSONText.quote(o.size.rawValue)), " +
                "\"shape\": \(JSONText.quote(o.shape.rawValue)), \"position\": \(JSONText.quote(o.position.name))}"
        }
        return "{\"background\": \(JSONText.quote(s.background.rawValue)), \"objects\": [\(objects.joined(separator: ", "))]}"
    }

    /// Writes world tasks as `<dir>/<name>.jsonl` and `<dir>/images/<id>-input.png`, `<id>-output.png`.
    /// `progress(done, total)` is called after each task. Returns the JSONL file's URL.
    @discardableResult
    public static func write(_ tasks: [WorldTask], name: String, to dir: URL, imageSize: Int = 32,
                             progress: (Int, Int) -> Void = { _, _ in }) throws -> URL {
        let images = dir.appendingPathComponent("images")
        do {
            try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        } catch {
            throw DatasetError.cannotWrite(path: images.path, reason: error.localizedDescription)
        }
        let renderer = SceneRenderer(imageSize: imageSize)
        var text = ""
        for (i, t) in tasks.enumerated() {
            var inputPath: String?
            if let input = t.inputScene {
                let p = "images/\(t.id)-input.png"
                try PNGCodec.write(renderer.render(input), to: dir.appendingPathComponent(p))
                inputPath = p
            }
            let outputPath = "images/\(t.id)-output.png"
            try PNGCodec.write(renderer.render(t.targetScene), to: dir.appendingPathComponent(outputPath))
            text += line(id: t.id, kind: t.kind, category: t.category.rawValue, instruction: t.instruction,
                         inputImage: inputPath, reasoning: t.reasoning, outputImage: outputPath,
                         inputScene: t.inputScene, targetScene: t.targetScene) + "\n"
            progress(i + 1, tasks.count)
        }
        let url = dir.appendingPathComponent("\(name).jsonl")
        do {
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            throw DatasetError.cannotWrite(path: url.path, reason: error.localizedDescription)
        }
        return url
    }

    // MARK: Loading

    /// Reads a JSONL dataset or prediction file. Blank lines are skipped. With `checkImages`, every image is
    /// decoded once so missing or unreadable files fail here, naming the line and field.
    public static func load(_ url: URL, schema: Schema = .dataset, checkImages: Bool = true) throws -> [DatasetRecord] {
        let file = url.path
        guard FileManager.default.fileExists(atPath: file) else { throw DatasetError.cannotRead(file: file, reason: "no such file") }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw DatasetError.cannotRead(file: file, reason: "permission denied or not a regular file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DatasetError.cannotRead(file: file, reason: "not UTF-8 text")
        }
        let base = url.deletingLastPathComponent()
        var records: [DatasetRecord] = []
        var firstLine: [String: Int] = [:]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNo = i + 1
            let lineText = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if lineText.isEmpty { continue }
            let r = try record(lineText, file: file, line: lineNo, base: base, schema: schema)
            if let first = firstLine[r.id] { throw DatasetError.duplicateID(file: file, line: lineNo, id: r.id, firstLine: first) }
            firstLine[r.id] = lineNo
            if checkImages {
                _ = try r.loadOutputImage()
                _ = try r.loadInputImage()
            }
            records.append(r)
        }
        return records
    }

    static func record(_ text: String, file: String, line: Int, base: URL, schema: Schema) throws -> DatasetRecord {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        } catch {
            throw DatasetError.malformedLine(file: file, line: line, reason: "not valid JSON")
        }
        guard let fields = object as? [String: Any] else {
            throw DatasetError.malformedLine(file: file, line: line, reason: "a record must be a JSON object")
        }
        func string(_ key: String, required: Bool) throws -> String? {
            guard let v = fields[key], !(v is NSNull) else {
                if required { throw DatasetError.missingField(file: file, line: line, field: key) }
                return nil
            }
            guard let s = v as? String else {
                throw DatasetError.invalidField(file: file, line: line, field: key, reason: "must be a string")
            }
            return s
        }
        func path(_ key: String, required: Bool) throws -> URL? {
            guard let p = try string(key, required: required) else { return nil }
            guard !p.isEmpty else { throw DatasetError.invalidField(file: file, line: line, field: key, reason: "empty path") }
            // Images live beside the JSONL: a path that is absolute or climbs out of its folder is refused, so a
            // record cannot make the loader open an arbitrary file.
            guard !p.hasPrefix("/") else {
                throw DatasetError.invalidField(file: file, line: line, field: key,
                                                reason: "\"\(p)\" is absolute: image paths are relative to the JSONL file's folder")
            }
            let resolved = base.appendingPathComponent(p).standardizedFileURL
            let root = base.standardizedFileURL.path
            guard resolved.path.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
                throw DatasetError.invalidField(file: file, line: line, field: key,
                                                reason: "\"\(p)\" leaves the JSONL file's folder \(root)")
            }
            return resolved
        }
        let full = schema == .dataset
        guard let id = try string("id", required: true), !id.isEmpty else {
            throw DatasetError.invalidField(file: file, line: line, field: "id", reason: "must not be empty")
        }
        var kind: TaskKind?
        if let k = try string("task", required: full) {
            guard let v = TaskKind(rawValue: k) else {
                throw DatasetError.invalidField(file: file, line: line, field: "task", reason: "must be \"edit\" or \"generate\", got \"\(k)\"")
            }
            kind = v
        }
        let category = try string("category", required: full)
        let instruction = try string("instruction", required: full)
        let inputImage = try path("input_image", required: full && kind == .edit)
        if full, kind == .generate, inputImage != nil {
            throw DatasetError.invalidField(file: file, line: line, field: "input_image", reason: "generation tasks have no input image")
        }
        let reasoning = try string("reasoning", required: true) ?? ""
        guard let outputImage = try path("output_image", required: true) else {
            throw DatasetError.missingField(file: file, line: line, field: "output_image")
        }
        let inputScene = try scene(fields["input_scene"], field: "input_scene", file: file, line: line)
        let targetScene = try scene(fields["target_scene"], field: "target_scene", file: file, line: line)
        return DatasetRecord(id: id, kind: kind, category: category, instruction: instruction, inputImage: inputImage,
                             reasoning: reasoning, outputImage: outputImage, inputScene: inputScene,
                             targetScene: targetScene, file: file, line: line)
    }

    static func scene(_ value: Any?, field: String, file: String, line: Int) throws -> Scene? {
        guard let value, !(value is NSNull) else { return nil }
        func bad(_ f: String, _ reason: String) -> DatasetError { .invalidField(file: file, line: line, field: f, reason: reason) }
        if let text = value as? String {  // the statement body form is accepted too
            do { return try Scene(statement: text) } catch { throw bad(field, "\(error)") }
        }
        guard let o = value as? [String: Any] else { throw bad(field, "must be an object or a scene statement") }
        guard let b = o["background"] as? String else { throw bad("\(field).background", "missing or not a string") }
        guard let background = Background(rawValue: b) else {
            throw bad("\(field).background", "unknown background \"\(b)\" (one of \(Background.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let list = o["objects"] as? [Any] else { throw bad("\(field).objects", "missing or not a list") }
        guard list.count <= GridPosition.all.count else { throw bad("\(field).objects", "more objects than grid cells") }
        var objects: [SceneObject] = []
        for (i, item) in list.enumerated() {
            let f = "\(field).objects[\(i)]"
            guard let d = item as? [String: Any] else { throw bad(f, "must be an object") }
            func attribute<T: RawRepresentable & CaseIterable>(_ key: String, _: T.Type) throws -> T where T.RawValue == String {
                guard let s = d[key] as? String else { throw bad("\(f).\(key)", "missing or not a string") }
                guard let v = T(rawValue: s) else {
                    throw bad("\(f).\(key)", "unknown value \"\(s)\" (one of \(T.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return v
            }
            guard let p = d["position"] as? String else { throw bad("\(f).position", "missing or not a string") }
            guard let position = GridPosition(name: p) else {
                throw bad("\(f).position", "unknown position \"\(p)\" (one of \(GridPosition.names.joined(separator: ", ")))")
            }
            if objects.contains(where: { $0.position == position }) { throw bad("\(f).position", "two objects at \(p)") }
            objects.append(SceneObject(color: try attribute("color", WorldColor.self), shape: try attribute("shape", WorldShape.self),
                                       size: try attribute("size", WorldSize.self), position: position))
        }
        return Scene(background: background, objects: objects)
    }
}
