// Finite-difference checks of the CLIP backward passes: the contrastive loss, the text tower and the vision
// tower (every parameter tensor of a tiny model, sampled elements), in both activations.
import Foundation
import ParaRLCLIP
import ParaRLCore
import Testing
import TestSupport

@Suite("CLIP backward")
struct CLIPBackwardTests {
    @Test("contrastive loss gradients match finite differences")
    func contrastive() {
        var rng = TestRNG(seed: 3)
        let b = 3, p = 4
        let text = rng.array(b * p), image = rng.array(b * p)
        let scale: Float = 1.2
        let r = CLIPContrastiveLoss.evaluate(text: text, image: image, b: b, p: p, logitScale: scale)
        let nt = numericalGradient(text, eps: 1e-3) { CLIPContrastiveLoss.evaluate(text: $0, image: image, b: b, p: p, logitScale: scale).loss }
        let ni = numericalGradient(image, eps: 1e-3) { CLIPContrastiveLoss.evaluate(text: text, image: $0, b: b, p: p, logitScale: scale).loss }
        let ns = numericalGradient([scale], eps: 1e-3) { CLIPContrastiveLoss.evaluate(text: text, image: image, b: b, p: p, logitScale: $0[0]).loss }
        #expect(relativeError(r.dText, nt) < 2e-2)
        #expect(relativeError(r.dImage, ni) < 2e-2)
        #expect(relativeError([r.dLogitScale], ns) < 2e-2)
    }

    /// A tiny model with random weights (non-trivial norms and biases).
    static func model(_ act: CLIPActivation) throws -> CLIPModel {
        var config = CLIPModelTests.tiny(eos: 9, layers: 2)
        config.textConfig.hiddenAct = act
        config.visionConfig.hiddenAct = act
        let model = try CLIPModel(config: config)
        var rng = TestRNG(seed: 11)
        for i in 0..<model.params.count { model.params.base[i] = rng.symmetric(0.5) }
        for e in model.params.layout.entries where e.name.contains("norm") && e.name.hasSuffix("weight") {
            for i in 0..<e.count { model.params[e.name][i] += 1 }
        }
        return model
    }

    @Test("tower gradients match finite differences", arguments: [CLIPActivation.quickGELU, .gelu])
    func towers(act: CLIPActivation) throws {
        let model = try Self.model(act)
        let p = model.config.projectionDim
        var rng = TestRNG(seed: 5)
        let ids: [Int32] = [10, 3, 4, 9, 0, 0, 10, 7, 9, 0, 0, 0]  // B 2, T 6, EOS 9
        let pixels = rng.array(2 * 3 * 4 * 4)
        let wText = rng.array(2 * p), wImage = rng.array(2 * p)
        func loss() throws -> Double {
            let t = try model.textForward(ids: ids, b: 2, t: 6), v = try model.visionForward(pixels: pixels, b: 2)
            return weightedSum(Array(UnsafeBufferPointer(start: t.features, count: 2 * p)), wText)
                + weightedSum(Array(UnsafeBufferPointer(start: v.features, count: 2 * p)), wImage)
        }
        model.grads.zero()
        let t = try model.textForward(ids: ids, b: 2, t: 6), v = try model.visionForward(pixels: pixels, b: 2)
        wText.withUnsafeBufferPointer { model.textBackward(dfeatures: $0.baseAddress!, acts: t) }
        wImage.withUnsafeBufferPointer { model.visionBackward(dfeatures: $0.baseAddress!, acts: v) }
        var worst: (Float, String) = (0, "")
        for e in model.params.layout.entries where e.name != "logit_scale" {
            let stride = max(1, e.count / 6)
            var analytic: [Float] = [], numeric: [Float] = []
            for i in Swift.stride(from: 0, to: e.count, by: stride) {
                let ptr = model.params[e.name] + i, orig = ptr.pointee, eps: Float = 1e-2
                ptr.pointee = orig + eps
                let lp = try loss()
                ptr.pointee = orig - eps
                let lm = try loss()
                ptr.pointee = orig
                numeric.append(Float((lp - lm) / Double(2 * eps)))
                analytic.append(model.grads[e.name][i])
            }
            let err = relativeError(analytic, numeric, floor: 1e-2)
            if err > worst.0 { worst = (err, e.name) }
        }
        print("CLIP backward \(act): worst relative error \(worst.0) at \(worst.1)")
        #expect(worst.0 < 3e-2)
    }
}
