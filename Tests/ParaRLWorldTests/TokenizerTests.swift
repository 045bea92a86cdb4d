// The tokenizers: the text vocabulary (grammar words, <unk>, lossless on world text, file round trip) and
// the patch VQ (exact when the codebook is large enough, k-means equal to a naive serial reference,
// deterministic, strict file loading).
import Foundation
import ParaRLCore
import ParaRLMedia
import Testing
import TestSupport
@testable import ParaRLWorld

@Suite struct TextTokenizerTests {
    @Test func splitsWordsAndPunctuationAndJoinsBack() {
        #expect(TextTokenizer.split("final scene: a red, small circle; background day.") ==
                ["final", "scene", ":", "a", "red", ",", "small", "circle", ";", "background", "day", "."])
        let text = "final scene: an orange small ring at center; background day."
        #expect(TextTokenizer.join(TextTokenizer.split(text)) == text)
    }

    @Test func unknownWordsBecomeUnk() {
        let t = TextTokenizer.world()
        #expect(t.tokens[0] == "<unk>" && t.unknownID == 0)
        let ids = t.encode("the red zebra.")
        #expect(ids.count == 4 && ids[2] == 0 && ids[0] != 0)
        #expect(t.decode(ids) == "the red <unk>.")
        #expect(t.decode([-1, 99_999]) == "<unk> <unk>")
        #expect(t.encode("The RED") == t.encode("the red"))
    }

    @Test func vocabularyFileRoundTripsAndRejectsBadFiles() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("vocab.json")
        let t = TextTokenizer.world()
        try t.save(to: url)
        #expect(try TextTokenizer.load(from: url) == t)
        let first = try Data(contentsOf: url)
        try t.save(to: url)
        #expect(try Data(contentsOf: url) == first)
        try Data(#"{"format": "pararl-text-vocabulary", "tokens": ["a", "b"]}"#.utf8).write(to: url)
        #expect(throws: TextTokenizerError.self) { try TextTokenizer.load(from: url) }
        try Data(#"{"format": "other", "tokens": ["<unk>"]}"#.utf8).write(to: url)
        #expect(throws: TextTokenizerError.self) { try TextTokenizer.load(from: url) }
    }

    @Test func fittedVocabularyAddsDatasetWords() {
        let t = TextTokenizer.fitted(to: ["a zebra and a zebra", "one yak"], minCount: 2)
        #expect(t.id(of: "zebra") != t.unknownID && t.id(of: "yak") == t.unknownID)
        #expect(Array(t.tokens.prefix(TextTokenizer.world().count)) == TextTokenizer.world().tokens)
    }
}

@Suite struct PatchVQTests {
    func images(_ n: Int, seed: UInt64 = 1) -> [RGBImage] {
        var rng = TestRNG(seed: seed)
        let r = SceneRenderer()
        return (0..<n).map { _ in r.render(randomScene(&rng)) }
    }

    @Test func encodeDecodeShapesAndErrors() throws {
        let vq = try PatchVQ(patchSize: 4, imageWidth: 32, imageHeight: 32, codebook: [Float](repeating: 0.5, count: 3 * 48))
        #expect(vq.codeCount == 3 && vq.codesPerImage == 64 && vq.patchDimension == 48)
        let codes = try vq.encode(RGBImage(width: 32, height: 32))
        #expect(codes == [Int](repeating: 0, count: 64))
        #expect(try vq.decode(codes)[5, 5] == RGB(128, 128, 128))
        #expect(throws: ImageTokenizerError.imageSize(expected: "32×32", got: "16×16")) { try vq.encode(RGBImage(width: 16, height: 16)) }
        #expect(throws: ImageTokenizerError.codeCount(expected: 64, got: 3)) { try vq.decode([0, 1, 2]) }
        #expect(throws: ImageTokenizerError.invalidCode(index: 1, code: 3, codeCount: 3)) { try vq.decode([0, 3] + [Int](repeating: 0, count: 62)) }
        #expect(throws: ImageTokenizerError.self) { try PatchVQ(patchSize: 5, imageWidth: 32, imageHeight: 32, codebook: [0]) }
    }

