// The image tokenizer (docs/design.md §3.9): a protocol a learned VQ decoder can implement, and the default patch
// vector quantiser fitted by k-means (k-means++ seeding, seeded, parallel nearest-code assignment).
import Foundation
import ParaRLCore

/// Turns an image into a fixed number of discrete codes and back.
public protocol ImageTokenizer: Sendable {
    /// Codebook size K: codes are `0..<codeCount`.
    var codeCount: Int { get }
    /// Codes per image N.
    var codesPerImage: Int { get }
    var imageWidth: Int { get }
    var imageHeight: Int { get }
    /// The codes of an image of `imageWidth × imageHeight`, in raster order of its patches.
    func encode(_ image: RGBImage) throws -> [Int]
    /// The image of `codesPerImage` codes.
    func decode(_ codes: [Int]) throws -> RGBImage
}

public enum ImageTokenizerError: Error, Equatable, CustomStringConvertible {
    case imageSize(expected: String, got: String)
    case codeCount(expected: Int, got: Int)
    case invalidCode(index: Int, code: Int, codeCount: Int)
    case invalidConfiguration(String)
    case invalidFile(path: String, reason: String)

    public var description: String {
        switch self {
        case let .imageSize(e, g): return "the tokenizer takes \(e) images, got \(g)"
        case let .codeCount(e, g): return "an image has \(e) codes, got \(g)"
        case let .invalidCode(i, c, k): return "code \(c) at index \(i) is outside 0..<\(k)"
        case let .invalidConfiguration(reason): return "invalid tokenizer settings: \(reason)"
        case let .invalidFile(path, reason): return "\(path): not a patch VQ tokenizer: \(reason)"
        }
    }
}

/// Patch vector quantisation: each `p × p` patch of the image (raster order) becomes the index of its nearest
/// codebook entry (squared RGB distance, ties to the lower index); decoding pastes the codebook patches.
///
/// The codebook is `[K, p·p·3]` with each row in (row, column, channel) order and values in [0, 1]
/// (pixel / 255); it is stored as the F32 safetensors tensor `codebook` with metadata `format`
/// (`pararl-patch-vq`), `patch_size`, `image_width` and `image_height`.
public struct PatchVQ: ImageTokenizer, Equatable {
    public static let format = "pararl-patch-vq"
    public let patchSize: Int
    public let imageWidth: Int
    public let imageHeight: Int
    public let codeCount: Int
    /// `codeCount × patchDimension` floats.
    public let codebook: [Float]

    public var patchDimension: Int { patchSize * patchSize * 3 }
    public var codesPerImage: Int { (imageWidth / patchSize) * (imageHeight / patchSize) }

    public init(patchSize: Int, imageWidth: Int, imageHeight: Int, codebook: [Float]) throws {
        guard patchSize > 0, imageWidth > 0, imageHeight > 0, imageWidth % patchSize == 0, imageHeight % patchSize == 0 else {
            throw ImageTokenizerError.invalidConfiguration("patch size \(patchSize) must divide the image size \(imageWidth)×\(imageHeight)")
        }
        let d = patchSize * patchSize * 3
        guard !codebook.isEmpty, codebook.count % d == 0 else {
            throw ImageTokenizerError.invalidConfiguration("codebook of \(codebook.count) floats is not a whole number of \(d)-float patches")
        }
        self.patchSize = patchSize
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
        self.codebook = codebook
        codeCount = codebook.count / d
    }

    // MARK: Encode and decode

    public func encode(_ image: RGBImage) throws -> [Int] {
        try checkSize(image)
        let patches = Self.patches(of: image, size: patchSize)
        let d = patchDimension
        var codes = [Int](repeating: 0, count: codesPerImage)
        patches.withUnsafeBufferPointer { x in
            codebook.withUnsafeBufferPointer { c in
                guard let xb = x.baseAddress else { return }
                for i in 0..<codes.count { codes[i] = Self.nearest(xb + i * d, c, count: codeCount, d).index }
            }
        }
        return codes
    }

    public func decode(_ codes: [Int]) throws -> RGBImage {
        guard codes.count == codesPerImage else { throw ImageTokenizerError.codeCount(expected: codesPerImage, got: codes.count) }
        var image = RGBImage(width: imageWidth, height: imageHeight)
        let p = patchSize, across = imageWidth / p, d = patchDimension
        for (i, code) in codes.enumerated() {
            guard code >= 0 && code < codeCount else { throw ImageTokenizerError.invalidCode(index: i, code: code, codeCount: codeCount) }
            let px = (i % across) * p, py = (i / across) * p
            for y in 0..<p {
                for x in 0..<p {
                    let base = code * d + (y * p + x) * 3
                    image[px + x, py + y] = RGB(Self.byte(codebook[base]), Self.byte(codebook[base + 1]), Self.byte(codebook[base + 2]))
                }
            }
        }
        return image
    }

