// The agreement loss of the world CLIP (`policy_samples`): its gradients match finite differences, it is zero when
// every cosine hits its target, the within-group term sees only the order inside a group, and the samples file
// is read strictly (a bad line names file and line).
import Foundation
@testable import ParaRLCLIP
import ParaRLCore
import ParaRLMedia
import Testing
import TestSupport

@Suite("CLIP agreement loss")
struct CLIPAgreementLossTests {
    @Test("gradients match finite differences")
    func gradients() {
        var rng = TestRNG(seed: 5)
        let n = 5, p = 4
        let text = rng.array(n * p), image = rng.array(n * p)
        let targets = [0.2, 0.5, 0.9, -0.1, 0.3], groups = [0..<3, 3..<5]
        func loss(_ t: [Float], _ v: [Float]) -> Double {
            CLIPScoreRegression.evaluate(text: t, image: v, p: p, targets: targets, groups: groups, weight: 2, withinWeight: 3).loss
        }
        let r = CLIPScoreRegression.evaluate(text: text, image: image, p: p, targets: targets, groups: groups, weight: 2, withinWeight: 3)
        #expect(relativeError(r.dText, numericalGradient(text, eps: 1e-3) { loss($0, image) }) < 2e-2)
        #expect(relativeError(r.dImage, numericalGradient(image, eps: 1e-3) { loss(text, $0) }) < 2e-2)
    }

    @Test("zero at the targets; the within-group term ignores a shift shared by the group")
    func zeroAndShift() {
        let p = 2
        // Unit features at angles whose cosines are known: text (1, 0), image (cos a, sin a).
        let angles = [0.3, 1.0, 1.4]
        let text: [Float] = angles.flatMap { _ -> [Float] in [1, 0] }
        let image: [Float] = angles.flatMap { a -> [Float] in [Float(cos(a)), Float(sin(a))] }
        let cosines = angles.map { Double(Float(cos($0))) }
        let exact = CLIPScoreRegression.evaluate(text: text, image: image, p: p, targets: cosines, groups: [0..<3], weight: 1, withinWeight: 1)
        #expect(exact.loss < 1e-12)
        let shifted = cosines.map { $0 + 0.2 }
        let onlyWithin = CLIPScoreRegression.evaluate(text: text, image: image, p: p, targets: shifted, groups: [0..<3], weight: 1, withinWeight: 1)
        let onlyLevel = CLIPScoreRegression.evaluate(text: text, image: image, p: p, targets: shifted, groups: [0..<3], weight: 1, withinWeight: 0)
        #expect(abs(onlyWithin.loss - onlyLevel.loss) < 1e-9 && abs(onlyLevel.loss - 0.04) < 1e-6)  // the shift costs only the level term
        let swapped = [cosines[1], cosines[0], cosines[2]]
        let order = CLIPScoreRegression.evaluate(text: text, image: image, p: p, targets: swapped, groups: [0..<3], weight: 1, withinWeight: 1)
        let level = CLIPScoreRegression.evaluate(text: text, image: image, p: p, targets: swapped, groups: [0..<3], weight: 1, withinWeight: 0)
        #expect(order.loss > 1.9 * level.loss)  // a wrong order inside the group costs the within term as much again
    }

    @Test("samples load grouped by (task, t); a bad line is an error naming file and line")
    func loading() throws {
        let png = try PNGCodec.encode(RGBImage(width: 4, height: 4)).base64EncodedString()
        func line(_ g: Int, _ t: Int, _ r: Int, _ s: Double) -> String {
            "{\"group\":\(g),\"t\":\(t),\"rollout\":\(r),\"text\":\"final scene: nothing\",\"image\":\"\(png)\",\"score\":\(s)}"
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("samples-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data([line(1, 3, 0, 10), line(1, 3, 1, 20), line(1, 6, 0, 30), line(2, 3, 0, 40)].joined(separator: "\n").utf8).write(to: url)
        let samples = try CLIPPolicySamples.load(url)
        #expect(samples.groups.map { $0.map(\.score) } == [[10, 20], [30], [40]])
        for bad in [line(1, 3, 0, 101), "{\"group\": 1}", line(1, 3, 0, 10).replacingOccurrences(of: png, with: "!!")] {
            try Data([line(1, 3, 0, 10), bad].joined(separator: "\n").utf8).write(to: url)
            do {
                _ = try CLIPPolicySamples.load(url)
                Issue.record("accepted \(bad.prefix(40))")
            } catch {
                #expect("\(error)".contains("\(url.path):2"), "\(error)")
            }
        }
    }
}
