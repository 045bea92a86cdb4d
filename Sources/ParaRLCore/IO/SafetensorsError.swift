// Every way a safetensors file, a sharded checkpoint or a write can fail; each message names the file
// and, where there is one, the tensor (the rules are those of huggingface/safetensors `read_metadata`/`validate`).
import Foundation

/// A typed safetensors failure. `path` is the file (or checkpoint index) the error is about.
public enum SafetensorsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened, read, written or renamed.
    case io(path: String, reason: String)
    /// Fewer than the 8 bytes that hold the header length.
    case fileTooShort(path: String, size: Int)
    /// The header length exceeds `SafetensorsFile.maxHeaderSize`.
    case headerTooLarge(path: String, headerLength: UInt64)
    /// The header would end past the end of the file.
    case headerBeyondFile(path: String, headerLength: Int, fileSize: Int)
    case headerNotUTF8(path: String)
    /// The header's first byte is not `{` (this includes an empty header).
    case headerNotObject(path: String)
    case invalidJSON(path: String, reason: String)
    /// A JSON object in the header (or index) repeats a key.
    case duplicateKey(path: String, key: String)
    case unknownDtype(path: String, tensor: String, dtype: String)
    /// A header entry lacks a field or a field has the wrong JSON type.
    case invalidEntry(path: String, tensor: String, reason: String)
    case invalidShape(path: String, tensor: String, reason: String)
    case beginAfterEnd(path: String, tensor: String, begin: Int, end: Int)
    /// After sorting by offset, a tensor does not start where the previous one ends (a gap or an overlap).
    case notContiguous(path: String, tensor: String, begin: Int, previousEnd: Int)
    /// The tensors do not cover the byte buffer exactly: trailing bytes, or a truncated file.
    case dataSizeMismatch(path: String, tensorsEnd: Int, dataSize: Int)
    case sizeMismatch(path: String, tensor: String, begin: Int, end: Int, shape: [Int], dtype: String, needed: Int)
    /// The element count or byte size of a shape overflows a 64-bit integer.
    case sizeOverflow(path: String, tensor: String, shape: [Int], dtype: String)
    /// A sub-byte dtype (F4, F6) whose shape does not fill whole bytes.
    case partialByte(path: String, tensor: String, shape: [Int], dtype: String)
    case invalidMetadata(path: String, reason: String)
    case tensorNotFound(path: String, tensor: String)
    /// The tensor's dtype cannot be read as the requested element type.
    case unsupportedConversion(path: String, tensor: String, dtype: String, requested: String)
    /// A tensor handed to `SafetensorsWriter` is inconsistent (name, shape, count or dtype).
    case invalidTensor(tensor: String, reason: String)
    /// Neither `model.safetensors.index.json` nor `model.safetensors` is in the checkpoint folder.
    case noCheckpoint(directory: String)
    case invalidIndex(path: String, reason: String)
    case missingShard(path: String, shard: String)
    /// `weight_map` maps a tensor to a shard that does not hold it.
    case tensorNotInShard(path: String, tensor: String, shard: String)
    case tensorInTwoShards(path: String, tensor: String, shard: String, otherShard: String)
    /// A shard holds a tensor that `weight_map` does not list.
    case unlistedTensor(path: String, tensor: String, shard: String)

    public var description: String {
        switch self {
        case let .io(path, reason):
            return "\(path): \(reason)"
        case let .fileTooShort(path, size):
            return "\(path): file is \(size) bytes, too short to hold the 8-byte header length"
        case let .headerTooLarge(path, headerLength):
            return "\(path): header length \(headerLength) exceeds the limit of \(SafetensorsFile.maxHeaderSize) bytes"
        case let .headerBeyondFile(path, headerLength, fileSize):
            return "\(path): header of \(headerLength) bytes ends at byte \(8 + headerLength) but the file has \(fileSize) bytes"
        case let .headerNotUTF8(path):
            return "\(path): header is not valid UTF-8"
        case let .headerNotObject(path):
            return "\(path): header does not start with '{'"
        case let .invalidJSON(path, reason):
            return "\(path): header is not valid JSON: \(reason)"
        case let .duplicateKey(path, key):
            return "\(path): duplicate key \"\(key)\""
        case let .unknownDtype(path, tensor, dtype):
            return "\(path): tensor \"\(tensor)\": unknown dtype \"\(dtype)\""
        case let .invalidEntry(path, tensor, reason):
            return "\(path): tensor \"\(tensor)\": \(reason)"
        case let .invalidShape(path, tensor, reason):
            return "\(path): tensor \"\(tensor)\": invalid shape: \(reason)"
        case let .beginAfterEnd(path, tensor, begin, end):
            return "\(path): tensor \"\(tensor)\": data_offsets [\(begin), \(end)) begin after they end"
        case let .notContiguous(path, tensor, begin, previousEnd):
            let what = begin > previousEnd ? "leaving a gap of \(begin - previousEnd) bytes"
                                           : "overlapping it by \(previousEnd - begin) bytes"
            let previous = previousEnd == 0 ? "the data starts at 0" : "the previous tensor ends at \(previousEnd)"
            return "\(path): tensor \"\(tensor)\": data_offsets begin at \(begin) but \(previous), \(what)"
        case let .dataSizeMismatch(path, tensorsEnd, dataSize):
            let what = dataSize > tensorsEnd ? "\(dataSize - tensorsEnd) trailing bytes"
                                             : "truncated by \(tensorsEnd - dataSize) bytes"
            return "\(path): tensors end at byte \(tensorsEnd) of the data but the file holds \(dataSize) data bytes (\(what))"
        case let .sizeMismatch(path, tensor, begin, end, shape, dtype, needed):
            return "\(path): tensor \"\(tensor)\": data_offsets [\(begin), \(end)) hold \(end - begin) bytes but shape \(shape) of \(dtype) needs \(needed)"
        case let .sizeOverflow(path, tensor, shape, dtype):
            return "\(path): tensor \"\(tensor)\": the byte size of shape \(shape) of \(dtype) overflows"
        case let .partialByte(path, tensor, shape, dtype):
            return "\(path): tensor \"\(tensor)\": shape \(shape) of \(dtype) does not fill a whole number of bytes"
        case let .invalidMetadata(path, reason):
            return "\(path): __metadata__ \(reason)"
        case let .tensorNotFound(path, tensor):
            return "\(path): no tensor named \"\(tensor)\""
        case let .unsupportedConversion(path, tensor, dtype, requested):
            return "\(path): tensor \"\(tensor)\" is \(dtype) and cannot be read as \(requested)"
        case let .invalidTensor(tensor, reason):
            return "tensor \"\(tensor)\": \(reason)"
        case let .noCheckpoint(directory):
            return "\(directory): holds neither \(SafetensorsCheckpoint.indexName) nor \(SafetensorsCheckpoint.singleFileName)"
        case let .invalidIndex(path, reason):
            return "\(path): \(reason)"
        case let .missingShard(path, shard):
            return "\(path): shard \"\(shard)\" does not exist"
        case let .tensorNotInShard(path, tensor, shard):
            return "\(path): tensor \"\(tensor)\" is mapped to \"\(shard)\" but that shard does not hold it"
        case let .tensorInTwoShards(path, tensor, shard, otherShard):
            return "\(path): tensor \"\(tensor)\" is in two shards, \"\(shard)\" and \"\(otherShard)\""
        case let .unlistedTensor(path, tensor, shard):
            return "\(path): shard \"\(shard)\" holds tensor \"\(tensor)\" that weight_map does not list"
        }
    }
}
