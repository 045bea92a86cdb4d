// Typed YAML configs with documented defaults (house rule 6): a file gives any subset of the keys, every
// other key keeps its default, unknown keys and wrong types are errors naming the file, key and line.
import Foundation
import Yams

public enum StrictYAML {
    /// Largest config file read (DESIGN §8: YAML size limits).
    public static let maxBytes = 1 << 20

    /// Decodes `T` from the YAML mapping in `text`, over `defaults`; `allowed` are the valid top-level keys.
    public static func decode<T: Codable>(_ type: T.Type, from text: String, defaults: T, allowed: [String],
                                          source: String) throws -> T {
        guard text.utf8.count <= maxBytes else {
            throw PolicyError.invalidConfig(file: source, key: "(file)", reason: "larger than \(maxBytes) bytes")
        }
        let parsed: Node?
        do {
            parsed = try Yams.compose(yaml: text)
        } catch {
            throw PolicyError.invalidConfig(file: source, key: "(file)", reason: "not valid YAML: \(error)")
        }
        var pairs: [(Node, Node)] = []
        let defaultNode = try Yams.compose(yaml: try YAMLEncoder().encode(defaults))
        if case .mapping(let d)? = defaultNode { pairs = d.map { ($0.key, $0.value) } }
        var lines: [String: Int] = [:]
        if let root = parsed {
            guard case .mapping(let user) = root else {
                throw PolicyError.invalidConfig(file: source, key: "(file)", reason: "must be a mapping of keys to values")
            }
            for (k, v) in user {
                guard let key = k.string else {
                    throw PolicyError.invalidConfig(file: source, key: "(file)", reason: "keys must be strings", line: k.mark?.line)
                }
                guard allowed.contains(key) else { throw PolicyError.unknownKey(file: source, key: key, line: k.mark?.line) }
                if case .alias = v { throw PolicyError.invalidConfig(file: source, key: key, reason: "aliases are not allowed", line: k.mark?.line) }
                lines[key] = k.mark?.line
                if let i = pairs.firstIndex(where: { $0.0.string == key }) { pairs[i].1 = v } else { pairs.append((k, v)) }
            }
        }
        do {
            return try YAMLDecoder().decode(T.self, from: Node.mapping(Node.Mapping(pairs)))
        } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.dataCorrupted(ctx) {
            let key = ctx.codingPath.first?.stringValue ?? "(file)"
            throw PolicyError.invalidConfig(file: source, key: key, reason: ctx.debugDescription, line: lines[key])
        } catch let DecodingError.keyNotFound(k, _) {
            throw PolicyError.missingKey(file: source, key: k.stringValue)
        } catch let DecodingError.valueNotFound(_, ctx) {
            let key = ctx.codingPath.first?.stringValue ?? "(file)"
            throw PolicyError.invalidConfig(file: source, key: key, reason: "needs a value", line: lines[key])
        }
    }

    /// Reads and decodes a config file.
    public static func load<T: Codable>(_ type: T.Type, url: URL, defaults: T, allowed: [String]) throws -> T {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw PolicyError.io(path: url.path, reason: "cannot read the config file")
        }
        guard data.count <= maxBytes else {
            throw PolicyError.invalidConfig(file: url.path, key: "(file)", reason: "larger than \(maxBytes) bytes")
        }
        return try decode(type, from: String(decoding: data, as: UTF8.self), defaults: defaults, allowed: allowed, source: url.path)
    }

    /// The resolved config as YAML, keys in declaration order.
    public static func encode<T: Encodable>(_ value: T) throws -> String { try YAMLEncoder().encode(value) }
}
