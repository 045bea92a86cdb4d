// The two towers around the encoder, as HF `CLIPTextTransformer` / `CLIPVisionTransformer` plus the projections
// of `CLIPModel.get_text_features` / `get_image_features`; forward for scoring, backward for training.
// Text: x = token_embedding[ids] + position_embedding[0..<T]; encoder (causal); final_layer_norm at the pooled
//       position (first EOS, or argmax of the ids when eos_token_id is HF's legacy 2); text_projection.
// Vision: patches = conv(pixels) (bias-free, stride = kernel = patch); x = [class; patches] + position_embedding;
//       pre_layrnorm; encoder; post_layernorm on the class token; visual_projection.
// Legend: B batch, T text positions, S = patches + 1, C width, P projection dim, K = channels·patch².
import Foundation
import ParaRLCore

/// A text forward pass's activations, kept for backward.
public final class CLIPTextActivations {
    public let b: Int, t: Int
    let encoder: CLIPEncoderActivations
    let tokens: [Int32]
    /// Pooled row of each sequence in the N = B·T rows.
    let pooledRows: [Int32]
    let extra: Arena

    init(model: CLIPModel, tokens: [Int32], b: Int, t: Int, pooledRows: [Int32]) {
        self.b = b; self.t = t; self.tokens = tokens; self.pooledRows = pooledRows
        encoder = CLIPEncoderActivations(model.textTower, b: b, t: t)
        let c = model.config.textConfig.hiddenSize, p = model.config.projectionDim
        extra = Arena(ArenaLayout([("pooled", [b, c]), ("pooledNorm", [b, c]), ("mean", [b]), ("rstd", [b]),
                                   ("features", [b, p]), ("dpooledNorm", [b, c]), ("dpooled", [b, c])]))
    }

    /// The projected, unnormalised text features [B, P].
    public var features: UnsafeMutablePointer<Float> { extra["features"] }
}

/// A vision forward pass's activations, kept for backward.
public final class CLIPVisionActivations {
    public let b: Int
    let encoder: CLIPEncoderActivations
    let extra: Arena

    init(model: CLIPModel, b: Int) {
        self.b = b
        let v = model.config.visionConfig, s = v.numPatches + 1, c = v.hiddenSize, p = model.config.projectionDim
        let k = v.numChannels * v.patchSize * v.patchSize
        encoder = CLIPEncoderActivations(model.visionTower, b: b, t: s)
        extra = Arena(ArenaLayout([("patches", [b * v.numPatches, k]), ("patchEmbeds", [b * v.numPatches, c]),
                                   ("embeddings", [b * s, c]), ("preMean", [b * s]), ("preRstd", [b * s]),
                                   ("cls", [b, c]), ("clsNorm", [b, c]), ("postMean", [b]), ("postRstd", [b]),
                                   ("features", [b, p]), ("dclsNorm", [b, c]), ("dcls", [b, c]),
                                   ("dembeddings", [b * s, c]), ("dpatchEmbeds", [b * v.numPatches, c])]))
    }

    /// The projected, unnormalised image features [B, P].
    public var features: UnsafeMutablePointer<Float> { extra["features"] }
}

extension CLIPModel {
    /// The pooled position of each sequence, as HF `CLIPTextTransformer`: with `eos_token_id` 2 (the legacy
    /// configs) the first argmax of the ids, else the first position holding `eos_token_id` (0 when absent).
    public func pooledPositions(ids: [Int32], b: Int, t: Int) -> [Int] {
        let eos = Int32(truncatingIfNeeded: config.textConfig.eosTokenId)
        return (0..<b).map { row in
            let seq = ids[(row * t)..<((row + 1) * t)]
            if eos == 2 {
                var best = 0
                for (j, id) in seq.enumerated() where id > seq[seq.startIndex + best] { best = j }
                return best
            }
            return seq.firstIndex(of: eos).map { $0 - seq.startIndex } ?? 0
        }
    }

