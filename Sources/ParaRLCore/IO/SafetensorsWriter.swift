// Writes .safetensors files laid out as huggingface/safetensors `serialize` does (tensors sorted by dtype,
// widest first, then by name; contiguous offsets; compact header padded with spaces to 8 bytes), atomically.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Collects tensors and metadata, then writes them as one safetensors file.
///
/// Arrays are kept (copy-on-write, so no copy) and encoded in chunks while writing.
public struct SafetensorsWriter {
    /// The `__metadata__` map; omitted from the header when empty. Keys are written in byte order.
    public var metadata: [String: String]

    private enum Values {
        case floats([Float])
        case int32s([Int32])
        case int64s([Int64])
    }

    private struct Entry {
        let name: String
        let dtype: SafetensorsDType
        let shape: [Int]
        let values: Values
        var byteCount: Int { shape.reduce(1, *) * dtype.bitSize / 8 }
    }

    private var entries: [Entry] = []
    private var names = Set<String>()

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds a float tensor stored as F32 (exact), F16 or BF16 (rounded to nearest even).
    public mutating func add(_ name: String, shape: [Int], floats: [Float], as dtype: SafetensorsDType = .f32) throws {
        guard [.f32, .f16, .bf16].contains(dtype) else {
            throw SafetensorsError.invalidTensor(tensor: name, reason: "floats can be stored as F32, F16 or BF16, not \(dtype.rawValue)")
        }
        try add(Entry(name: name, dtype: dtype, shape: shape, values: .floats(floats)), count: floats.count)
    }

    /// Adds an I32 tensor.
    public mutating func add(_ name: String, shape: [Int], int32s: [Int32]) throws {
        try add(Entry(name: name, dtype: .i32, shape: shape, values: .int32s(int32s)), count: int32s.count)
    }

    /// Adds an I64 tensor.
    public mutating func add(_ name: String, shape: [Int], int64s: [Int64]) throws {
        try add(Entry(name: name, dtype: .i64, shape: shape, values: .int64s(int64s)), count: int64s.count)
    }

