// Text cleaning and splitting of the CLIP tokenizer, as open_clip `_clean_lower` and the split regex.
// `ftfy.fix_text` is reproduced for what CLIP captions meet: HTML unescaping (ftfy's own pass when the text has
// no '<'), latin ligatures, fullwidth ASCII and the ideographic space, curly quotes, line breaks, the control
// characters ftfy removes, and NFC. Not reproduced (documented limitation): ftfy's mojibake repair.
import Foundation

enum CLIPTextCleaning {
    /// `whitespace_clean(basic_clean(text)).lower()`.
    static func clean(_ text: String) -> String {
        var s = fixText(text)
        s = htmlUnescape(htmlUnescape(s))
        let words = s.unicodeScalars.split(whereSeparator: isPythonSpace).map { String(String.UnicodeScalarView($0)) }
        return words.joined(separator: " ").lowercased()
    }

    /// Python `str.isspace`: White_Space plus the information separators U+001C–U+001F.
    static func isPythonSpace(_ u: Unicode.Scalar) -> Bool {
        u.properties.isWhitespace || (0x1C...0x1F).contains(u.value)
    }

    static func isLetter(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    private static let specials = ["<start_of_text>", "<end_of_text>"].map { Array($0.unicodeScalars) }
    private static let contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { Array($0.unicodeScalars) }

    /// `regex.findall` of the split pattern, alternatives tried in order at each position.
    static func split(_ text: String) -> [String] {
        let u = Array(text.unicodeScalars)
        var pieces: [String] = []
        var i = 0
        func startsWith(_ p: [Unicode.Scalar], at i: Int) -> Bool {
            guard i + p.count <= u.count else { return false }
            for k in 0..<p.count where u[i + k].properties.lowercaseMapping != p[k].properties.lowercaseMapping { return false }
            return true
        }
        func emit(_ range: Range<Int>) {
            var v = String.UnicodeScalarView()
            v.append(contentsOf: u[range])
            pieces.append(String(v))
        }
        outer: while i < u.count {
            for p in specials + contractions where startsWith(p, at: i) {
                emit(i..<(i + p.count)); i += p.count
                continue outer
            }
            let c = u[i]
            if isLetter(c) {
                var j = i + 1
                while j < u.count && isLetter(u[j]) { j += 1 }
                emit(i..<j); i = j
            } else if isNumber(c) {
                emit(i..<(i + 1)); i += 1
            } else if !c.properties.isWhitespace {
                var j = i + 1
                while j < u.count && !u[j].properties.isWhitespace && !isLetter(u[j]) && !isNumber(u[j]) { j += 1 }
                emit(i..<j); i = j
            } else {
                i += 1
            }
        }
        return pieces
    }

    private static let ligatures: [UInt32: String] = [
        0x0132: "IJ", 0x0133: "ij", 0x0149: "ʼn", 0x01F1: "DZ", 0x01F2: "Dz", 0x01F3: "dz", 0x01C4: "DŽ", 0x01C5: "Dž",
        0x01C6: "dž", 0x01C7: "LJ", 0x01C8: "Lj", 0x01C9: "lj", 0x01CA: "NJ", 0x01CB: "Nj", 0x01CC: "nj",
        0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "ſt", 0xFB06: "st",
    ]

    /// The subset of `ftfy.fix_text` described above.
    static func fixText(_ text: String) -> String {
        var s = text
        if !s.contains("<") { s = htmlUnescape(s) }
        var out = String.UnicodeScalarView()
        var scalars = Array(s.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let u = scalars[i], v = u.value
            i += 1
            if v == 0x0D {  // fix_line_breaks: \r\n and \r → \n
                if i < scalars.count && scalars[i].value == 0x0A { i += 1 }
                out.append("\n"); continue
            }
            if v == 0x2028 || v == 0x2029 || v == 0x85 { out.append("\n"); continue }
            if let lig = ligatures[v] { out.append(contentsOf: lig.unicodeScalars); continue }
            if (0xFF01...0xFF5E).contains(v), let ascii = Unicode.Scalar(v - 0xFEE0) { out.append(ascii); continue }
            if v == 0x3000 { out.append(" "); continue }
            if [0x02BC, 0x2018, 0x2019, 0x201A, 0x201B].contains(v) { out.append("'"); continue }
            if [0x201C, 0x201D, 0x201E, 0x201F].contains(v) { out.append("\""); continue }
            if (0x00...0x08).contains(v) || v == 0x0B || (0x0E...0x1F).contains(v) || v == 0x7F
                || (0x206A...0x206F).contains(v) || v == 0xFEFF || (0xFFF9...0xFFFC).contains(v) { continue }
            out.append(u)
        }
        scalars = []
        return String(out).precomposedStringWithCanonicalMapping
    }

    private static let entities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}", "copy": "©", "reg": "®",
        "hellip": "…", "mdash": "—", "ndash": "–", "eacute": "é", "deg": "°",
    ]
    /// Named entities Python also accepts without the semicolon.
    private static let bareEntities: Set<String> = ["amp", "lt", "gt", "quot", "nbsp", "copy", "reg", "eacute", "deg"]

    /// Python `html.unescape` for numeric references and the named entities above.
    static func htmlUnescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        let u = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < u.count {
            guard u[i] == "&", i + 1 < u.count else { out.append(u[i]); i += 1; continue }
            var j = i + 1
            if u[j] == "#" {
                j += 1
                var hex = false
                if j < u.count && (u[j] == "x" || u[j] == "X") { hex = true; j += 1 }
                let start = j
                while j < u.count && (hex ? u[j].properties.isASCIIHexDigit : ("0"..."9").contains(u[j])) { j += 1 }
                if j > start, let value = UInt32(String(String.UnicodeScalarView(u[start..<j])), radix: hex ? 16 : 10) {
                    if j < u.count && u[j] == ";" { j += 1 }
                    let invalid = value == 0 || (0xD800...0xDFFF).contains(value) || value > 0x10FFFF
                    out.append(invalid ? "\u{FFFD}" : (Unicode.Scalar(value) ?? "\u{FFFD}"))
                    i = j
                    continue
                }
            } else {
                let start = j
                while j < u.count && j - start < 32 && (u[j].properties.isAlphabetic || ("0"..."9").contains(u[j])) { j += 1 }
                let name = String(String.UnicodeScalarView(u[start..<j]))
                if let value = entities[name], j < u.count && u[j] == ";" {
                    out.append(contentsOf: value.unicodeScalars); i = j + 1; continue
                }
                if let value = entities[name], bareEntities.contains(name) {
                    out.append(contentsOf: value.unicodeScalars); i = j; continue
                }
            }
            out.append(u[i]); i += 1
        }
        return String(out)
    }
}