    @Test func largeCodebookReconstructsExactly() throws {
        let set = images(30)
        let fit = try PatchVQ.fit(images: set, patchSize: 4, codebookSize: 512, seed: 0)
        #expect(fit.distinctPatches <= 512 && fit.patchCount == 30 * 64)
        for image in set { #expect(try fit.tokenizer.reconstruct(image) == image) }
        let q = try fit.tokenizer.quality(on: set)
        #expect(q.psnr == 99 && q.meanSquaredError == 0 && q.usedCodes == fit.distinctPatches)
    }

    @Test func kMeansMatchesANaiveSerialReference() throws {
        let set = images(12, seed: 4)
        let fit = try PatchVQ.fit(images: set, patchSize: 4, codebookSize: 24, iterations: 6, seed: 9)
        #expect(fit.distinctPatches > 24)
        let reference = naiveKMeans(set, k: 24, iterations: 6, seed: 9)
        #expect(fit.tokenizer.codebook == reference)
        // More iterations never increase the error, and the same seed gives the same codebook.
        for (a, b) in zip(fit.meanSquaredError, fit.meanSquaredError.dropFirst()) { #expect(b <= a * (1 + 1e-6)) }
        #expect(try PatchVQ.fit(images: set, patchSize: 4, codebookSize: 24, iterations: 6, seed: 9).tokenizer == fit.tokenizer)
        #expect(try PatchVQ.fit(images: set, patchSize: 4, codebookSize: 24, iterations: 6, seed: 10).tokenizer != fit.tokenizer)
        let q = try fit.tokenizer.quality(on: set)
        #expect(q.psnr > 15 && q.psnr < 99 && q.usedCodes <= 24)
    }

    @Test func fileRoundTripAndStrictLoading() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let vq = try PatchVQ.fit(images: images(5), patchSize: 4, codebookSize: 16, iterations: 3, seed: 0).tokenizer
        let url = dir.appendingPathComponent("vq.safetensors")
        try vq.save(to: url)
        #expect(try PatchVQ.load(from: url) == vq)
        var w = SafetensorsWriter(metadata: ["format": "something-else", "patch_size": "4", "image_width": "32", "image_height": "32"])
        try w.add("codebook", shape: [2, 48], floats: [Float](repeating: 0, count: 96))
        try w.write(to: url)
        #expect(throws: ImageTokenizerError.self) { try PatchVQ.load(from: url) }
        w.metadata["format"] = PatchVQ.format
        w.metadata["patch_size"] = "8"
        try w.write(to: url)
        #expect(throws: ImageTokenizerError.self) { try PatchVQ.load(from: url) }
    }
}

/// The documented algorithm, serially and plainly: distinct patches weighted by count, k-means++ seeding
/// with the same random draws, Lloyd steps with nearest-centre ties to the lower index, empty clusters
/// re-seeded at the farthest point.
func naiveKMeans(_ images: [RGBImage], k: Int, iterations: Int, seed: UInt64, p: Int = 4) -> [Float] {
    var points: [[Float]] = [], weights: [Float] = []
    var seen: [[UInt8]: Int] = [:]
    for image in images {
        for py in stride(from: 0, to: image.height, by: p) {
            for px in stride(from: 0, to: image.width, by: p) {
                var bytes: [UInt8] = []
                for y in 0..<p { for x in 0..<p { let c = image[px + x, py + y]; bytes += [c.r, c.g, c.b] } }
                if let i = seen[bytes] { weights[i] += 1 } else {
                    seen[bytes] = points.count
                    points.append(bytes.map { Float($0) / 255 })
                    weights.append(1)
                }
            }
        }
    }
    func d2(_ a: [Float], _ b: [Float]) -> Float {
        var s: Float = 0
        for j in a.indices { let t = a[j] - b[j]; s += t * t }
        return s
    }
    var rng = RandomStream(seed: seed).split("patch-vq").split("kmeans++")
    var centres: [[Float]] = []
    var dist = [Float](repeating: .infinity, count: points.count)
    var chosen = rng.categorical(probabilities: weights)
    for c in 0..<k {
        centres.append(points[chosen])
        for i in points.indices { dist[i] = min(dist[i], d2(points[i], centres[c])) }
        if c + 1 < k { chosen = rng.categorical(probabilities: points.indices.map { weights[$0] * dist[$0] }) }
    }
    var assignment = [Int](repeating: -1, count: points.count)
    for it in 0..<iterations {
        var changed = 0
        for i in points.indices {
            var best = 0, bestD = Float.infinity
            for (c, centre) in centres.enumerated() { let d = d2(points[i], centre); if d < bestD { best = c; bestD = d } }
            if assignment[i] != best { changed += 1 }
            assignment[i] = best
            dist[i] = bestD
        }
        if it > 0 && changed == 0 { break }
        for c in 0..<k {
            let members = points.indices.filter { assignment[$0] == c }
            if members.isEmpty {
                var far = 0
                for i in points.indices where weights[i] * dist[i] > weights[far] * dist[far] { far = i }
                centres[c] = points[far]
                dist[far] = 0
            } else {
                var sum = [Double](repeating: 0, count: points[0].count), mass = 0.0
                for i in members { mass += Double(weights[i]); for j in sum.indices { sum[j] += Double(weights[i]) * Double(points[i][j]) } }
                centres[c] = sum.map { Float($0 / mass) }
            }
        }
    }
    return centres.flatMap { $0 }
}