    private mutating func add(_ entry: Entry, count: Int) throws {
        let name = entry.name
        guard name != "__metadata__" else { throw SafetensorsError.invalidTensor(tensor: name, reason: "the name is reserved") }
        guard !names.contains(name) else { throw SafetensorsError.invalidTensor(tensor: name, reason: "added twice") }
        var elements = 1
        for d in entry.shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: d)
            guard d >= 0, !overflow else {
                throw SafetensorsError.invalidTensor(tensor: name, reason: "invalid shape \(entry.shape)")
            }
            elements = product
        }
        guard elements == count else {
            throw SafetensorsError.invalidTensor(tensor: name, reason: "shape \(entry.shape) needs \(elements) values but \(count) were given")
        }
        names.insert(name)
        entries.append(entry)
    }

    /// The reference writer's order: dtype descending (so every tensor is aligned to its element size), then name.
    private var ordered: [Entry] {
        entries.sorted { a, b in
            a.dtype != b.dtype ? a.dtype.rank > b.dtype.rank : a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
    }

    /// The 8-byte length and the header, padded with spaces to a multiple of 8 bytes.
    private func header(_ ordered: [Entry], path: String) throws -> [UInt8] {
        var json = "{"
        var members: [String] = []
        if !metadata.isEmpty {
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            let pairs = keys.map { "\(SafetensorsJSON.quoted($0)):\(SafetensorsJSON.quoted(metadata[$0] ?? ""))" }
            members.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for e in ordered {
            let shape = e.shape.map(String.init).joined(separator: ",")
            members.append("\(SafetensorsJSON.quoted(e.name)):{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + e.byteCount)]}")
            offset += e.byteCount
        }
        json += members.joined(separator: ",") + "}"
        var bytes = Array(json.utf8)
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - bytes.count % 8) % 8))
        guard bytes.count <= SafetensorsFile.maxHeaderSize else {
            throw SafetensorsError.headerTooLarge(path: path, headerLength: UInt64(bytes.count))
        }
        var length = UInt64(bytes.count).littleEndian
        return withUnsafeBytes(of: &length) { Array($0) } + bytes
    }

    /// Calls `sink` with the whole file in order: length, header, then every tensor's little-endian bytes in chunks.
    private func stream(path: String, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let ordered = self.ordered
        try header(ordered, path: path).withUnsafeBytes(sink)
        let chunk = 1 << 16
        var scratch = [UInt8](repeating: 0, count: chunk * 8)
        func emit<T>(_ values: [T], width: Int, _ store: (UnsafeMutableRawBufferPointer, Int, T) -> Void) throws {
            var start = 0
            while start < values.count {
                let n = min(chunk, values.count - start)
                try scratch.withUnsafeMutableBytes { out in
                    for i in 0..<n { store(out, i * width, values[start + i]) }
                    try sink(UnsafeRawBufferPointer(rebasing: out[0..<(n * width)]))
                }
                start += n
            }
        }
        for e in ordered {
            switch (e.values, e.dtype) {
            case (.floats(let v), .f16): try emit(v, width: 2) { $0.storeBytes(of: HalfFloat.f16Bits($2).littleEndian, toByteOffset: $1, as: UInt16.self) }
            case (.floats(let v), .bf16): try emit(v, width: 2) { $0.storeBytes(of: HalfFloat.bf16Bits($2).littleEndian, toByteOffset: $1, as: UInt16.self) }
            case (.floats(let v), _): try emit(v, width: 4) { $0.storeBytes(of: $2.bitPattern.littleEndian, toByteOffset: $1, as: UInt32.self) }
            case (.int32s(let v), _): try emit(v, width: 4) { $0.storeBytes(of: $2.littleEndian, toByteOffset: $1, as: Int32.self) }
            case (.int64s(let v), _): try emit(v, width: 8) { $0.storeBytes(of: $2.littleEndian, toByteOffset: $1, as: Int64.self) }
            }
        }
    }

    /// The whole file in memory.
    public func encoded() throws -> Data {
        var data = Data()
        try stream(path: "(in memory)") { data.append(contentsOf: $0) }
        return data
    }

    /// Writes the file atomically: a temporary file in the same folder, fsync, rename over `url`, fsync the folder.
    public func write(to url: URL) throws {
        let path = url.path
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(TemporaryName.next())").path
        func failure(_ what: String) -> SafetensorsError {
            .io(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot create \(temporary)") }
        var isOpen = true, renamed = false
        defer {
            if isOpen { close(fd) }
            if !renamed { unlink(temporary) }
        }
        try stream(path: path) { chunk in
            guard var next = chunk.baseAddress else { return }
            var left = chunk.count
            while left > 0 {
                let n = writeSome(fd, next, left)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure("cannot write \(temporary)")
                }
                next += n
                left -= n
            }
        }
        guard fsync(fd) == 0 else { throw failure("cannot fsync \(temporary)") }
        isOpen = false
        guard close(fd) == 0 else { throw failure("cannot close \(temporary)") }
        guard rename(temporary, path) == 0 else { throw failure("cannot rename \(temporary) into place") }
        renamed = true
        // Make the rename durable; some file systems cannot fsync a folder (EINVAL), which is not an error.
        let folderFD = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folderFD >= 0 else { throw failure("cannot open the folder to fsync it") }
        defer { close(folderFD) }
        guard fsync(folderFD) == 0 || errno == EINVAL else { throw failure("cannot fsync the folder") }
    }
}

/// POSIX write(2); a free function because inside `SafetensorsWriter` the name `write` means the method.
private func writeSome(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}

/// Process-unique suffixes for temporary files (no global random generator: house rule 7).
enum TemporaryName {
    private static let counter = Counter()
    static func next() -> UInt64 { counter.next() }

    private final class Counter: @unchecked Sendable {
        private var value: UInt64 = 0
        private let lock = NSLock()
        func next() -> UInt64 {
            lock.lock()
            defer { lock.unlock() }
            value += 1
            return value
        }
    }
}
