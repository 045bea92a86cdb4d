// A Hugging Face checkpoint folder: `model.safetensors`, or shards listed by `model.safetensors.index.json`
// ({"metadata": {...}, "weight_map": {tensor: shard file}}), checked so every tensor is in exactly its one shard.
import Foundation

/// The tensors of a single-file or sharded safetensors checkpoint, each shard memory-mapped and validated.
public struct SafetensorsCheckpoint: Sendable {
    public static let indexName = "model.safetensors.index.json"
    public static let singleFileName = "model.safetensors"

    public let directory: URL
    /// The shard files in name order (one for a single-file checkpoint).
    public let shards: [SafetensorsFile]
    /// Every tensor name: shard by shard, in file order within a shard.
    public let tensorNames: [String]
    private let shardOf: [String: Int]

    /// Opens `directory`, preferring the index when both an index and `model.safetensors` are present.
    public static func open(directory: URL) throws -> SafetensorsCheckpoint {
        let indexURL = directory.appendingPathComponent(indexName)
        let singleURL = directory.appendingPathComponent(singleFileName)
        if FileManager.default.fileExists(atPath: indexURL.path) {
            return try openSharded(directory: directory, indexURL: indexURL)
        }
        guard FileManager.default.fileExists(atPath: singleURL.path) else {
            throw SafetensorsError.noCheckpoint(directory: directory.path)
        }
        let file = try SafetensorsFile.read(url: singleURL)
        return SafetensorsCheckpoint(directory: directory, shards: [file])
    }

    private init(directory: URL, shards: [SafetensorsFile]) {
        self.directory = directory
        self.shards = shards
        var names: [String] = []
        var shardOf: [String: Int] = [:]
        for (i, shard) in shards.enumerated() {
            for name in shard.tensorNames {
                names.append(name)
                shardOf[name] = i
            }
        }
        tensorNames = names
        self.shardOf = shardOf
    }

    private static func openSharded(directory: URL, indexURL: URL) throws -> SafetensorsCheckpoint {
        let indexPath = indexURL.path
        let weightMap = try readWeightMap(indexURL)
        var shards: [SafetensorsFile] = []
        for shardName in Set(weightMap.map(\.shard)).sorted() {
            let url = directory.appendingPathComponent(shardName)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw SafetensorsError.missingShard(path: indexPath, shard: shardName)
            }
            shards.append(try SafetensorsFile.read(url: url))
        }
        let shardNames = shards.map { URL(fileURLWithPath: $0.path).lastPathComponent }
        var holder: [String: String] = [:]
        for (shard, file) in zip(shardNames, shards) {
            for name in file.tensorNames {
                if let other = holder[name] {
                    throw SafetensorsError.tensorInTwoShards(path: indexPath, tensor: name, shard: other, otherShard: shard)
                }
                holder[name] = shard
            }
        }
        var listed = Set<String>()
        for (tensor, shard) in weightMap {
            guard holder[tensor] == shard else {
                throw SafetensorsError.tensorNotInShard(path: indexPath, tensor: tensor, shard: shard)
            }
            listed.insert(tensor)
        }
        for (shard, file) in zip(shardNames, shards) {
            if let extra = file.tensorNames.first(where: { !listed.contains($0) }) {
                throw SafetensorsError.unlistedTensor(path: indexPath, tensor: extra, shard: shard)
            }
        }
        return SafetensorsCheckpoint(directory: directory, shards: shards)
    }

    /// The index's `weight_map` in file order; shard names must be plain file names in the folder.
    private static func readWeightMap(_ url: URL) throws -> [(tensor: String, shard: String)] {
        let path = url.path
        let json: SafetensorsJSON
        do {
            json = try SafetensorsJSON.parse(Data(contentsOf: url))
        } catch SafetensorsJSON.Failure.duplicateKey(let key) {
            throw SafetensorsError.duplicateKey(path: path, key: key)
        } catch SafetensorsJSON.Failure.syntax(let reason) {
            throw SafetensorsError.invalidIndex(path: path, reason: "not valid JSON: \(reason)")
        } catch {
            throw SafetensorsError.io(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        guard case .object(let top) = json,
              case .object(let entries)? = top.first(where: { $0.key == "weight_map" })?.value else {
            throw SafetensorsError.invalidIndex(path: path, reason: "no \"weight_map\" object")
        }
        return try entries.map { entry in
            guard case .string(let shard) = entry.value else {
                throw SafetensorsError.invalidIndex(path: path, reason: "weight_map value of \"\(entry.key)\" is not a string")
            }
            guard !shard.isEmpty, shard != ".", shard != "..", !shard.contains("/") else {
                throw SafetensorsError.invalidIndex(path: path, reason: "shard \"\(shard)\" is not a file name in the checkpoint folder")
            }
            return (entry.key, shard)
        }
    }

    private func locate(_ name: String) throws -> SafetensorsFile {
        guard let i = shardOf[name] else { throw SafetensorsError.tensorNotFound(path: directory.path, tensor: name) }
        return shards[i]
    }

    public func tensor(_ name: String) throws -> SafeTensor { try locate(name).tensor(name) }
    public func shape(_ name: String) throws -> [Int] { try locate(name).shape(name) }
    public func floats(_ name: String) throws -> [Float] { try locate(name).floats(name) }
    public func int32s(_ name: String) throws -> [Int32] { try locate(name).int32s(name) }
    public func int64s(_ name: String) throws -> [Int64] { try locate(name).int64s(name) }
}
