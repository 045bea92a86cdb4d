// Reads .safetensors files, memory-mapped, validated as huggingface/safetensors `SafeTensors::read_metadata`
// and `Metadata::validate` do, plus a leading-'{' check and duplicate-key rejection; converts tensors to Float.
import Foundation

/// The element types of the safetensors format, in the reference's order (its writer sorts by this, descending).
public enum SafetensorsDType: String, CaseIterable, Sendable {
    case bool = "BOOL", f4 = "F4", f6E2M3 = "F6_E2M3", f6E3M2 = "F6_E3M2", u8 = "U8", i8 = "I8"
    case f8E5M2 = "F8_E5M2", f8E4M3 = "F8_E4M3", f8E8M0 = "F8_E8M0", f8E4M3FNUZ = "F8_E4M3FNUZ"
    case f8E5M2FNUZ = "F8_E5M2FNUZ", i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16", i32 = "I32"
    case u32 = "U32", f32 = "F32", c64 = "C64", f64 = "F64", i64 = "I64", u64 = "U64"

    /// Bits per element (F4 and F6 pack below a byte).
    public var bitSize: Int {
        switch self {
        case .f4: return 4
        case .f6E2M3, .f6E3M2: return 6
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ: return 8
        case .i16, .u16, .f16, .bf16: return 16
        case .i32, .u32, .f32: return 32
        case .c64, .f64, .i64, .u64: return 64
        }
    }

    /// Position in the reference's declaration order.
    var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
}

/// One tensor's header entry. `dataOffsets` are relative to the start of the byte buffer after the header.
public struct SafeTensor: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    public let dataOffsets: Range<Int>
    /// The product of `shape` (1 for a scalar); validated not to overflow.
    public let elementCount: Int
}

/// A validated, memory-mapped safetensors file.
public struct SafetensorsFile: Sendable {
    /// The reference reader's limit on the JSON header (100 MB).
    public static let maxHeaderSize = 100_000_000

    /// The path every error message names.
    public let path: String
    /// The `__metadata__` map (empty when the file has none).
    public let metadata: [String: String]
    /// Every tensor, in file (offset) order.
    public let tensors: [SafeTensor]
    /// Tensor names in file (offset) order.
    public var tensorNames: [String] { tensors.map(\.name) }

    private let bytes: Data
    private let dataStart: Int
    private let index: [String: Int]