    /// Text forward over `ids` [B, T]. Attention is causal, so positions after the last pooled one cannot change
    /// the result and are not computed. Returns the activations; `features` holds [B, P].
    public func textForward(ids: [Int32], b: Int, t: Int) throws -> CLIPTextActivations {
        let tc = config.textConfig
        guard ids.count == b * t, b > 0, t > 0 else {
            throw CLIPError.invalidInput("text ids: \(ids.count) values for a [\(b), \(t)] batch")
        }
        guard t <= tc.maxPositionEmbeddings else {
            throw CLIPError.invalidInput("text length \(t) exceeds max_position_embeddings \(tc.maxPositionEmbeddings)")
        }
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= tc.vocabSize }) {
            throw CLIPError.invalidInput("token id \(bad) is outside the vocabulary of \(tc.vocabSize)")
        }
        let pooled = pooledPositions(ids: ids, b: b, t: t)
        let used = (pooled.max() ?? 0) + 1
        var tokens = [Int32](repeating: 0, count: b * used)
        for row in 0..<b { for j in 0..<used { tokens[row * used + j] = ids[row * t + j] } }
        let rows = pooled.enumerated().map { Int32($0.offset * used + $0.element) }
        let acts = CLIPTextActivations(model: self, tokens: tokens, b: b, t: used, pooledRows: rows)
        let c = tc.hiddenSize, n = b * used, x = acts.encoder.input, e = acts.extra
        tokens.withUnsafeBufferPointer { tk in
            guard let base = tk.baseAddress else { return }
            Embedding.forward(out: x, tokens: base, weight: params["text_model.embeddings.token_embedding.weight"], n: n, c: c)
        }
        let pos = params["text_model.embeddings.position_embedding.weight"]
        for row in 0..<b { CLIPMath.add(x + row * used * c, pos, used * c) }
        CLIPEncoder.forward(textTower, params: params, acts: acts.encoder)
        rows.withUnsafeBufferPointer { r in
            guard let base = r.baseAddress else { return }
            Rows.gather(out: e["pooled"], inp: acts.encoder.output, rows: base, p: b, c: c)
        }
        LayerNorm.forward(out: e["pooledNorm"], mean: e["mean"], rstd: e["rstd"], inp: e["pooled"],
                          weight: params["text_model.final_layer_norm.weight"], bias: params["text_model.final_layer_norm.bias"],
                          n: b, c: c, eps: tc.layerNormEps)
        Linear.forward(out: e["features"], inp: e["pooledNorm"], weight: params["text_projection.weight"], bias: nil,
                       n: b, ic: c, oc: config.projectionDim)
        return acts
    }

    /// Backward of `textForward` from `dfeatures` [B, P], accumulating into `grads`.
    public func textBackward(dfeatures: UnsafePointer<Float>, acts: CLIPTextActivations) {
        let tc = config.textConfig, b = acts.b, t = acts.t, c = tc.hiddenSize, n = b * t, e = acts.extra
        let dpooledNorm = e["dpooledNorm"], dpooled = e["dpooled"]
        dpooledNorm.update(repeating: 0, count: b * c)
        Linear.backward(dinp: dpooledNorm, dweight: grads["text_projection.weight"], dbias: nil, dout: dfeatures,
                        inp: e["pooledNorm"], weight: params["text_projection.weight"], n: b, ic: c, oc: config.projectionDim)
        dpooled.update(repeating: 0, count: b * c)
        LayerNorm.backward(dinp: dpooled, dweight: grads["text_model.final_layer_norm.weight"],
                           dbias: grads["text_model.final_layer_norm.bias"], dout: dpooledNorm, inp: e["pooled"],
                           weight: params["text_model.final_layer_norm.weight"], mean: e["mean"], rstd: e["rstd"], n: b, c: c)
        let dres = acts.encoder.dresidual
        dres.update(repeating: 0, count: n * c)
        acts.pooledRows.withUnsafeBufferPointer { r in
            guard let base = r.baseAddress else { return }
            Rows.scatterAdd(dinp: dres, dout: dpooled, rows: base, p: b, c: c)
        }
        CLIPEncoder.backward(textTower, params: params, grads: grads, acts: acts.encoder)
        acts.tokens.withUnsafeBufferPointer { tk in
            guard let base = tk.baseAddress else { return }
            Embedding.backward(dweight: grads["text_model.embeddings.token_embedding.weight"], dout: dres, tokens: base, n: n, c: c)
        }
        let dpos = grads["text_model.embeddings.position_embedding.weight"]
        for row in 0..<b { CLIPMath.add(dpos, dres + row * t * c, t * c) }
    }

    /// Vision forward over `pixels` [B, channels, image, image] (preprocessed, as HF `pixel_values`).
    public func visionForward(pixels: [Float], b: Int) throws -> CLIPVisionActivations {
        let v = config.visionConfig, im = v.imageSize, ps = v.patchSize, g = v.gridSize, ch = v.numChannels
        guard b > 0, pixels.count == b * ch * im * im else {
            throw CLIPError.invalidInput("pixel values: \(pixels.count) values for a [\(b), \(ch), \(im), \(im)] batch")
        }
        let acts = CLIPVisionActivations(model: self, b: b)
        let e = acts.extra, c = v.hiddenSize, np = v.numPatches, s = np + 1, k = ch * ps * ps
        let patches = e["patches"]
        pixels.withUnsafeBufferPointer { px in  // im2col: patch (gy, gx) → row [ch, ky, kx], the conv weight's order
            for bi in 0..<b {
                for gy in 0..<g {
                    for gx in 0..<g {
                        let row = patches + ((bi * g + gy) * g + gx) * k
                        for ci in 0..<ch {
                            for ky in 0..<ps {
                                let src = ((bi * ch + ci) * im + gy * ps + ky) * im + gx * ps
                                for kx in 0..<ps { row[(ci * ps + ky) * ps + kx] = px[src + kx] }
                            }
                        }
                    }
                }
            }
        }
        Linear.forward(out: e["patchEmbeds"], inp: patches, weight: params["vision_model.embeddings.patch_embedding.weight"],
                       bias: nil, n: b * np, ic: k, oc: c)
        let emb = e["embeddings"], pos = params["vision_model.embeddings.position_embedding.weight"]
        let cls = params["vision_model.embeddings.class_embedding"]
        for bi in 0..<b {
            let dst = emb + bi * s * c
            dst.update(from: cls, count: c)
            (dst + c).update(from: e["patchEmbeds"] + bi * np * c, count: np * c)
            CLIPMath.add(dst, pos, s * c)
        }
        LayerNorm.forward(out: acts.encoder.input, mean: e["preMean"], rstd: e["preRstd"], inp: emb,
                          weight: params["vision_model.pre_layrnorm.weight"], bias: params["vision_model.pre_layrnorm.bias"],
                          n: b * s, c: c, eps: v.layerNormEps)
        CLIPEncoder.forward(visionTower, params: params, acts: acts.encoder)
        for bi in 0..<b { (e["cls"] + bi * c).update(from: acts.encoder.output + bi * s * c, count: c) }
        LayerNorm.forward(out: e["clsNorm"], mean: e["postMean"], rstd: e["postRstd"], inp: e["cls"],
                          weight: params["vision_model.post_layernorm.weight"], bias: params["vision_model.post_layernorm.bias"],
                          n: b, c: c, eps: v.layerNormEps)
        Linear.forward(out: e["features"], inp: e["clsNorm"], weight: params["visual_projection.weight"], bias: nil,
                       n: b, ic: c, oc: config.projectionDim)
        return acts
    }

    /// Backward of `visionForward` from `dfeatures` [B, P], accumulating into `grads`.
    public func visionBackward(dfeatures: UnsafePointer<Float>, acts: CLIPVisionActivations) {
        let v = config.visionConfig, b = acts.b, c = v.hiddenSize, np = v.numPatches, s = np + 1, e = acts.extra
        let k = v.numChannels * v.patchSize * v.patchSize
        let dclsNorm = e["dclsNorm"], dcls = e["dcls"]
        dclsNorm.update(repeating: 0, count: b * c)
        Linear.backward(dinp: dclsNorm, dweight: grads["visual_projection.weight"], dbias: nil, dout: dfeatures,
                        inp: e["clsNorm"], weight: params["visual_projection.weight"], n: b, ic: c, oc: config.projectionDim)
        dcls.update(repeating: 0, count: b * c)
        LayerNorm.backward(dinp: dcls, dweight: grads["vision_model.post_layernorm.weight"],
                           dbias: grads["vision_model.post_layernorm.bias"], dout: dclsNorm, inp: e["cls"],
                           weight: params["vision_model.post_layernorm.weight"], mean: e["postMean"], rstd: e["postRstd"], n: b, c: c)
        let dres = acts.encoder.dresidual
        dres.update(repeating: 0, count: b * s * c)
        for bi in 0..<b { (dres + bi * s * c).update(from: dcls + bi * c, count: c) }
        CLIPEncoder.backward(visionTower, params: params, grads: grads, acts: acts.encoder)
        let demb = e["dembeddings"]
        demb.update(repeating: 0, count: b * s * c)
        LayerNorm.backward(dinp: demb, dweight: grads["vision_model.pre_layrnorm.weight"],
                           dbias: grads["vision_model.pre_layrnorm.bias"], dout: dres, inp: e["embeddings"],
                           weight: params["vision_model.pre_layrnorm.weight"], mean: e["preMean"], rstd: e["preRstd"],
                           n: b * s, c: c)
        let dpos = grads["vision_model.embeddings.position_embedding.weight"]
        let dclass = grads["vision_model.embeddings.class_embedding"], dpatch = e["dpatchEmbeds"]
        for bi in 0..<b {
            let src = demb + bi * s * c
            CLIPMath.add(dpos, src, s * c)
            CLIPMath.add(dclass, src, c)
            (dpatch + bi * np * c).update(from: src + c, count: np * c)
        }
        Linear.backward(dinp: nil, dweight: grads["vision_model.embeddings.patch_embedding.weight"], dbias: nil,
                        dout: dpatch, inp: e["patches"], weight: params["vision_model.embeddings.patch_embedding.weight"],
                        n: b * np, ic: k, oc: c)
    }

    /// L2-normalised text and image embeddings and the logits `exp(logit_scale) · text · imageᵀ` [Bt, Bi],
    /// as `CLIPModel.forward` returns them.
    public func embed(ids: [Int32], b: Int, t: Int, pixels: [Float], images: Int) throws
        -> (textEmbeds: [Float], imageEmbeds: [Float], logitsPerText: [Float]) {
        let p = config.projectionDim
        let text = CLIPScoring.normalised(Array(UnsafeBufferPointer(start: try textForward(ids: ids, b: b, t: t).features, count: b * p)), dim: p)
        let image = CLIPScoring.normalised(Array(UnsafeBufferPointer(start: try visionForward(pixels: pixels, b: images).features, count: images * p)), dim: p)
        let scale = Foundation.exp(logitScale)
        var logits = [Float](repeating: 0, count: b * images)
        for i in 0..<b {
            for j in 0..<images {
                var dot: Float = 0
                for d in 0..<p { dot += text[i * p + d] * image[j * p + d] }
                logits[i * images + j] = scale * dot
            }
        }
        return (text, image, logits)
    }
}

/// Cosine scores on embeddings.
public enum CLIPScoring {
    /// Each row of `x` [R, dim] divided by its L2 norm (as `x / x.norm(dim=-1)`).
    public static func normalised(_ x: [Float], dim: Int) -> [Float] {
        var out = x
        for r in 0..<(x.count / max(dim, 1)) {
            var ss: Float = 0
            for d in 0..<dim { ss += x[r * dim + d] * x[r * dim + d] }
            let inv = 1 / ss.squareRoot()
            for d in 0..<dim { out[r * dim + d] = x[r * dim + d] * inv }
        }
        return out
    }
}