    /// decode(encode(image)).
    public func reconstruct(_ image: RGBImage) throws -> RGBImage { try decode(try encode(image)) }

    private func checkSize(_ image: RGBImage) throws {
        guard image.width == imageWidth && image.height == imageHeight else {
            throw ImageTokenizerError.imageSize(expected: "\(imageWidth)×\(imageHeight)", got: "\(image.width)×\(image.height)")
        }
    }

    static func byte(_ v: Float) -> UInt8 { UInt8(max(0, min(255, (v * 255).rounded()))) }

    /// The image's patches as floats in [0, 1], raster order, each in (row, column, channel) order.
    static func patches(of image: RGBImage, size p: Int) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(image.pixels.count)
        for py in stride(from: 0, to: image.height, by: p) {
            for px in stride(from: 0, to: image.width, by: p) {
                for y in 0..<p {
                    let row = 3 * ((py + y) * image.width + px)
                    for j in 0..<(3 * p) { out.append(Float(image.pixels[row + j]) / 255) }
                }
            }
        }
        return out
    }

    /// The nearest of `count` codes to the vector at `x` (squared distance summed in index order; ties to
    /// the lower code).
    @inline(__always)
    static func nearest(_ x: UnsafePointer<Float>, _ c: UnsafeBufferPointer<Float>, count: Int, _ d: Int) -> (index: Int, distance: Float) {
        var best = 0, bestD = Float.infinity
        guard let base = c.baseAddress else { return (0, .infinity) }
        for k in 0..<count {
            let ck = base + k * d
            var s: Float = 0
            for j in 0..<d {
                let t = x[j] - ck[j]
                s += t * t
            }
            if s < bestD { bestD = s; best = k }
        }
        return (best, bestD)
    }

    // MARK: File

    /// Writes the tokenizer as safetensors (atomically).
    public func save(to url: URL) throws {
        var w = SafetensorsWriter(metadata: ["format": Self.format, "patch_size": String(patchSize),
                                             "image_width": String(imageWidth), "image_height": String(imageHeight)])
        try w.add("codebook", shape: [codeCount, patchDimension], floats: codebook)
        try w.write(to: url)
    }

    public static func load(from url: URL) throws -> PatchVQ {
        let file = try SafetensorsFile.read(url: url)
        func int(_ key: String) throws -> Int {
            guard let s = file.metadata[key], let v = Int(s), (1...RGBImage.maxSide).contains(v) else {
                throw ImageTokenizerError.invalidFile(path: url.path,
                                                      reason: "metadata \"\(key)\" missing or not an integer in 1…\(RGBImage.maxSide)")
            }
            return v
        }
        guard file.metadata["format"] == format else {
            throw ImageTokenizerError.invalidFile(path: url.path, reason: "metadata \"format\" must be \"\(format)\"")
        }
        let p = try int("patch_size"), w = try int("image_width"), h = try int("image_height")
        let shape = try file.shape("codebook")
        guard shape.count == 2, shape[1] == p * p * 3, shape[0] > 0 else {
            throw ImageTokenizerError.invalidFile(path: url.path, reason: "tensor \"codebook\" must be [K, \(p * p * 3)], got \(shape)")
        }
        do {
            return try PatchVQ(patchSize: p, imageWidth: w, imageHeight: h, codebook: try file.floats("codebook"))
        } catch let e as ImageTokenizerError {
            throw ImageTokenizerError.invalidFile(path: url.path, reason: "\(e)")
        }
    }
}

// MARK: - Fitting

/// What a k-means fit did.
public struct PatchVQFit: Sendable {
    public var tokenizer: PatchVQ
    /// Patches seen, and distinct patches (k-means runs on distinct patches weighted by their counts).
    public var patchCount: Int
    public var distinctPatches: Int
    /// Lloyd iterations run, and whether assignments had stopped changing.
    public var iterations: Int
    public var converged: Bool
    /// Mean squared error per float (pixel / 255 units) after each iteration.
    public var meanSquaredError: [Double]
}

/// PSNR and codebook usage of a tokenizer on a set of images.
public struct ReconstructionQuality: Sendable, Codable, Equatable {
    /// 10 log10(255² / MSE) over all channels; capped at 99 for a perfect reconstruction.
    public var psnr: Double
    public var meanSquaredError: Double
    /// Distinct codes used over the images, and that share of the codebook.
    public var usedCodes: Int
    public var codebookUsage: Double

