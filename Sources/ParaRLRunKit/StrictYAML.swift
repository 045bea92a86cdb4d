// Typed YAML configs with documented defaults (house rule 6): a file gives any subset of the keys, every
// other key keeps its default (also inside nested sections), unknown keys and wrong types are errors naming the
// file, the dotted key path and the line; size, nesting depth and aliases are limited (docs/design.md §8).
import Foundation
import ParaRLCore
import Yams

/// The keys a config mapping accepts, and which of them are nested sections with their own keys.
public struct YAMLKeys: Sendable {
    public var keys: [String]
    public var sections: [String: YAMLKeys]
    public init(_ keys: [String], sections: [String: YAMLKeys] = [:]) { self.keys = keys; self.sections = sections }
}

public enum StrictYAML {
    /// Largest config file read (docs/design.md §8: YAML size limits).
    public static let maxBytes = 1 << 20
    /// Deepest nesting of mappings and sequences accepted.
    public static let maxDepth = 16

    /// Decodes `T` from the YAML mapping in `text`, over `defaults`; `allowed` are the valid top-level keys.
    public static func decode<T: Codable>(_ type: T.Type, from text: String, defaults: T, allowed: [String],
                                          source: String) throws -> T {
        try decode(type, from: text, defaults: defaults, keys: YAMLKeys(allowed), source: source)
    }

    /// Decodes `T` over `defaults` where `keys` describes every level: sections named there merge key by key with
    /// their defaults and reject unknown keys too.
    public static func decode<T: Codable>(_ type: T.Type, from text: String, defaults: T, keys: YAMLKeys,
                                          source: String) throws -> T {
        guard text.utf8.count <= maxBytes else {
            throw ParaRLError.invalidConfig(file: source, key: "", reason: "larger than \(maxBytes) bytes")
        }
        // The parser stays alive until the shape check has run: nodes hold their anchors weakly.
        let parser: Parser
        let parsed: Node?
        do {
            parser = try Parser(yaml: text)
            parsed = try parser.singleRoot()
        } catch {
            throw ParaRLError.invalidConfig(file: source, key: "", reason: "not valid YAML: \(error)")
        }
        let defaultNode = try Yams.compose(yaml: try YAMLEncoder().encode(defaults)) ?? Node.mapping(Node.Mapping([]))
        var lines: [String: Int] = [:]
        var merged = defaultNode
        if let root = parsed {
            try withExtendedLifetime(parser) { try checkShape(root, path: "", depth: 0, source: source) }
            merged = try merge(defaults: defaultNode, user: root, keys: keys, path: "", lines: &lines, source: source)
        }
        do {
            return try YAMLDecoder().decode(T.self, from: merged)
        } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.dataCorrupted(ctx) {
            let key = dotted(ctx.codingPath)
            throw ParaRLError.invalidConfig(file: source, key: key, reason: ctx.debugDescription, line: lines[key])
        } catch let DecodingError.keyNotFound(k, ctx) {
            throw ParaRLError.missingKey(file: source, key: dotted(ctx.codingPath + [k]))
        } catch let DecodingError.valueNotFound(_, ctx) {
            let key = dotted(ctx.codingPath)
            throw ParaRLError.invalidConfig(file: source, key: key, reason: "needs a value", line: lines[key])
        }
    }

    /// Reads and decodes a config file.
    public static func load<T: Codable>(_ type: T.Type, url: URL, defaults: T, allowed: [String]) throws -> T {
        try load(type, url: url, defaults: defaults, keys: YAMLKeys(allowed))
    }

    public static func load<T: Codable>(_ type: T.Type, url: URL, defaults: T, keys: YAMLKeys) throws -> T {
        try decode(type, from: try read(url), defaults: defaults, keys: keys, source: url.path)
    }

