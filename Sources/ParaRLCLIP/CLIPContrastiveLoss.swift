// The symmetric InfoNCE loss of CLIP training, as HF `clip_loss`: logits = exp(logit_scale) · T̂ Îᵀ with T̂, Î the
// L2-normalised features, loss = ½ (CE(logits, diag) + CE(logitsᵀ, diag)), mean over the batch; with its
// gradient with respect to the unnormalised features and the (learnable) logit scale.
// Legend: B pairs, P projection dim.
import Foundation

public enum CLIPContrastiveLoss {
    public struct Result {
        public var loss: Double
        /// Gradients of the unnormalised text and image features [B, P].
        public var dText: [Float], dImage: [Float]
        public var dLogitScale: Float
        /// logits_per_text [B, B].
        public var logits: [Float]
    }

    /// Loss and gradients for `text` and `image` features [B, P] (row i of each is a matching pair).
    public static func evaluate(text: [Float], image: [Float], b: Int, p: Int, logitScale: Float) -> Result {
        let tn = CLIPScoring.normalised(text, dim: p), vn = CLIPScoring.normalised(image, dim: p)
        let scale = Foundation.exp(logitScale)
        var logits = [Float](repeating: 0, count: b * b)
        for i in 0..<b {
            for j in 0..<b {
                var dot: Float = 0
                for d in 0..<p { dot += tn[i * p + d] * vn[j * p + d] }
                logits[i * b + j] = scale * dot
            }
        }
        // dlogits = ½ (softmax_rows − I) / B + ½ (softmax_cols − I) / B
        var dlogits = [Float](repeating: 0, count: b * b)
        var loss = 0.0
        for i in 0..<b {  // rows: text → image
            let row = logits[(i * b)..<((i + 1) * b)]
            let m = row.max() ?? 0
            let z = row.reduce(0.0) { $0 + Foundation.exp(Double($1 - m)) }
            loss += (Double(m) + Foundation.log(z) - Double(logits[i * b + i])) / Double(2 * b)
            for j in 0..<b { dlogits[i * b + j] += Float(Foundation.exp(Double(logits[i * b + j] - m)) / z) / Float(2 * b) }
            dlogits[i * b + i] -= 1 / Float(2 * b)
        }
        for j in 0..<b {  // columns: image → text
            var m = -Float.infinity
            for i in 0..<b { m = max(m, logits[i * b + j]) }
            var z = 0.0
            for i in 0..<b { z += Foundation.exp(Double(logits[i * b + j] - m)) }
            loss += (Double(m) + Foundation.log(z) - Double(logits[j * b + j])) / Double(2 * b)
            for i in 0..<b { dlogits[i * b + j] += Float(Foundation.exp(Double(logits[i * b + j] - m)) / z) / Float(2 * b) }
            dlogits[j * b + j] -= 1 / Float(2 * b)
        }
        var dLogitScale: Float = 0
        for k in 0..<(b * b) { dLogitScale += dlogits[k] * logits[k] }  // ∂logits/∂logit_scale = logits
        var dtn = [Float](repeating: 0, count: b * p), dvn = [Float](repeating: 0, count: b * p)
        for i in 0..<b {
            for j in 0..<b {
                let g = scale * dlogits[i * b + j]
                for d in 0..<p {
                    dtn[i * p + d] += g * vn[j * p + d]
                    dvn[j * p + d] += g * tn[i * p + d]
                }
            }
        }
        return Result(loss: loss, dText: normaliseBackward(dtn, x: text, xn: tn, p: p),
                      dImage: normaliseBackward(dvn, x: image, xn: vn, p: p), dLogitScale: dLogitScale, logits: logits)
    }

    /// Backward of x̂ = x / ‖x‖ per row: dx = (dx̂ − x̂ (x̂ · dx̂)) / ‖x‖.
    static func normaliseBackward(_ dxn: [Float], x: [Float], xn: [Float], p: Int) -> [Float] {
        var dx = dxn
        for r in 0..<(x.count / p) {
            var ss: Float = 0, proj: Float = 0
            for d in 0..<p { ss += x[r * p + d] * x[r * p + d]; proj += xn[r * p + d] * dxn[r * p + d] }
            let inv = 1 / ss.squareRoot()
            for d in 0..<p { dx[r * p + d] = (dxn[r * p + d] - xn[r * p + d] * proj) * inv }
        }
        return dx
    }
}