    /// Memory-maps and validates the file at `url`.
    public static func read(url: URL) throws -> SafetensorsFile {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw SafetensorsError.io(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        return try SafetensorsFile(bytes: bytes, path: url.path)
    }

    /// Validates a whole file's bytes; `path` is only used in error messages.
    public init(bytes: Data, path: String) throws {
        self.path = path
        self.bytes = bytes
        let header = try bytes.withUnsafeBytes { raw -> (start: Int, json: SafetensorsJSON) in
            try Self.parseHeader(raw, path: path)
        }
        dataStart = header.start
        (tensors, metadata) = try Self.validate(header.json, dataSize: bytes.count - header.start, path: path)
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.index = index
    }

    /// The header entry of `name`.
    public func tensor(_ name: String) throws -> SafeTensor {
        guard let i = index[name] else { throw SafetensorsError.tensorNotFound(path: path, tensor: name) }
        return tensors[i]
    }

    public func shape(_ name: String) throws -> [Int] { try tensor(name).shape }

    /// The tensor as Float: F32 exactly, F16/BF16 widened exactly, I32/I64 rounded to nearest Float.
    public func floats(_ name: String) throws -> [Float] {
        let t = try tensor(name)
        switch t.dtype {
        case .f32: return elements(t) { raw, at in Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }
        case .f16: return elements(t) { raw, at in HalfFloat.float(f16Bits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self))) }
        case .bf16: return elements(t) { raw, at in HalfFloat.float(bf16Bits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self))) }
        case .i32: return elements(t) { raw, at in Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int32.self))) }
        case .i64: return elements(t) { raw, at in Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int64.self))) }
        default: throw SafetensorsError.unsupportedConversion(path: path, tensor: name, dtype: t.dtype.rawValue, requested: "Float")
        }
    }

    /// An I32 tensor's values.
    public func int32s(_ name: String) throws -> [Int32] {
        let t = try tensor(name)
        guard t.dtype == .i32 else {
            throw SafetensorsError.unsupportedConversion(path: path, tensor: name, dtype: t.dtype.rawValue, requested: "Int32")
        }
        return elements(t) { raw, at in Int32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int32.self)) }
    }

    /// An I64 tensor's values, or an I32 tensor's widened.
    public func int64s(_ name: String) throws -> [Int64] {
        let t = try tensor(name)
        switch t.dtype {
        case .i64: return elements(t) { raw, at in Int64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int64.self)) }
        case .i32: return elements(t) { raw, at in Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int32.self))) }
        default: throw SafetensorsError.unsupportedConversion(path: path, tensor: name, dtype: t.dtype.rawValue, requested: "Int64")
        }
    }

    /// The tensor's raw little-endian bytes, copied out of the mapping.
    public func rawBytes(_ name: String) throws -> Data {
        let t = try tensor(name)
        return bytes.withUnsafeBytes { raw in
            Data(UnsafeRawBufferPointer(rebasing: raw[(dataStart + t.dataOffsets.lowerBound)..<(dataStart + t.dataOffsets.upperBound)]))
        }
    }

    /// Decodes every element of `t` (whose byte range validation has proved in bounds).
    private func elements<T>(_ t: SafeTensor, _ load: (UnsafeRawBufferPointer, Int) -> T) -> [T] {
        let stride = t.dtype.bitSize / 8
        let start = dataStart + t.dataOffsets.lowerBound
        return bytes.withUnsafeBytes { raw in
            [T](unsafeUninitializedCapacity: t.elementCount) { out, initialized in
                for i in 0..<t.elementCount { out.initializeElement(at: i, to: load(raw, start + i * stride)) }
                initialized = t.elementCount
            }
        }
    }

    /// Checks the length prefix and header bytes; returns where the byte buffer starts and the parsed JSON.
    private static func parseHeader(_ raw: UnsafeRawBufferPointer, path: String) throws -> (start: Int, json: SafetensorsJSON) {
        guard raw.count >= 8 else { throw SafetensorsError.fileTooShort(path: path, size: raw.count) }
        let length = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard length <= UInt64(maxHeaderSize) else { throw SafetensorsError.headerTooLarge(path: path, headerLength: length) }
        let n = Int(length)
        guard 8 + n <= raw.count else { throw SafetensorsError.headerBeyondFile(path: path, headerLength: n, fileSize: raw.count) }
        let header = UnsafeRawBufferPointer(rebasing: raw[8..<(8 + n)])
        guard String(validating: header, as: UTF8.self) != nil else { throw SafetensorsError.headerNotUTF8(path: path) }
        guard header.first == UInt8(ascii: "{") else { throw SafetensorsError.headerNotObject(path: path) }
        do {
            return (8 + n, try SafetensorsJSON.parse(header))
        } catch SafetensorsJSON.Failure.duplicateKey(let key) {
            throw SafetensorsError.duplicateKey(path: path, key: key)
        } catch SafetensorsJSON.Failure.syntax(let reason) {
            throw SafetensorsError.invalidJSON(path: path, reason: reason)
        }
    }

    /// Checks every entry (dtype, shape, offsets, byte size) and that the sorted offsets tile `dataSize` exactly.
    private static func validate(_ json: SafetensorsJSON, dataSize: Int, path: String) throws -> ([SafeTensor], [String: String]) {
        guard case .object(let members) = json else { throw SafetensorsError.headerNotObject(path: path) }
        var metadata: [String: String] = [:]
        var tensors: [SafeTensor] = []
        for member in members {
            if member.key == "__metadata__" {
                metadata = try parseMetadata(member.value, path: path)
            } else {
                tensors.append(try parseEntry(member.key, member.value, path: path))
            }
        }
        // As the reference: order by (begin, end); each tensor must start where the previous one ended.
        tensors.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound) }
        var end = 0
        for t in tensors {
            guard t.dataOffsets.lowerBound == end else {
                throw SafetensorsError.notContiguous(path: path, tensor: t.name, begin: t.dataOffsets.lowerBound, previousEnd: end)
            }
            end = t.dataOffsets.upperBound
        }
        guard end == dataSize else { throw SafetensorsError.dataSizeMismatch(path: path, tensorsEnd: end, dataSize: dataSize) }
        return (tensors, metadata)
    }

    private static func parseMetadata(_ value: SafetensorsJSON, path: String) throws -> [String: String] {
        switch value {
        case .null:
            return [:]
        case .object(let members):
            var metadata: [String: String] = [:]
            for m in members {
                guard case .string(let s) = m.value else {
                    throw SafetensorsError.invalidMetadata(path: path, reason: "value of \"\(m.key)\" is not a string")
                }
                metadata[m.key] = s
            }
            return metadata
        default:
            throw SafetensorsError.invalidMetadata(path: path, reason: "is not an object of strings")
        }
    }

    private static func parseEntry(_ name: String, _ value: SafetensorsJSON, path: String) throws -> SafeTensor {
        guard case .object(let fields) = value else {
            throw SafetensorsError.invalidEntry(path: path, tensor: name, reason: "entry is not an object")
        }
        func field(_ key: String) throws -> SafetensorsJSON {
            guard let f = fields.first(where: { $0.key == key }) else {
                throw SafetensorsError.invalidEntry(path: path, tensor: name, reason: "missing \"\(key)\"")
            }
            return f.value
        }
        guard case .string(let dtypeName) = try field("dtype") else {
            throw SafetensorsError.invalidEntry(path: path, tensor: name, reason: "\"dtype\" is not a string")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw SafetensorsError.unknownDtype(path: path, tensor: name, dtype: dtypeName)
        }
        guard case .array(let dims) = try field("shape") else {
            throw SafetensorsError.invalidShape(path: path, tensor: name, reason: "not an array")
        }
        var shape: [Int] = []
        for d in dims {
            guard let n = d.nonNegativeInt else {
                throw SafetensorsError.invalidShape(path: path, tensor: name, reason: "\(d.text) is not a non-negative integer")
            }
            shape.append(n)
        }
        guard case .array(let offsets) = try field("data_offsets"), offsets.count == 2,
              let begin = offsets[0].nonNegativeInt, let end = offsets[1].nonNegativeInt else {
            throw SafetensorsError.invalidEntry(path: path, tensor: name, reason: "\"data_offsets\" is not [begin, end] of non-negative integers")
        }
        guard begin <= end else { throw SafetensorsError.beginAfterEnd(path: path, tensor: name, begin: begin, end: end) }
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            if overflow { throw SafetensorsError.sizeOverflow(path: path, tensor: name, shape: shape, dtype: dtypeName) }
            count = product
        }
        let (bits, overflow) = count.multipliedReportingOverflow(by: dtype.bitSize)
        if overflow { throw SafetensorsError.sizeOverflow(path: path, tensor: name, shape: shape, dtype: dtypeName) }
        guard bits % 8 == 0 else { throw SafetensorsError.partialByte(path: path, tensor: name, shape: shape, dtype: dtypeName) }
        guard end - begin == bits / 8 else {
            throw SafetensorsError.sizeMismatch(path: path, tensor: name, begin: begin, end: end, shape: shape, dtype: dtypeName, needed: bits / 8)
        }
        return SafeTensor(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end, elementCount: count)
    }
}

extension SafetensorsJSON {
    /// Short JSON text of a scalar for error messages.
    var text: String {
        switch self {
        case .number(let s): return s
        case .string(let s): return SafetensorsJSON.quoted(s)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
