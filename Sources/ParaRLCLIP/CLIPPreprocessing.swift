// CLIP image preprocessing as HF `CLIPImageProcessor` on PIL images: resize the shortest side to the model's
// image size with Pillow's bicubic filter (a = -0.5, support scaled when downscaling, i.e. antialiased),
// centre crop, scale to [0, 1], normalise with CLIP's mean and std. The resampler follows Pillow's
// `ImagingResample` for 8-bit images (fixed-point coefficients, horizontal pass then vertical, uint8 between),
// so it reproduces PIL exactly (measured tolerance in CLIPPreprocessingTests, fixture from tools/).
import Foundation
import ParaRLMedia

/// Pillow's separable resampling of 8-bit RGB images with the bicubic filter.
public enum PILBicubic {
    /// Fractional bits of Pillow's fixed-point coefficients (`PRECISION_BITS = 32 - 8 - 2`).
    static let precisionBits = 22

    /// Pillow's `bicubic_filter` with a = -0.5, support 2.
    static func filter(_ x: Double) -> Double {
        let a = -0.5, x = abs(x)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }

    /// Pillow's `precompute_coeffs` then `normalize_coeffs_8bpc`: per output pixel, the first input index,
    /// the tap count and the fixed-point weights (`ksize` per pixel).
    static func coefficients(inSize: Int, outSize: Int) -> (bounds: [(Int, Int)], weights: [Int32], ksize: Int) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 2 * filterScale
        let ksize = Int(support.rounded(.up)) * 2 + 1
        var bounds: [(Int, Int)] = []
        var weights = [Int32](repeating: 0, count: outSize * ksize)
        var k = [Double](repeating: 0, count: ksize)
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            let ss = 1 / filterScale
            let xmin = max(Int(center - support + 0.5), 0)  // C casts truncate toward zero
            let xmax = min(Int(center + support + 0.5), inSize) - xmin
            var ww = 0.0
            for x in 0..<xmax {
                let w = filter((Double(x + xmin) - center + 0.5) * ss)
                k[x] = w
                ww += w
            }
            for x in 0..<ksize {
                let v = x < xmax && ww != 0 ? k[x] / ww : 0
                let fixed = v * Double(1 << precisionBits)
                weights[xx * ksize + x] = Int32(v < 0 ? (-0.5 + fixed).rounded(.towardZero) : (0.5 + fixed).rounded(.towardZero))
            }
            bounds.append((xmin, xmax))
        }
        return (bounds, weights, ksize)
    }

    @inline(__always)
    static func clip8(_ acc: Int) -> UInt8 {
        let v = acc >> precisionBits
        return UInt8(clamping: v)
    }

    /// `image.resize((width, height), Image.BICUBIC)` for an RGB image.
    public static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        let needH = width != image.width, needV = height != image.height
        let horiz = coefficients(inSize: image.width, outSize: width)
        let vert = coefficients(inSize: image.height, outSize: height)
        var source = image
        var firstRow = 0
        if needH {  // only the rows the vertical pass will read
            firstRow = vert.bounds.first?.0 ?? 0
            let lastRow = (vert.bounds.last.map { $0.0 + $0.1 }) ?? image.height
            let rows = needV ? lastRow - firstRow : image.height
            if !needV { firstRow = 0 }
            var out = [UInt8](repeating: 0, count: width * rows * 3)
            for y in 0..<rows {
                let src = (y + firstRow) * image.width * 3
                for xx in 0..<width {
                    let (xmin, xmax) = horiz.bounds[xx]
                    let w = xx * horiz.ksize
                    var acc = (0, 0, 0)
                    acc = (1 << (precisionBits - 1), 1 << (precisionBits - 1), 1 << (precisionBits - 1))
                    for x in 0..<xmax {
                        let p = src + (x + xmin) * 3, k = Int(horiz.weights[w + x])
                        acc.0 += Int(image.pixels[p]) * k
                        acc.1 += Int(image.pixels[p + 1]) * k
                        acc.2 += Int(image.pixels[p + 2]) * k
                    }
                    let o = (y * width + xx) * 3
                    out[o] = clip8(acc.0); out[o + 1] = clip8(acc.1); out[o + 2] = clip8(acc.2)
                }
            }
            source = RGBImage(width: width, height: rows, pixels: out)
        }
        guard needV else { return source }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for yy in 0..<height {
            let (ymin0, ymax) = vert.bounds[yy]
            let ymin = ymin0 - (needH ? firstRow : 0)
            let w = yy * vert.ksize
            for xx in 0..<width {
                var acc = (1 << (precisionBits - 1), 1 << (precisionBits - 1), 1 << (precisionBits - 1))
                for y in 0..<ymax {
                    let p = ((y + ymin) * width + xx) * 3, k = Int(vert.weights[w + y])
                    acc.0 += Int(source.pixels[p]) * k
                    acc.1 += Int(source.pixels[p + 1]) * k
                    acc.2 += Int(source.pixels[p + 2]) * k
                }
                let o = (yy * width + xx) * 3
                out[o] = clip8(acc.0); out[o + 1] = clip8(acc.1); out[o + 2] = clip8(acc.2)
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}

/// HF `CLIPImageProcessor` (resize shortest edge, centre crop, rescale 1/255, normalise) to `pixel_values`.
public struct CLIPImageProcessor: Sendable {
    public static let openAIMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let openAIStd: [Float] = [0.26862954, 0.26130258, 0.27577711]
    public var size: Int
    public var mean: [Float]
    public var std: [Float]

    public init(size: Int, mean: [Float] = CLIPImageProcessor.openAIMean, std: [Float] = CLIPImageProcessor.openAIStd) {
        self.size = size; self.mean = mean; self.std = std
    }

    /// Resized so the shortest side is `size` (the other `Int(size · long / short)`, as HF), centre-cropped.
    public func resizedAndCropped(_ image: RGBImage) -> RGBImage {
        let short = min(image.width, image.height), long = max(image.width, image.height)
        let newLong = Int(Double(size) * Double(long) / Double(short))
        let (w, h) = image.width <= image.height ? (size, newLong) : (newLong, size)
        let resized = PILBicubic.resize(image, width: w, height: h)
        let top = (h - size) / 2, left = (w - size) / 2
        var out = [UInt8](repeating: 0, count: size * size * 3)
        for y in 0..<size {
            for x in 0..<size {
                for c in 0..<3 { out[(y * size + x) * 3 + c] = resized.pixels[((y + top) * w + x + left) * 3 + c] }
            }
        }
        return RGBImage(width: size, height: size, pixels: out)
    }

    /// `pixel_values` [3, size, size] of one image.
    public func pixelValues(_ image: RGBImage) -> [Float] {
        let cropped = resizedAndCropped(image)
        var values = [Float](repeating: 0, count: 3 * size * size)
        for c in 0..<3 {
            for i in 0..<(size * size) {
                values[c * size * size + i] = (Float(cropped.pixels[i * 3 + c]) * (1 / 255) - mean[c]) / std[c]
            }
        }
        return values
    }
}
