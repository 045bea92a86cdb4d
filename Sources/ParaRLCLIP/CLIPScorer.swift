// The CLIP score of docs/design.md §3.5: c = 100 · cos(text embedding, image embedding), for batches of (text, image)
// pairs with both towers run batched. Used by `pararl clip score`, calibration and the RL reward.
import Foundation
import ParaRLMedia

/// A loaded model with its tokenizer and image processor.
public final class CLIPScorer: @unchecked Sendable {
    public let model: CLIPModel
    public let tokenizer: CLIPTokenizer
    public let processor: CLIPImageProcessor

    public init(model: CLIPModel, tokenizer: CLIPTokenizer) {
        self.model = model
        self.tokenizer = tokenizer
        processor = CLIPImageProcessor(size: model.config.visionConfig.imageSize)
    }

    /// Token ids [B, context] of `texts` at the model's context length.
    public func tokenize(_ texts: [String]) -> [Int32] {
        let context = model.config.textConfig.maxPositionEmbeddings
        return texts.flatMap { tokenizer.tokenize($0, contextLength: context) }
    }

    /// `pixel_values` [B, 3, S, S] of `images`.
    public func pixelValues(_ images: [RGBImage]) -> [Float] { images.flatMap { processor.pixelValues($0) } }

    /// L2-normalised text embeddings [B, P].
    public func textEmbeddings(_ texts: [String]) throws -> [Float] {
        let ids = tokenize(texts), p = model.config.projectionDim
        let acts = try model.textForward(ids: ids, b: texts.count, t: model.config.textConfig.maxPositionEmbeddings)
        return CLIPScoring.normalised(Array(UnsafeBufferPointer(start: acts.features, count: texts.count * p)), dim: p)
    }

    /// L2-normalised image embeddings [B, P].
    public func imageEmbeddings(_ images: [RGBImage]) throws -> [Float] {
        let p = model.config.projectionDim
        let acts = try model.visionForward(pixels: pixelValues(images), b: images.count)
        return CLIPScoring.normalised(Array(UnsafeBufferPointer(start: acts.features, count: images.count * p)), dim: p)
    }

    /// 100 · cos of each (texts[i], images[i]) pair, `batchSize` pairs per forward of each tower.
    public func scores(texts: [String], images: [RGBImage], batchSize: Int = 64) throws -> [Float] {
        guard texts.count == images.count else {
            throw CLIPError.invalidInput("\(texts.count) texts but \(images.count) images")
        }
        let p = model.config.projectionDim
        var out: [Float] = []
        out.reserveCapacity(texts.count)
        var start = 0
        while start < texts.count {
            let end = min(start + max(1, batchSize), texts.count)
            let t = try textEmbeddings(Array(texts[start..<end])), v = try imageEmbeddings(Array(images[start..<end]))
            for i in 0..<(end - start) {
                var dot: Float = 0
                for d in 0..<p { dot += t[i * p + d] * v[i * p + d] }
                out.append(100 * dot)
            }
            start = end
        }
        return out
    }
}
