// The picture `pararl world show` makes: input | target side by side, enlarged, with the task's id,
// instruction and reasoning printed below in a built-in 5×7 bitmap font (so no font library is needed).
import ParaRLMedia

public enum TaskPanel {
    static let paper = RGB(255, 255, 255), ink = RGB(30, 30, 30), faint = RGB(120, 120, 120), frame = RGB(200, 200, 200)

    /// The panel image. Generation tasks (no input) show an empty frame on the left.
    public static func render(title: String, instruction: String, reasoning: String, input: RGBImage?, target: RGBImage,
                              scale: Int = 8, textScale: Int = 2) -> RGBImage {
        let pad = 16, side = target.width * scale
        let width = 3 * pad + 2 * side
        let advance = 6 * textScale, lineHeight = 9 * textScale
        let columns = max(10, (width - 2 * pad) / advance)
        // The instruction, a blank line, the reasoning.
        let lines = wrap("instruction: " + instruction, columns: columns) + [""] + wrap("reasoning: " + reasoning, columns: columns)
        let top = pad + lineHeight + pad / 2 + lineHeight  // title line, then image labels
        let height = top + side + pad + lines.count * lineHeight + pad
        var image = RGBImage(width: width, height: height, fill: paper)
        draw(title, into: &image, x: pad, y: pad, scale: textScale, colour: ink)
        let labelY = pad + lineHeight + pad / 2
        draw("input", into: &image, x: pad, y: labelY, scale: textScale, colour: faint)
        draw("target", into: &image, x: 2 * pad + side, y: labelY, scale: textScale, colour: faint)
        let imageY = labelY + lineHeight
        image.fill(x: pad - 1, y: imageY - 1, width: side + 2, height: side + 2, with: frame)
        image.fill(x: 2 * pad + side - 1, y: imageY - 1, width: side + 2, height: side + 2, with: frame)
        if let input {
            image.draw(input, x: pad, y: imageY, scale: side / input.width)
        } else {
            image.fill(x: pad, y: imageY, width: side, height: side, with: paper)
            draw("no input image", into: &image, x: pad + advance, y: imageY + side / 2 - lineHeight / 2, scale: textScale, colour: faint)
        }
        image.draw(target, x: 2 * pad + side, y: imageY, scale: scale)
        var y = imageY + side + pad
        for text in lines {
            draw(text, into: &image, x: pad, y: y, scale: textScale, colour: ink)
            y += lineHeight
        }
        return image
    }

    /// Greedy word wrap at `columns` characters (long words are cut).
    static func wrap(_ text: String, columns: Int) -> [String] {
        var lines: [String] = [], current = ""
        for word in text.split(separator: " ") {
            var w = String(word)
            while w.count > columns {
                if !current.isEmpty { lines.append(current); current = "" }
                lines.append(String(w.prefix(columns)))
                w = String(w.dropFirst(columns))
            }
            if current.isEmpty {
                current = w
            } else if current.count + 1 + w.count <= columns {
                current += " " + w
            } else {
                lines.append(current)
                current = w
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    /// Draws `text` (shown in capitals) with its top-left corner at (x, y).
    static func draw(_ text: String, into image: inout RGBImage, x: Int, y: Int, scale: Int, colour: RGB) {
        var cx = x
        for ch in text.uppercased() {
            let rows = font[ch] ?? (ch == " " ? [0, 0, 0, 0, 0, 0, 0] : unknownGlyph)
            for (r, bits) in rows.enumerated() {
                for c in 0..<5 where bits & (1 << (4 - c)) != 0 {
                    image.fill(x: cx + c * scale, y: y + r * scale, width: scale, height: scale, with: colour)
                }
            }
            cx += 6 * scale
        }
    }

    static let unknownGlyph: [UInt8] = [0b11111, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11111]

    /// A classic 5×7 font: seven rows of five bits per glyph, most significant bit on the left.
    static let font: [Character: [UInt8]] = [
        "A": [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
        "B": [0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110],
        "C": [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110],
        "D": [0b11110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11110],
        "E": [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111],
        "F": [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000],
        "G": [0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111],
        "H": [0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
        "I": [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
        "J": [0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100],
        "K": [0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001],
        "L": [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111],
        "M": [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001],
        "N": [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001],
        "O": [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
        "P": [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000],
        "Q": [0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101],
        "R": [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001],
        "S": [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110],
        "T": [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100],
        "U": [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
        "V": [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100],
        "W": [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010],
        "X": [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001],
        "Y": [0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100],
        "Z": [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111],
        "0": [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110],
        "1": [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
        "2": [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
        "3": [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],
        "4": [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],
        "5": [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],
        "6": [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],
        "7": [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],
        "8": [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],
        "9": [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],
        ".": [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b01100],
        ",": [0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b00100, 0b01000],
        ":": [0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b01100, 0b00000],
        ";": [0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b00100, 0b01000],
        "'": [0b00100, 0b00100, 0b01000, 0b00000, 0b00000, 0b00000, 0b00000],
        "-": [0b00000, 0b00000, 0b00000, 0b11111, 0b00000, 0b00000, 0b00000],
        "_": [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b11111],
        "?": [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b00000, 0b00100],
        "!": [0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00000, 0b00100],
        "/": [0b00001, 0b00010, 0b00010, 0b00100, 0b01000, 0b01000, 0b10000],
        "(": [0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010],
        ")": [0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000],
        "\"": [0b01010, 0b01010, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000],
        "|": [0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100],
    ]
}
