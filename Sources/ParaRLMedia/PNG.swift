// RGB images and PNG I/O through libpng's simplified API (png_image_*), which reports errors through
// `png_image.message` instead of longjmp, so corrupt or truncated files become typed Swift errors.
import CPNG
import Foundation
import ParaRLCore

/// An 8-bit RGB image, rows top to bottom, pixels interleaved `r g b`.
public struct RGBImage: Equatable, Hashable, Sendable {
    /// Largest side and pixel count accepted from files and options (16 Mi pixels: 48 MiB of RGB).
    public static let maxSide = 16_384, maxPixels = 1 << 24
    public let width: Int
    public let height: Int
    /// `width × height × 3` bytes.
    public var pixels: [UInt8]

    /// An image filled with one colour.
    public init(width: Int, height: Int, fill: RGB = RGB(0, 0, 0)) {
        precondition(width > 0 && height > 0, "image size must be positive, got \(width)×\(height)")
        self.width = width
        self.height = height
        var p = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            p[3 * i] = fill.r
            p[3 * i + 1] = fill.g
            p[3 * i + 2] = fill.b
        }
        pixels = p
    }

    /// An image from its interleaved bytes; `pixels.count` must be `width × height × 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 3,
                     "RGB image \(width)×\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public subscript(x: Int, y: Int) -> RGB {
        get {
            let i = 3 * (y * width + x)
            return RGB(pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            let i = 3 * (y * width + x)
            pixels[i] = newValue.r
            pixels[i + 1] = newValue.g
            pixels[i + 2] = newValue.b
        }
    }

    /// Fills the rectangle `[x, x+w) × [y, y+h)`, clipped to the image.
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, with colour: RGB) {
        for yy in max(0, y)..<min(height, y + h) {
            for xx in max(0, x)..<min(width, x + w) { self[xx, yy] = colour }
        }
    }

    /// Copies `image` with its top-left corner at (x, y), scaled up `scale` times by pixel repetition.
    public mutating func draw(_ image: RGBImage, x: Int, y: Int, scale: Int = 1) {
        for sy in 0..<image.height {
            for sx in 0..<image.width {
                fill(x: x + sx * scale, y: y + sy * scale, width: scale, height: scale, with: image[sx, sy])
            }
        }
    }
}

/// One 8-bit RGB colour.
public struct RGB: Equatable, Hashable, Sendable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// Squared Euclidean distance in RGB.
    public func distanceSquared(to o: RGB) -> Int {
        let dr = Int(r) - Int(o.r), dg = Int(g) - Int(o.g), db = Int(b) - Int(o.b)
        return dr * dr + dg * dg + db * db
    }
}

/// A PNG file could not be read or written.
public enum PNGError: Error, Equatable, CustomStringConvertible {
    case cannotRead(path: String, reason: String)
    case invalid(path: String, reason: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotRead(path, reason): return "\(path): cannot read the file: \(reason)"
        case let .invalid(path, reason): return "\(path): not a readable PNG image: \(reason)"
        case let .cannotWrite(path, reason): return "\(path): cannot write the PNG: \(reason)"
        }
    }
}

/// PNG encoding and decoding with fixed settings (libpng's defaults, no ancillary time chunks), so the same
/// image always gives the same bytes.
public enum PNGCodec {
    /// Decodes an 8-bit (or 16-bit) gray, gray+alpha, RGB, RGBA or palette PNG to RGB. Alpha is composited
    /// onto black. `path` only names the source in errors.
    public static func decode(_ data: Data, path: String = "(memory)") throws -> RGBImage {
        guard !data.isEmpty else { throw PNGError.invalid(path: path, reason: "the file is empty") }
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        let begun = data.withUnsafeBytes { raw -> Int32 in
            png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count)
        }
        guard begun != 0 else { throw PNGError.invalid(path: path, reason: message(&image)) }
        defer { png_image_free(&image) }
        let width = Int(image.width), height = Int(image.height)
        guard width > 0, height > 0, width <= RGBImage.maxSide, height <= RGBImage.maxSide, width * height <= RGBImage.maxPixels else {
            throw PNGError.invalid(path: path, reason: "unsupported size \(width)×\(height) (at most \(RGBImage.maxSide) a side and \(RGBImage.maxPixels) pixels)")
        }
        // Deflate expands at most ~1032:1, so a small file cannot hold a large image: refuse before allocating.
        guard width * height * 3 <= data.count * 1_100 + (1 << 16) else {
            throw PNGError.invalid(path: path, reason: "declares \(width)×\(height) pixels, more than \(data.count) bytes can hold")
        }
        image.format = png_uint_32(PNG_FORMAT_RGB)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let finished = pixels.withUnsafeMutableBytes { raw -> Int32 in
            png_image_finish_read(&image, nil, raw.baseAddress, png_int_32(width * 3), nil)
        }
        guard finished != 0 else { throw PNGError.invalid(path: path, reason: message(&image)) }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Reads and decodes the PNG file at `url`.
    public static func read(_ url: URL) throws -> RGBImage {
        let data: Data
        do {
            data = try BoundedFile.read(url, maxBytes: 1 << 28)
        } catch let e as BoundedFileError {
            throw PNGError.cannotRead(path: url.path, reason: e.reason)
        }
        return try decode(data, path: url.path)
    }

    /// Encodes an RGB image as an 8-bit RGB PNG.
    public static func encode(_ rgb: RGBImage, path: String = "(memory)") throws -> Data {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(rgb.width)
        image.height = png_uint_32(rgb.height)
        image.format = png_uint_32(PNG_FORMAT_RGB)
        let stride = png_int_32(rgb.width * 3)
        var size: png_alloc_size_t = 0
        let sized = rgb.pixels.withUnsafeBytes { raw in
            png_image_write_to_memory(&image, nil, &size, 0, raw.baseAddress, stride, nil)
        }
        guard sized != 0, size > 0 else { throw PNGError.cannotWrite(path: path, reason: message(&image)) }
        var out = Data(count: Int(size))
        let written = out.withUnsafeMutableBytes { dst in
            rgb.pixels.withUnsafeBytes { raw in
                png_image_write_to_memory(&image, dst.baseAddress, &size, 0, raw.baseAddress, stride, nil)
            }
        }
        guard written != 0 else { throw PNGError.cannotWrite(path: path, reason: message(&image)) }
        out.count = Int(size)
        return out
    }

    /// Encodes `image` and writes it to `url` atomically.
    public static func write(_ image: RGBImage, to url: URL) throws {
        let data = try encode(image, path: url.path)
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw PNGError.cannotWrite(path: url.path, reason: error.localizedDescription)
        }
    }

    private static func message(_ image: inout png_image) -> String {
        let text = withUnsafeBytes(of: &image.message) { raw -> String in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        png_image_free(&image)
        return text.isEmpty ? "libpng reported an error" : text
    }
}