    enum CodingKeys: String, CodingKey {
        case psnr, meanSquaredError = "mse", usedCodes = "used_codes", codebookUsage = "codebook_usage"
    }
}

extension PatchVQ {
    /// Fits a codebook of `codebookSize` patches of `patchSize` to `images` (all the same size) by weighted
    /// k-means on the distinct patches: k-means++ seeding (from `seed`), then up to `iterations` Lloyd steps
    /// with the nearest-code assignment in parallel chunks and the centroid sums in point order, so the
    /// result depends only on the inputs and the seed. An empty cluster takes the point farthest from its
    /// centre. With fewer distinct patches than codes, every distinct patch becomes a code exactly and the
    /// rest repeat code 0 (never chosen, as ties go to the lower code).
    public static func fit(images: [RGBImage], patchSize: Int, codebookSize: Int, iterations: Int = 20, seed: UInt64 = 0,
                           progress: (String) -> Void = { _ in }) throws -> PatchVQFit {
        guard let first = images.first else { throw ImageTokenizerError.invalidConfiguration("no images to fit") }
        guard codebookSize > 0 else { throw ImageTokenizerError.invalidConfiguration("the codebook needs at least one code") }
        guard patchSize > 0, first.width % patchSize == 0, first.height % patchSize == 0 else {
            throw ImageTokenizerError.invalidConfiguration("patch size \(patchSize) must divide the image size \(first.width)×\(first.height)")
        }
        let d = patchSize * patchSize * 3
        // Distinct patches and their counts, in order of first appearance.
        var index: [[UInt8]: Int] = [:]
        var distinct: [[UInt8]] = []
        var weights: [Float] = []
        var patchCount = 0
        for (n, image) in images.enumerated() {
            guard image.width == first.width && image.height == first.height else {
                throw ImageTokenizerError.imageSize(expected: "\(first.width)×\(first.height)", got: "\(image.width)×\(image.height) (image \(n))")
            }
            for py in stride(from: 0, to: image.height, by: patchSize) {
                for px in stride(from: 0, to: image.width, by: patchSize) {
                    var bytes: [UInt8] = []
                    bytes.reserveCapacity(d)
                    for y in 0..<patchSize {
                        let row = 3 * ((py + y) * image.width + px)
                        bytes += image.pixels[row..<(row + 3 * patchSize)]
                    }
                    patchCount += 1
                    if let i = index[bytes] {
                        weights[i] += 1
                    } else {
                        index[bytes] = distinct.count
                        distinct.append(bytes)
                        weights.append(1)
                    }
                }
            }
        }
        let points = distinct.flatMap { $0.map { Float($0) / 255 } }
        let n = distinct.count, k = codebookSize
        progress("\(patchCount) patches, \(n) distinct")

        var centres = [Float](repeating: 0, count: k * d)
        var assignment = [Int](repeating: 0, count: n)
        var distance = [Float](repeating: .infinity, count: n)
        var mse: [Double] = []
        var iterationsRun = 0, converged = false
        let totalWeight = Double(patchCount)

        if n <= k {
            for i in 0..<n { for j in 0..<d { centres[i * d + j] = points[i * d + j] } }
            for c in n..<k { for j in 0..<d { centres[c * d + j] = points[j] } }
            converged = true
            mse = [0]
        } else {
            // k-means++ seeding: each next centre drawn with probability ∝ weight × squared distance.
            var rng = RandomStream(seed: seed).split("patch-vq").split("kmeans++")
            var chosen = rng.categorical(probabilities: weights)
            for c in 0..<k {
                for j in 0..<d { centres[c * d + j] = points[chosen * d + j] }
                updateDistances(points, centre: c, centres, &distance, &assignment, d: d)
                if c + 1 < k {
                    let scores = (0..<n).map { weights[$0] * distance[$0] }
                    if scores.contains(where: { $0 > 0 }) {
                        chosen = rng.categorical(probabilities: scores)
                    } else {
                        chosen = 0
                    }
                }
                if (c + 1) % 128 == 0 { progress("seeded \(c + 1)/\(k) codes") }
            }
            // Lloyd iterations.
            for it in 0..<iterations {
                let changed = assign(points, centres, &assignment, &distance, n: n, k: k, d: d)
                var err = 0.0
                for i in 0..<n { err += Double(weights[i]) * Double(distance[i]) }
                mse.append(err / totalWeight / Double(d))
                iterationsRun = it + 1
                if it > 0 && changed == 0 {
                    converged = true
                    break
                }
                updateCentres(points, weights, assignment, &distance, &centres, n: n, k: k, d: d)
                progress("iteration \(it + 1): mse \(String(format: "%.3g", mse.last ?? 0)), \(changed) reassigned")
            }
            if !converged {  // final assignment error for the last centres
                _ = assign(points, centres, &assignment, &distance, n: n, k: k, d: d)
                var err = 0.0
                for i in 0..<n { err += Double(weights[i]) * Double(distance[i]) }
                mse.append(err / totalWeight / Double(d))
            }
        }
        let tokenizer = try PatchVQ(patchSize: patchSize, imageWidth: first.width, imageHeight: first.height, codebook: centres)
        return PatchVQFit(tokenizer: tokenizer, patchCount: patchCount, distinctPatches: n, iterations: iterationsRun,
                          converged: converged, meanSquaredError: mse)
    }

