// Weighted cross-entropy over logits computed only at chosen positions and for a vocabulary slice
// (the masked-token loss of LLaDA / MMaDA, docs/design.md §3.2–3.3; llm.c `crossentropy_softmax_backward`).
// Shapes: P = chosen positions (rows), W = width of each row's allowed vocabulary slice.
import Foundation

/// Cross-entropy over logits that were computed only for a vocabulary slice and only at chosen positions:
/// logits [P, W] (row p = one chosen position, column j = j-th id of that row's allowed vocabulary slice),
/// targets [P] column index (or -1 = ignore), weights [P]; loss = Σ_p weights[p] * (-log softmax(logits[p])[targets[p]]).
public enum MaskedCrossEntropy {
    /// Computes every row's softmax and unweighted loss and returns the weighted total.
    /// Ignored rows (target -1) get loss 0 and do not count towards the total.
    /// - Parameters: losses [P] per-row unweighted CE; probs [P,W] softmax cache; logits [P,W];
    ///   targets [P] in -1..<W; weights [P].
    /// - Returns: Σ_p weights[p] * losses[p], summed in Double in row order.
    @discardableResult
    public static func forward(losses: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                               logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
                               weights: UnsafePointer<Float>, p: Int, w: Int) -> Double {
        Parallel.chunks(p, minChunk: RowMath.minRows(w)) { rows in
            for r in rows {
                let x = logits + r * w
                let (m, sum) = Softmax.row(probs + r * w, x, w)
                let target = Int(targets[r])
                precondition(target >= -1 && target < w, "target \(target) outside -1..<\(w) at row \(r)")
                losses[r] = target < 0 ? 0 : Foundation.log(sum) - (x[target] - m)
            }
        }
        var total = 0.0
        for r in 0..<p where targets[r] >= 0 { total += Double(weights[r]) * Double(losses[r]) }
        return total
    }

    /// Adds `dlogits[p, :] = dloss * weights[p] * (probs[p, :] - onehot(targets[p]))`; ignored rows get nothing.
    /// - Parameters: dlogits [P,W]; probs [P,W] from `forward`; targets [P]; weights [P]; dloss = dL/d(total).
    public static func backward(dlogits: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>,
                                targets: UnsafePointer<Int32>, weights: UnsafePointer<Float>,
                                dloss: Float, p: Int, w: Int) {
        Parallel.chunks(p, minChunk: RowMath.minRows(w)) { rows in
            for r in rows {
                let target = Int(targets[r])
                guard target >= 0 else { continue }
                let scale = dloss * weights[r]
                let d = dlogits + r * w, y = probs + r * w
                for j in 0..<w { d[j] += scale * y[j] }
                d[target] -= scale
            }
        }
    }
}
