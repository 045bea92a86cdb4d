// Safetensors I/O: round trips of every dtype, F16/BF16 bit patterns and rounding, files written by Python's
// `safetensors` (tools/fixtures/make_safetensors_fixture.py), sharded checkpoints, and one malformed file per rule.
import Foundation
import Testing
import ParaRLCore
import TestSupport

/// A fresh empty folder under the system temporary directory.
private func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("pararl-safetensors-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A file's bytes: the 8-byte little-endian length (of `header` unless `length` is given), the header, then `data`.
private func fileBytes(_ header: String, length: UInt64? = nil, data: [UInt8] = []) -> [UInt8] {
    fileBytes(Array(header.utf8), length: length, data: data)
}

private func fileBytes(_ header: [UInt8], length: UInt64? = nil, data: [UInt8] = []) -> [UInt8] {
    withUnsafeBytes(of: (length ?? UInt64(header.count)).littleEndian) { Array($0) } + header + data
}

/// One header entry.
private func entry(_ name: String, _ dtype: String, _ shape: [Int], _ begin: Int, _ end: Int) -> String {
    "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(begin),\(end)]}"
}

private func header(_ entries: String...) -> String { "{" + entries.joined(separator: ",") + "}" }

/// A malformed file, the error it must raise (given its path) and a phrase its message must contain.
struct MalformedFile: Sendable, CustomTestStringConvertible {
    let rule: String
    let bytes: [UInt8]
    let error: @Sendable (String) -> SafetensorsError
    let phrase: String
    var testDescription: String { rule }
}

/// The expected values the fixture script writes beside each fixture.
private struct ExpectedFile: Decodable {
    struct Tensor: Decodable {
        let dtype: String
        let shape: [Int]
        let float32_bits: [UInt32]
        let bits: [UInt16]?
        let values: [String]?
    }
    let metadata: [String: String]?
    let tensors: [String: Tensor]

    static func load(_ name: String) throws -> ExpectedFile {
        try JSONDecoder().decode(ExpectedFile.self, from: Data(contentsOf: fixtureURL(name)))
    }
}

/// The nearest BF16 to `x` by comparing the two candidates in Double (ties to the even pattern): the naive
/// reference. As IEEE rounding does, infinity counts as 2^128 (the next value past the largest finite one).
private func naiveBF16Bits(_ x: Float) -> UInt16 {
    let low = UInt16(x.bitPattern >> 16), high = low &+ 1
    func value(_ h: UInt16) -> Double {
        h & 0x7FFF == 0x7F80 ? (h & 0x8000 == 0 ? 0x1p128 : -0x1p128) : Double(HalfFloat.float(bf16Bits: h))
    }
    let d = Double(x)
    let dl = abs(value(low) - d), dh = abs(value(high) - d)
    if dl != dh { return dl < dh ? low : high }
    return low % 2 == 0 ? low : high
}

@Suite("Safetensors")
struct SafetensorsTests {
    // MARK: F16 / BF16 conversion

    @Test("F16 and BF16 bit patterns of 1, -2.5, 65504, subnormals, inf and nan")
    func knownBitPatterns() {
        let f16: [(Float, UInt16)] = [
            (1.0, 0x3C00), (-2.5, 0xC100), (65504, 0x7BFF), (0x1p-24, 0x0001), (1023 * 0x1p-24, 0x03FF), (0x1p-14, 0x0400),
            (0, 0x0000), (-0.0, 0x8000), (.infinity, 0x7C00), (-.infinity, 0xFC00), (1e-9, 0x0000), (1e6, 0x7C00),
        ]
        for (x, bits) in f16 {
            #expect(HalfFloat.f16Bits(x) == bits, "f16(\(x))")
            if x.magnitude >= 0x1p-24, x.magnitude <= 65504 || x.isInfinite {
                #expect(HalfFloat.float(f16Bits: bits) == x, "float(f16 \(bits))")
            }
        }
        #expect(HalfFloat.f16Bits(.nan) == 0x7E00)
        #expect(HalfFloat.float(f16Bits: 0x7E00).isNaN)
        #expect(HalfFloat.float(f16Bits: 0x7E00).bitPattern == 0x7FC0_0000)

        let bf16: [(Float, UInt16)] = [
            (1.0, 0x3F80), (-2.5, 0xC020), (65504, 0x4780), (Float(bitPattern: 0x0001_0000), 0x0001), (0, 0), (-0.0, 0x8000),
            (.infinity, 0x7F80), (-.infinity, 0xFF80), (.greatestFiniteMagnitude, 0x7F80), (Float(bitPattern: 0x7F7F_0000), 0x7F7F),
        ]
        for (x, bits) in bf16 {
            #expect(HalfFloat.bf16Bits(x) == bits, "bf16(\(x))")
        }
        #expect(HalfFloat.float(bf16Bits: 0x3F80) == 1)
        #expect(HalfFloat.float(bf16Bits: 0xC020) == -2.5)
        #expect(HalfFloat.float(bf16Bits: 0x0001) == 0x1p-133)
        #expect(HalfFloat.float(bf16Bits: 0x7F80) == .infinity)
        #expect(HalfFloat.bf16Bits(.nan) == 0x7FC0)
        #expect(HalfFloat.float(bf16Bits: 0x7FC0).isNaN)
    }

    @Test("F16/BF16 round to nearest, ties to even")
    func tiesToEven() {
        // F16 has 10 mantissa bits: 1 + 2^-11 is halfway between 1 and 1 + 2^-10.
        #expect(HalfFloat.f16Bits(1 + 0x1p-11) == 0x3C00)
        #expect(HalfFloat.f16Bits(1 + 3 * 0x1p-11) == 0x3C02)
        #expect(HalfFloat.f16Bits(1 + 0x1p-11 + 0x1p-20) == 0x3C01)
        #expect(HalfFloat.f16Bits(65519) == 0x7BFF)
        #expect(HalfFloat.f16Bits(65520) == 0x7C00)
        #expect(HalfFloat.f16Bits(0x1p-25) == 0x0000)          // halfway between 0 and the smallest subnormal
        #expect(HalfFloat.f16Bits(3 * 0x1p-25) == 0x0002)
        #expect(HalfFloat.f16Bits(1023.5 * 0x1p-24) == 0x0400)  // the largest subnormal rounds up to the smallest normal
        // BF16 has 7 mantissa bits: 1 + 2^-8 is halfway between 1 and 1 + 2^-7.
        #expect(HalfFloat.bf16Bits(1 + 0x1p-8) == 0x3F80)
        #expect(HalfFloat.bf16Bits(1 + 3 * 0x1p-8) == 0x3F82)
        #expect(HalfFloat.bf16Bits(1 + 0x1p-8 + 0x1p-20) == 0x3F81)
        #expect(HalfFloat.bf16Bits(-(1 + 3 * 0x1p-8)) == 0xBF82)
    }

    @Test("every F16 and BF16 pattern survives Float and back; midpoints round to even")
    func exhaustiveHalfPatterns() {
        for h in 0...UInt16.max {
            let f = HalfFloat.float(f16Bits: h)
            let b = HalfFloat.float(bf16Bits: h)
            if f.isNaN { #expect(h & 0x7C00 == 0x7C00 && h & 0x03FF != 0) } else { #expect(HalfFloat.f16Bits(f) == h) }
            if b.isNaN { #expect(h & 0x7F80 == 0x7F80 && h & 0x007F != 0) } else { #expect(HalfFloat.bf16Bits(b) == h) }
        }
        // Midpoints between neighbours (exact in Float) go to the even neighbour.
        for h in UInt16(0)..<0x7BFF {
            let mid = (HalfFloat.float(f16Bits: h) + HalfFloat.float(f16Bits: h + 1)) / 2
            #expect(HalfFloat.f16Bits(mid) == (h % 2 == 0 ? h : h + 1), "f16 midpoint above \(h)")
        }
        for h in UInt16(0)..<0x7F7F {
            let mid = Float(bitPattern: UInt32(h) << 16 | 0x8000)
            #expect(HalfFloat.bf16Bits(mid) == (h % 2 == 0 ? h : h + 1), "bf16 midpoint above \(h)")
        }
    }

    @Test("F16/BF16 conversion matches naive references on random floats")
    func matchesReferences() {
        var rng = TestRNG(seed: 17)
        for _ in 0..<200_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            if x.isNaN { continue }
            #expect(HalfFloat.bf16Bits(x) == naiveBF16Bits(x), "bf16(\(x))")
            #if !(os(macOS) && arch(x86_64))
            #expect(HalfFloat.f16Bits(x) == Float16(x).bitPattern, "f16(\(x))")
            #endif
        }
        #if !(os(macOS) && arch(x86_64))
        for h in 0...UInt16.max where !Float16(bitPattern: h).isNaN {
            #expect(HalfFloat.float(f16Bits: h).bitPattern == Float(Float16(bitPattern: h)).bitPattern)
        }
        #endif
    }

    // MARK: Round trips

    @Test("every dtype and the metadata survive a write and a read")
    func roundTrip() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("round.safetensors")
        let f32: [Float] = [1, -2.5, .pi, Float(bitPattern: 0x0001_16C2), -.infinity, .greatestFiniteMagnitude]
        let halves: [Float] = [1, -2.5, 65504, 1 + 0x1p-11, 1 + 3 * 0x1p-11, 0x1p-24, .infinity, 1e6]
        let i32: [Int32] = [.min, -1, 0, .max]
        let i64: [Int64] = [.min, -1, 16_777_217, .max]
        let metadata = ["format": "pt", "note": "quote \" backslash \\ tab \t newline \n bell \u{07} café ✓"]
        var writer = SafetensorsWriter(metadata: metadata)
        try writer.add("w.f32", shape: [2, 3], floats: f32)
        try writer.add("w.f16", shape: [8], floats: halves, as: .f16)
        try writer.add("w.bf16", shape: [2, 2, 2], floats: halves, as: .bf16)
        try writer.add("ids.i32", shape: [4], int32s: i32)
        try writer.add("ids.i64", shape: [2, 2], int64s: i64)
        try writer.add("scalar", shape: [], floats: [7.5])
        try writer.add("empty", shape: [0, 5], floats: [])
        try writer.write(to: url)

        let file = try SafetensorsFile.read(url: url)
        #expect(file.metadata == metadata)
        // The reference writer's order: dtype descending (I64, F32, I32, BF16, F16), then name.
        #expect(file.tensorNames == ["ids.i64", "empty", "scalar", "w.f32", "ids.i32", "w.bf16", "w.f16"])
        #expect(try file.floats("w.f32").map(\.bitPattern) == f32.map(\.bitPattern))
        #expect(try file.floats("w.f16") == [1, -2.5, 65504, 1, 1 + 0x1p-9, 0x1p-24, .infinity, .infinity])
        #expect(try file.floats("w.bf16") == halves.map { HalfFloat.float(bf16Bits: HalfFloat.bf16Bits($0)) })
        #expect(try file.floats("w.bf16")[0..<3] == [1, -2.5, 65536])
        #expect(try file.int32s("ids.i32") == i32)
        #expect(try file.int64s("ids.i64") == i64)
        #expect(try file.int64s("ids.i32") == i32.map(Int64.init))
        #expect(try file.floats("ids.i64") == i64.map(Float.init))
        #expect(try file.floats("scalar") == [7.5])
        #expect(try file.shape("scalar") == [])
        #expect(try file.floats("empty") == [])
        #expect(try file.shape("empty") == [0, 5])
        #expect(try file.shape("w.bf16") == [2, 2, 2])
        let t = try file.tensor("w.f16")
        #expect(t.dtype == .f16 && t.elementCount == 8 && t.dataOffsets.count == 16)

        // Header: length a multiple of 8, padded with spaces; the first tensor's data follows it directly.
        let bytes = [UInt8](try Data(contentsOf: url))
        let length = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        #expect(length % 8 == 0)
        #expect(bytes[8] == UInt8(ascii: "{"))
        let json = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
        #expect(json.trimmingCharacters(in: .whitespaces).hasSuffix("}"))
        #expect(try writer.encoded() == Data(bytes))
    }

    @Test("the writer's bytes equal the Python library's for the same tensors and metadata")
    func byteIdenticalToPython() throws {
        let fixture = try SafetensorsFile.read(url: fixtureURL("safetensors_dtypes.safetensors"))
        var writer = SafetensorsWriter(metadata: fixture.metadata)
        for t in fixture.tensors {
            switch t.dtype {
            case .i32: try writer.add(t.name, shape: t.shape, int32s: fixture.int32s(t.name))
            case .i64: try writer.add(t.name, shape: t.shape, int64s: fixture.int64s(t.name))
            default: try writer.add(t.name, shape: t.shape, floats: fixture.floats(t.name), as: t.dtype)
            }
        }
        #expect(try writer.encoded() == Data(contentsOf: fixtureURL("safetensors_dtypes.safetensors")))
    }

    @Test("tensors larger than one encoding chunk, and writing over an existing file, leave no temporary files")
    func largeAndAtomic() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("big.safetensors")
        var rng = TestRNG(seed: 3)
        let values = rng.array(150_001)
        var writer = SafetensorsWriter()
        try writer.add("a", shape: [150_001], floats: values, as: .bf16)
        try writer.add("b", shape: [150_001], floats: values)
        try SafetensorsWriter().write(to: url)  // an empty file first, then replaced
        #expect(try SafetensorsFile.read(url: url).tensors.isEmpty)
        try writer.write(to: url)
        let file = try SafetensorsFile.read(url: url)
        #expect(try file.floats("b") == values)
        #expect(try file.floats("a") == values.map { HalfFloat.float(bf16Bits: HalfFloat.bf16Bits($0)) })
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["big.safetensors"])
    }

    @Test("the writer rejects inconsistent tensors")
    func writerRejects() throws {
        var writer = SafetensorsWriter()
        try writer.add("a", shape: [2], floats: [1, 2])
        #expect(throws: SafetensorsError.invalidTensor(tensor: "a", reason: "added twice")) {
            try writer.add("a", shape: [2], floats: [1, 2])
        }
        #expect(throws: SafetensorsError.invalidTensor(tensor: "b", reason: "shape [2, 2] needs 4 values but 3 were given")) {
            try writer.add("b", shape: [2, 2], floats: [1, 2, 3])
        }
        #expect(throws: SafetensorsError.self) { try writer.add("c", shape: [-1], floats: []) }
        #expect(throws: SafetensorsError.self) { try writer.add("d", shape: [Int.max, 2], floats: []) }
        #expect(throws: SafetensorsError.self) { try writer.add("e", shape: [1], floats: [1], as: .i32) }
        #expect(throws: SafetensorsError.self) { try writer.add("__metadata__", shape: [1], floats: [1]) }
        #expect(throws: SafetensorsError.self) { try writer.write(to: URL(fileURLWithPath: "/nonexistent-folder/x.safetensors")) }
    }

    // MARK: Files written by Python

    @Test("a file written by Python's safetensors loads with the values the script recorded")
    func pythonFixture() throws {
        let url = fixtureURL("safetensors_dtypes.safetensors")
        let file = try SafetensorsFile.read(url: url)
        let expected = try ExpectedFile.load("safetensors_dtypes.json")
        #expect(file.metadata == expected.metadata)
        #expect(Set(file.tensorNames) == Set(expected.tensors.keys))
        for (name, e) in expected.tensors {
            let t = try file.tensor(name)
            #expect(t.dtype.rawValue == e.dtype, "\(name)")
            #expect(t.shape == e.shape, "\(name)")
            #expect(try file.floats(name).map(\.bitPattern) == e.float32_bits, "\(name)")
            if let bits = e.bits {
                let raw = [UInt8](try file.rawBytes(name))
                #expect(stride(from: 0, to: raw.count, by: 2).map { UInt16(raw[$0]) | UInt16(raw[$0 + 1]) << 8 } == bits, "\(name)")
            }
            if let values = e.values {
                #expect(try file.int64s(name).map(String.init) == values, "\(name)")
            }
        }
        #expect(try file.int32s("i32") == [.min, -1, 0, .max])
    }

    @Test("a sharded checkpoint written by Python loads through its index")
    func shardedFixture() throws {
        let checkpoint = try SafetensorsCheckpoint.open(directory: fixtureURL("safetensors_sharded"))
        let expected = try ExpectedFile.load("safetensors_sharded.json")
        #expect(checkpoint.shards.count == 2)
        #expect(Set(checkpoint.tensorNames) == Set(expected.tensors.keys))
        #expect(checkpoint.tensorNames.count == expected.tensors.count)
        for (name, e) in expected.tensors {
            #expect(try checkpoint.shape(name) == e.shape, "\(name)")
            #expect(try checkpoint.tensor(name).dtype.rawValue == e.dtype, "\(name)")
            #expect(try checkpoint.floats(name).map(\.bitPattern) == e.float32_bits, "\(name)")
        }
        #expect(throws: SafetensorsError.tensorNotFound(path: fixtureURL("safetensors_sharded").path, tensor: "nope")) {
            try checkpoint.floats("nope")
        }
    }

    @Test("a folder with a single model.safetensors opens as a checkpoint")
    func singleFileCheckpoint() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        try writer.add("wte.weight", shape: [2, 2], floats: [1, 2, 3, 4])
        try writer.write(to: folder.appendingPathComponent("model.safetensors"))
        let checkpoint = try SafetensorsCheckpoint.open(directory: folder)
        #expect(checkpoint.tensorNames == ["wte.weight"])
        #expect(try checkpoint.floats("wte.weight") == [1, 2, 3, 4])
        #expect(try checkpoint.shape("wte.weight") == [2, 2])
    }

    // MARK: Lenient where the reference is lenient

    @Test("entries in any order, zero-size tensors, extra entry fields and null metadata are accepted, as by the reference")
    func referenceLeniency() throws {
        let text = header("\"__metadata__\":null",
                          entry("b", "F32", [1], 4, 8), entry("z", "I64", [0], 8, 8), entry("a", "F32", [1], 0, 4),
                          "\"c\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[8,10],\"extra\":[1,{\"x\":2}]}")
        let data: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 7, 9]
        let file = try SafetensorsFile(bytes: Data(fileBytes(text + "  \n", data: data)), path: "lenient.safetensors")
        #expect(file.tensorNames == ["a", "b", "z", "c"])
        #expect(file.metadata.isEmpty)
        #expect(try file.floats("a") == [1] && file.floats("b") == [2] && file.int64s("z") == [])
        #expect(try [UInt8](file.rawBytes("c")) == [7, 9])
        #expect(throws: SafetensorsError.unsupportedConversion(path: "lenient.safetensors", tensor: "c", dtype: "U8", requested: "Float")) {
            try file.floats("c")
        }
        #expect(throws: SafetensorsError.unsupportedConversion(path: "lenient.safetensors", tensor: "a", dtype: "F32", requested: "Int32")) {
            try file.int32s("a")
        }
        #expect(throws: SafetensorsError.tensorNotFound(path: "lenient.safetensors", tensor: "q")) { try file.floats("q") }
        #expect(try SafetensorsFile(bytes: Data(fileBytes("{}")), path: "empty").tensors.isEmpty)
    }

    // MARK: Malformed files, one per rule

    static let malformed: [MalformedFile] = [
        MalformedFile(rule: "too short", bytes: [1, 2, 3, 4, 5],
                      error: { .fileTooShort(path: $0, size: 5) }, phrase: "file is 5 bytes, too short"),
        MalformedFile(rule: "empty file", bytes: [],
                      error: { .fileTooShort(path: $0, size: 0) }, phrase: "file is 0 bytes"),
        MalformedFile(rule: "header length too large", bytes: fileBytes("{}", length: 100_000_001),
                      error: { .headerTooLarge(path: $0, headerLength: 100_000_001) }, phrase: "exceeds the limit of 100000000"),
        MalformedFile(rule: "header length beyond 64-bit Int", bytes: fileBytes("{}", length: .max),
                      error: { .headerTooLarge(path: $0, headerLength: .max) }, phrase: "header length 18446744073709551615"),
        MalformedFile(rule: "header beyond file", bytes: fileBytes("{}", length: 100),
                      error: { .headerBeyondFile(path: $0, headerLength: 100, fileSize: 10) }, phrase: "ends at byte 108 but the file has 10"),
        MalformedFile(rule: "header not UTF-8", bytes: fileBytes([0x7B, 0xFF, 0xFE, 0x7D]),
                      error: { .headerNotUTF8(path: $0) }, phrase: "not valid UTF-8"),
        MalformedFile(rule: "header not starting with {", bytes: fileBytes(" {}     "),
                      error: { .headerNotObject(path: $0) }, phrase: "does not start with '{'"),
        MalformedFile(rule: "header not JSON", bytes: fileBytes("{\"a\":}"),
                      error: { .invalidJSON(path: $0, reason: "unexpected character at byte 5") }, phrase: "not valid JSON"),
        MalformedFile(rule: "duplicate key",
                      bytes: fileBytes(header(entry("a", "F32", [1], 0, 4), entry("a", "F32", [1], 0, 4)), data: [0, 0, 0, 0]),
                      error: { .duplicateKey(path: $0, key: "a") }, phrase: "duplicate key \"a\""),
        MalformedFile(rule: "unknown dtype", bytes: fileBytes(header(entry("w", "F33", [1], 0, 4)), data: [0, 0, 0, 0]),
                      error: { .unknownDtype(path: $0, tensor: "w", dtype: "F33") }, phrase: "tensor \"w\": unknown dtype \"F33\""),
        MalformedFile(rule: "negative shape", bytes: fileBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,0]}}"),
                      error: { .invalidShape(path: $0, tensor: "w", reason: "-1 is not a non-negative integer") }, phrase: "invalid shape"),
        MalformedFile(rule: "missing data_offsets", bytes: fileBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[0]}}"),
                      error: { .invalidEntry(path: $0, tensor: "w", reason: "missing \"data_offsets\"") }, phrase: "missing \"data_offsets\""),
        MalformedFile(rule: "begin after end", bytes: fileBytes(header(entry("w", "F32", [1], 8, 4)), data: [0, 0, 0, 0]),
                      error: { .beginAfterEnd(path: $0, tensor: "w", begin: 8, end: 4) }, phrase: "[8, 4) begin after they end"),
        MalformedFile(rule: "gap between tensors",
                      bytes: fileBytes(header(entry("a", "F32", [1], 0, 4), entry("b", "F32", [1], 8, 12)), data: .init(repeating: 0, count: 12)),
                      error: { .notContiguous(path: $0, tensor: "b", begin: 8, previousEnd: 4) }, phrase: "leaving a gap of 4 bytes"),
        MalformedFile(rule: "overlapping tensors",
                      bytes: fileBytes(header(entry("a", "F32", [2], 0, 8), entry("b", "F32", [1], 4, 8)), data: .init(repeating: 0, count: 8)),
                      error: { .notContiguous(path: $0, tensor: "b", begin: 4, previousEnd: 8) }, phrase: "overlapping it by 4 bytes"),
        MalformedFile(rule: "trailing bytes", bytes: fileBytes(header(entry("a", "F32", [1], 0, 4)), data: .init(repeating: 0, count: 8)),
                      error: { .dataSizeMismatch(path: $0, tensorsEnd: 4, dataSize: 8) }, phrase: "(4 trailing bytes)"),
        MalformedFile(rule: "truncated data", bytes: fileBytes(header(entry("a", "F32", [2], 0, 8)), data: [0, 0, 0, 0]),
                      error: { .dataSizeMismatch(path: $0, tensorsEnd: 8, dataSize: 4) }, phrase: "(truncated by 4 bytes)"),
        MalformedFile(rule: "size mismatch", bytes: fileBytes(header(entry("wte.weight", "F32", [2, 2], 0, 12)), data: .init(repeating: 0, count: 12)),
                      error: { .sizeMismatch(path: $0, tensor: "wte.weight", begin: 0, end: 12, shape: [2, 2], dtype: "F32", needed: 16) },
                      phrase: "model.safetensors: tensor \"wte.weight\": data_offsets [0, 12) hold 12 bytes but shape [2, 2] of F32 needs 16"),
        MalformedFile(rule: "overflow in shape product", bytes: fileBytes(header(entry("w", "F32", [1 << 62, 4], 0, 0))),
                      error: { .sizeOverflow(path: $0, tensor: "w", shape: [1 << 62, 4], dtype: "F32") }, phrase: "overflows"),
        MalformedFile(rule: "metadata not strings", bytes: fileBytes("{\"__metadata__\":{\"k\":1}}"),
                      error: { .invalidMetadata(path: $0, reason: "value of \"k\" is not a string") }, phrase: "__metadata__ value of \"k\" is not a string"),
    ]

    @Test("a malformed file is rejected with its own error, naming the file", arguments: malformed)
    func rejectsMalformed(_ bad: MalformedFile) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.safetensors")
        try Data(bad.bytes).write(to: url)
        let error = #expect(throws: SafetensorsError.self) { try SafetensorsFile.read(url: url) }
        #expect(error == bad.error(url.path))
        let message = error?.description ?? ""
        #expect(message.hasPrefix(url.path + ": "), "\(message)")
        #expect(message.contains(bad.phrase), "\(message)")
    }

    @Test("every truncation and random corruption of a valid file throws or loads, never crashes")
    func corruptionNeverCrashes() throws {
        let good = [UInt8](try Data(contentsOf: fixtureURL("safetensors_dtypes.safetensors")))
        for n in 0..<good.count {
            #expect(throws: SafetensorsError.self) { try SafetensorsFile(bytes: Data(good[0..<n]), path: "cut") }
        }
        var rng = TestRNG(seed: 11)
        for _ in 0..<3000 {
            var bytes = good
            for _ in 0..<(1 + rng.int(3)) { bytes[rng.int(min(bytes.count, 8 + 480))] = UInt8(truncatingIfNeeded: rng.next()) }
            do {
                let file = try SafetensorsFile(bytes: Data(bytes), path: "fuzz")
                for name in file.tensorNames { _ = try? file.floats(name) }
            } catch {
                #expect(error is SafetensorsError)
            }
        }
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: SafetensorsError.invalidJSON(path: "deep", reason: "nesting deeper than 128 at byte 132")) {
            try SafetensorsFile(bytes: Data(fileBytes("{\"a\":" + deep)), path: "deep")
        }
    }

    // MARK: Malformed checkpoints

    /// A copy of the sharded fixture in a temporary folder, with its index replaced by `index` if given.
    private func shardedCopy(index: String? = nil) throws -> URL {
        let folder = try temporaryFolder().appendingPathComponent("ckpt")
        try FileManager.default.copyItem(at: fixtureURL("safetensors_sharded"), to: folder)
        if let index {
            try Data(index.utf8).write(to: folder.appendingPathComponent(SafetensorsCheckpoint.indexName))
        }
        return folder
    }

    private static let shard1 = "model-00001-of-00002.safetensors", shard2 = "model-00002-of-00002.safetensors"

    private func weightMap(_ pairs: [(String, String)]) -> String {
        "{\"metadata\": {\"total_size\": 64}, \"weight_map\": {" + pairs.map { "\"\($0.0)\": \"\($0.1)\"" }.joined(separator: ", ") + "}}"
    }

    private var fixtureMap: [(String, String)] {
        [("lm_head.weight", Self.shard2), ("model.embed_tokens.weight", Self.shard1),
         ("model.layers.0.mlp.weight", Self.shard1), ("model.layers.1.mlp.weight", Self.shard2)]
    }

    @Test("index.json pointing to a tensor its shard lacks is rejected, naming the index")
    func indexMissingTensor() throws {
        let folder = try shardedCopy(index: weightMap(fixtureMap + [("model.ghost.weight", Self.shard1)]))
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let index = folder.appendingPathComponent(SafetensorsCheckpoint.indexName).path
        let error = #expect(throws: SafetensorsError.self) { try SafetensorsCheckpoint.open(directory: folder) }
        #expect(error == .tensorNotInShard(path: index, tensor: "model.ghost.weight", shard: Self.shard1))
        #expect(error?.description == "\(index): tensor \"model.ghost.weight\" is mapped to \"\(Self.shard1)\" but that shard does not hold it")
    }

    @Test("other broken checkpoints: missing shard, wrong shard, unlisted tensor, duplicate key, bad shard name, no files")
    func brokenCheckpoints() throws {
        let cases: [(String?, @Sendable (String) -> SafetensorsError)] = [
            (weightMap(fixtureMap + [("x", "model-00003-of-00003.safetensors")]),
             { .missingShard(path: $0, shard: "model-00003-of-00003.safetensors") }),
            (weightMap([("lm_head.weight", Self.shard1)] + fixtureMap.dropFirst()),
             { .tensorNotInShard(path: $0, tensor: "lm_head.weight", shard: Self.shard1) }),
            (weightMap(Array(fixtureMap.dropFirst())),
             { .unlistedTensor(path: $0, tensor: "lm_head.weight", shard: Self.shard2) }),
            (weightMap(fixtureMap + [("lm_head.weight", Self.shard2)]),
             { .duplicateKey(path: $0, key: "lm_head.weight") }),
            (weightMap(fixtureMap + [("x", "../model.safetensors")]),
             { .invalidIndex(path: $0, reason: "shard \"../model.safetensors\" is not a file name in the checkpoint folder") }),
            ("{\"metadata\": {}}", { .invalidIndex(path: $0, reason: "no \"weight_map\" object") }),
            ("{\"weight_map\": {", { .invalidIndex(path: $0, reason: "not valid JSON: expected a key at byte 16") }),
        ]
        for (index, expected) in cases {
            let folder = try shardedCopy(index: index)
            defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
            let indexPath = folder.appendingPathComponent(SafetensorsCheckpoint.indexName).path
            #expect(throws: expected(indexPath)) { try SafetensorsCheckpoint.open(directory: folder) }
        }

        // The same tensor in two shards.
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var a = SafetensorsWriter(), b = SafetensorsWriter()
        try a.add("x", shape: [1], floats: [1])
        try a.add("y", shape: [1], floats: [2])
        try b.add("y", shape: [1], floats: [3])
        try a.write(to: folder.appendingPathComponent("a.safetensors"))
        try b.write(to: folder.appendingPathComponent("b.safetensors"))
        let indexURL = folder.appendingPathComponent(SafetensorsCheckpoint.indexName)
        try Data(weightMap([("x", "a.safetensors"), ("y", "b.safetensors")]).utf8).write(to: indexURL)
        #expect(throws: SafetensorsError.tensorInTwoShards(path: indexURL.path, tensor: "y", shard: "a.safetensors", otherShard: "b.safetensors")) {
            try SafetensorsCheckpoint.open(directory: folder)
        }
        try FileManager.default.removeItem(at: indexURL)
        try FileManager.default.removeItem(at: folder.appendingPathComponent("a.safetensors"))
        #expect(throws: SafetensorsError.noCheckpoint(directory: folder.path)) { try SafetensorsCheckpoint.open(directory: folder) }
    }
}