    /// distance[i] = min(distance[i], |x_i − centre c|²), in parallel chunks.
    private static func updateDistances(_ points: [Float], centre c: Int, _ centres: [Float], _ distance: inout [Float],
                                        _ assignment: inout [Int], d: Int) {
        let n = distance.count
        points.withUnsafeBufferPointer { x in
            centres.withUnsafeBufferPointer { cs in
                distance.withUnsafeMutableBufferPointer { dist in
                    assignment.withUnsafeMutableBufferPointer { asg in
                        Parallel.chunks(n, minChunk: 256) { range in
                            guard let xb = x.baseAddress, let cb = cs.baseAddress else { return }
                            let centre = cb + c * d
                            for i in range {
                                var s: Float = 0
                                for j in 0..<d {
                                    let t = xb[i * d + j] - centre[j]
                                    s += t * t
                                }
                                if s < dist[i] { dist[i] = s; asg[i] = c }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Assigns every point to its nearest centre in parallel chunks; returns how many assignments changed.
    private static func assign(_ points: [Float], _ centres: [Float], _ assignment: inout [Int], _ distance: inout [Float],
                               n: Int, k: Int, d: Int) -> Int {
        var changed = [UInt8](repeating: 0, count: n)
        points.withUnsafeBufferPointer { x in
            centres.withUnsafeBufferPointer { cs in
                assignment.withUnsafeMutableBufferPointer { asg in
                    distance.withUnsafeMutableBufferPointer { dist in
                        changed.withUnsafeMutableBufferPointer { flags in
                            Parallel.chunks(n, minChunk: 64) { range in
                                guard let xb = x.baseAddress else { return }
                                for i in range {
                                    let (best, bd) = nearest(xb + i * d, cs, count: k, d)
                                    if best != asg[i] { flags[i] = 1 }
                                    asg[i] = best
                                    dist[i] = bd
                                }
                            }
                        }
                    }
                }
            }
        }
        return changed.reduce(0) { $0 + Int($1) }
    }

    /// Centres = weighted means of their points, summed in point order (deterministic); empty clusters take
    /// the point farthest from its centre.
    private static func updateCentres(_ points: [Float], _ weights: [Float], _ assignment: [Int], _ distance: inout [Float],
                                      _ centres: inout [Float], n: Int, k: Int, d: Int) {
        var sums = [Double](repeating: 0, count: k * d)
        var mass = [Double](repeating: 0, count: k)
        for i in 0..<n {
            let c = assignment[i], w = Double(weights[i])
            mass[c] += w
            for j in 0..<d { sums[c * d + j] += w * Double(points[i * d + j]) }
        }
        for c in 0..<k {
            if mass[c] > 0 {
                for j in 0..<d { centres[c * d + j] = Float(sums[c * d + j] / mass[c]) }
            } else {
                var far = 0
                for i in 0..<n where Double(weights[i]) * Double(distance[i]) > Double(weights[far]) * Double(distance[far]) { far = i }
                for j in 0..<d { centres[c * d + j] = points[far * d + j] }
                distance[far] = 0
            }
        }
    }

    /// PSNR and codebook usage of this tokenizer on `images`.
    public func quality(on images: [RGBImage]) throws -> ReconstructionQuality {
        var squared = 0.0, count = 0
        var used = Set<Int>()
        for image in images {
            let codes = try encode(image)
            used.formUnion(codes)
            let back = try decode(codes)
            for i in 0..<image.pixels.count {
                let t = Double(image.pixels[i]) - Double(back.pixels[i])
                squared += t * t
            }
            count += image.pixels.count
        }
        let mse = count == 0 ? 0 : squared / Double(count)
        let psnr = mse == 0 ? 99 : min(99, 10 * log10(255 * 255 / mse))
        return ReconstructionQuality(psnr: psnr, meanSquaredError: mse, usedCodes: used.count,
                                     codebookUsage: Double(used.count) / Double(codeCount))
    }
}
