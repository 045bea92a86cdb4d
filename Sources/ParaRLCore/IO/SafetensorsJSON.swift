// A small strict JSON reader and writer for safetensors headers and index files: rejects duplicate keys
// (JSONSerialization merges them silently), keeps integers exact, limits nesting as serde_json does (128).
import Foundation

/// A parsed JSON value. Objects keep their keys in file order; numbers keep their text.
enum SafetensorsJSON: Equatable {
    case object([Member])
    case array([SafetensorsJSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    struct Member: Equatable {
        let key: String
        let value: SafetensorsJSON
    }

    /// Why a document was rejected: bad syntax (with the byte offset), or a repeated key.
    enum Failure: Error, Equatable {
        case syntax(String)
        case duplicateKey(String)
    }

    /// The value as a non-negative integer that fits in `Int`, or nil.
    var nonNegativeInt: Int? {
        guard case .number(let text) = self, !text.isEmpty else { return nil }
        var value = 0
        for c in text.utf8 {
            guard c >= 0x30, c <= 0x39 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(Int(c - 0x30))
            if o1 || o2 { return nil }
            value = next
        }
        return value
    }

    /// Parses a whole document: one value, then only whitespace.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> SafetensorsJSON {
        var parser = Parser(bytes: bytes)
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        if parser.i != bytes.count { throw parser.failure("trailing characters") }
        return value
    }

    static func parse(_ data: Data) throws -> SafetensorsJSON {
        try data.withUnsafeBytes { try parse($0) }
    }

    /// Compact JSON text as serde_json writes it (`"`, `\` and control characters escaped; the rest raw UTF-8).
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        var i = 0
        static let maxDepth = 128

        func failure(_ what: String) -> Failure { .syntax("\(what) at byte \(i)") }

        mutating func skipWhitespace() {
            while i < bytes.count {
                switch bytes[i] {
                case 0x20, 0x09, 0x0A, 0x0D: i += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws -> SafetensorsJSON {
            guard depth < Self.maxDepth else { throw failure("nesting deeper than \(Self.maxDepth)") }
            skipWhitespace()
            guard i < bytes.count else { throw failure("unexpected end") }
            switch bytes[i] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw failure("unexpected character")
            }
        }

        mutating func literal(_ word: String) throws {
            for c in word.utf8 {
                guard i < bytes.count, bytes[i] == c else { throw failure("invalid literal") }
                i += 1
            }
        }

        mutating func expect(_ c: UInt8, _ what: String) throws {
            skipWhitespace()
            guard i < bytes.count, bytes[i] == c else { throw failure("expected \(what)") }
            i += 1
        }

        /// True (and consumes it) if the next non-space byte is `c`.
        mutating func take(_ c: UInt8) -> Bool {
            skipWhitespace()
            if i < bytes.count, bytes[i] == c { i += 1; return true }
            return false
        }

        mutating func object(depth: Int) throws -> SafetensorsJSON {
            i += 1  // {
            var members: [Member] = []
            var seen = Set<String>()
            if take(UInt8(ascii: "}")) { return .object(members) }
            repeat {
                skipWhitespace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw failure("expected a key") }
                let key = try string()
                guard seen.insert(key).inserted else { throw Failure.duplicateKey(key) }
                try expect(UInt8(ascii: ":"), "':'")
                members.append(Member(key: key, value: try value(depth: depth + 1)))
            } while take(UInt8(ascii: ","))
            try expect(UInt8(ascii: "}"), "',' or '}'")
            return .object(members)
        }

        mutating func array(depth: Int) throws -> SafetensorsJSON {
            i += 1  // [
            var elements: [SafetensorsJSON] = []
            if take(UInt8(ascii: "]")) { return .array(elements) }
            repeat {
                elements.append(try value(depth: depth + 1))
            } while take(UInt8(ascii: ","))
            try expect(UInt8(ascii: "]"), "',' or ']'")
            return .array(elements)
        }

        /// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, returned as text.
        mutating func number() throws -> String {
            let start = i
            func digits(_ p: inout Parser) -> Int {
                let s = p.i
                while p.i < p.bytes.count, p.bytes[p.i] >= 0x30, p.bytes[p.i] <= 0x39 { p.i += 1 }
                return p.i - s
            }
            if bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count else { throw failure("invalid number") }
            if bytes[i] == UInt8(ascii: "0") { i += 1 } else if digits(&self) == 0 { throw failure("invalid number") }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                if digits(&self) == 0 { throw failure("invalid number") }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                if digits(&self) == 0 { throw failure("invalid number") }
            }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        }

        /// A string starting at the opening quote; the bytes are already known to be valid UTF-8.
        mutating func string() throws -> String {
            i += 1  // "
            var out: [UInt8] = []
            while true {
                guard i < bytes.count else { throw failure("unterminated string") }
                let c = bytes[i]
                i += 1
                switch c {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard i < bytes.count else { throw failure("unterminated string") }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar) {
                            guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u")
                            else { throw failure("lone surrogate in \\u escape") }
                            i += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw failure("lone surrogate in \\u escape") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00..<0xE000).contains(scalar) {
                            throw failure("lone surrogate in \\u escape")
                        }
                        guard let u = Unicode.Scalar(scalar) else { throw failure("invalid \\u escape") }
                        UTF8.encode(u) { out.append($0) }
                    default:
                        throw failure("invalid escape")
                    }
                case 0..<0x20:
                    throw failure("control character in string")
                default:
                    out.append(c)
                }
            }
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= bytes.count else { throw failure("invalid \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[i]
                let d: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
                default: throw failure("invalid \\u escape")
                }
                v = v << 4 | UInt32(d)
                i += 1
            }
            return v
        }
    }
}