    /// The text of a config file, refusing files over `maxBytes`.
    public static func read(_ url: URL) throws -> String {
        let data: Data
        do { data = try BoundedFile.read(url, maxBytes: maxBytes) } catch let e as BoundedFileError {
            throw ParaRLError.io(path: url.path, reason: "cannot read the config file: \(e.reason)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The 1-based line of the dotted `key` (e.g. `beta2`, `sampler.steps`) in the YAML `text`, nil when absent.
    public static func line(of key: String, in text: String) -> Int? {
        guard !key.isEmpty, let root = try? Yams.compose(yaml: text) else { return nil }
        var node = root
        var line: Int?
        for part in key.split(separator: ".") {
            guard let mapping = node.mapping, let entry = mapping.first(where: { $0.key.string == String(part) }) else { return nil }
            line = entry.key.mark?.line
            node = entry.value
        }
        return line
    }

    /// Runs `validate`; an error naming a key of `source` but no line gets the key's line in `text` (the value checks
    /// that run after decoding do not see the parsed nodes).
    public static func withLines(text: String, source: String, _ validate: () throws -> Void) throws {
        do { try validate() } catch let ParaRLError.invalidConfig(file, key, reason, nil) where file == source {
            throw ParaRLError.invalidConfig(file: file, key: key, reason: reason, line: line(of: key, in: text))
        }
    }

    /// The resolved config as YAML, keys in declaration order.
    public static func encode<T: Encodable>(_ value: T) throws -> String { try YAMLEncoder().encode(value) }

    // MARK: Checks and merging

    static func dotted(_ path: [CodingKey]) -> String {
        path.isEmpty ? "" : path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    /// No anchors or aliases anywhere, nesting at most `maxDepth`.
    static func checkShape(_ node: Node, path: String, depth: Int, source: String) throws {
        let key = path.isEmpty ? "" : path
        guard depth <= maxDepth else {
            throw ParaRLError.invalidConfig(file: source, key: key, reason: "nested deeper than \(maxDepth) levels", line: node.mark?.line)
        }
        // An anchor comes before every alias of it in document order, so refusing anchors refuses aliases before any
        // expansion (a "billion laughs" document never gets expanded).
        if node.anchor != nil {
            throw ParaRLError.invalidConfig(file: source, key: key, reason: "anchors and aliases are not allowed", line: node.mark?.line)
        }
        switch node {
        case .alias:
            throw ParaRLError.invalidConfig(file: source, key: key, reason: "aliases are not allowed", line: node.mark?.line)
        case .mapping(let m):
            for (k, v) in m { try checkShape(v, path: join(path, k.string ?? "?"), depth: depth + 1, source: source) }
        case .sequence(let s):
            for (i, v) in s.enumerated() { try checkShape(v, path: "\(key)[\(i)]", depth: depth + 1, source: source) }
        case .scalar:
            break
        }
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// `user` over `defaults`, key by key, recursing into the sections `keys` names.
    static func merge(defaults: Node, user: Node, keys: YAMLKeys, path: String, lines: inout [String: Int],
                      source: String) throws -> Node {
        guard case .mapping(let given) = user else {
            throw ParaRLError.invalidConfig(file: source, key: path.isEmpty ? "" : path,
                                            reason: "must be a mapping of keys to values", line: user.mark?.line)
        }
        var pairs: [(Node, Node)] = []
        if case .mapping(let d) = defaults { pairs = d.map { ($0.key, $0.value) } }
        for (k, v) in given {
            guard let name = k.string else {
                throw ParaRLError.invalidConfig(file: source, key: path.isEmpty ? "" : path, reason: "keys must be strings",
                                                line: k.mark?.line)
            }
            let full = join(path, name)
            guard keys.keys.contains(name) else { throw ParaRLError.unknownKey(file: source, key: full, line: k.mark?.line) }
            lines[full] = k.mark?.line
            let index = pairs.firstIndex(where: { $0.0.string == name })
            var value = v
            if let section = keys.sections[name], case .mapping = v {
                let base = index.map { pairs[$0].1 } ?? Node.mapping(Node.Mapping([]))
                value = try merge(defaults: base, user: v, keys: section, path: full, lines: &lines, source: source)
            }
            if let index { pairs[index].1 = value } else { pairs.append((k, value)) }
        }
        return Node.mapping(Node.Mapping(pairs))
    }
}
