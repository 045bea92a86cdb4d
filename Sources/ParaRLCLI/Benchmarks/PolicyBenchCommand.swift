// `pararl policy bench-sft-step`: one full SFT train step of the policy (forward, restricted heads at the
// masked positions, 1/t-weighted CE, backward, clipping, AdamW) — the step tools/bench/peer_torch.py
// --sft-step runs in PyTorch — with the machine's sgemm rate measured in the same run.
import ArgumentParser
import Foundation
import ParaRLMedia
import ParaRLCore
import ParaRLPolicy

struct PolicyBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-sft-step",
        abstract: "Time one SFT train step of the policy (default: the tiny model, B=32, world layout T=272).",
        discussion: """
            Tokens, masks and weights are deterministic functions of the position, the same as in
            tools/bench/peer_torch.py --sft-step: token i = (i·7919) mod V; an output position (the last
            --output positions of each sequence: the first --image of them image codes, the rest text) is masked
            when (i·104729 + 13) mod 100 < 50, with t = 0.5; text rows weigh 1/t, image rows 1, over
            B·output. Reports seconds per step, sequences/s, GFLOP/s and the share of the best sgemm rate
            measured on transformer-shaped matrices.
            Example: pararl policy bench-sft-step --threads 2 --json
            """)

    @OptionGroup var compute: ComputeOptions
    @Option(help: "Batch size B.") var batch = 32
    @Option(help: "Sequence length T.") var seq = 272
    @Option(help: "Output positions at the end of each sequence (image codes then text).") var output = 160
    @Option(help: "Image positions among the output positions.") var image = 64
    @Option(help: "Model width d_model.") var dModel = 256
    @Option(help: "Blocks.") var layers = 6
    @Option(help: "Attention heads.") var heads = 4
    @Option(help: "SwiGLU hidden width.") var mlp = 704
    @Option(help: "Text vocabulary size Vt.") var textVocab = 381
    @Option(help: "Image codebook size K.") var codebook = 512
    @Option(help: "Timed repetitions (median reported).") var repeats = 5
    @Flag(help: "Print JSON.") var json = false

    struct Result: Codable {
        var seconds: Double, sequencesPerSecond: Double, gflops: Double, flops: Double
        var sgemmGflops: Double, percentOfSgemm: Double, loss: Double
        var textRows: Int, imageRows: Int, threads: Int, backend: String, openblasCore: String, parameters: Int
    }

    func validate() throws {
        if output > seq || image >= output { throw ValidationError("need image < output ≤ seq") }
    }

    func run() throws {
        compute.apply()
        let vocabulary = UnifiedVocabulary(textCount: textVocab, codebookSize: codebook)
        var arch = PolicyArchitecture()
        arch.dModel = dModel; arch.nLayers = layers; arch.nHeads = heads; arch.mlpHiddenSize = mlp; arch.maxSequenceLength = seq
        let policy = try Policy(config: arch.modelConfig(vocabulary: vocabulary))
        var rng = RandomStream(seed: 0)
        policy.initialise(std: 0.02, rng: &rng)
        let model = policy.model, v = vocabulary.size, b = batch, t = seq
        let acts = TransformerActivations(config: policy.config.transformer, b: b, t: t)
        var tokens = (0..<(b * t)).map { Int32(($0 * 7919) % v) }
        let imageStart = t - output, textStart = imageStart + image
        var text: (rows: [Int32], targets: [Int32], weights: [Float]) = ([], [], [])
        var img: (rows: [Int32], targets: [Int32], weights: [Float]) = ([], [], [])
        for i in 0..<(b * t) where i % t >= imageStart && (i * 104_729 + 13) % 100 < 50 {
            if i % t < textStart {
                img.rows.append(Int32(i)); img.targets.append(Int32(i % codebook)); img.weights.append(1 / Float(b * output))
            } else {
                text.rows.append(Int32(i)); text.targets.append(Int32(i % (textVocab + 2))); text.weights.append(2 / Float(b * output))
            }
            tokens[i] = Int32(vocabulary.special.mask)
        }
        let optimizer = try AdamW(parameterCount: model.params.count)
        let heads: [((rows: [Int32], targets: [Int32], weights: [Float]), VocabularySlice)] =
            [(text, vocabulary.textSlice), (img, vocabulary.imageSlice)]
        var lastLoss = 0.0
        func step() {
            model.grads.zero()
            model.forward(tokens: tokens, keyMask: nil, acts: acts)
            var loss = 0.0
            for (k, (h, slice)) in heads.enumerated() {
                let p = h.rows.count, w = slice.count
                var logits = [Float](repeating: 0, count: p * w), probs = logits, dlogits = logits
                var hidden = [Float](repeating: 0, count: p * dModel), losses = [Float](repeating: 0, count: p)
                model.headForward(logits: &logits, hiddenRows: &hidden, rows: h.rows, p: p, slice: slice, acts: acts)
                loss += MaskedCrossEntropy.forward(losses: &losses, probs: &probs, logits: logits, targets: h.targets,
                                                   weights: h.weights, p: p, w: w)
                MaskedCrossEntropy.backward(dlogits: &dlogits, probs: probs, targets: h.targets, weights: h.weights, dloss: 1, p: p, w: w)
                model.headBackward(dlogits: dlogits, hiddenRows: hidden, rows: h.rows, p: p, slice: slice, acts: acts, accumulate: k > 0)
            }
            model.backward(tokens: tokens, acts: acts)
            _ = GradientClipping.clip(model.grads.buffer, maxNorm: 1)
            optimizer.step(parameters: model.params.buffer, gradients: model.grads.buffer, lr: 1e-4)
            lastLoss = loss
        }
        let seconds = timeIt(repeats: max(1, repeats), minSeconds: 0) { step() }
        let tc = policy.config.transformer
        let body = tc.forwardFLOPs(tokens: b * t, t: t, headRows: 0, headColumns: 0)
        let headFLOPs = 2 * Double(dModel) * (Double(text.rows.count * vocabulary.textSlice.count) + Double(img.rows.count * codebook))
        let flops = 3 * (body + headFLOPs)
        let sgemm = bestSGEMM(n: b * t)
        let gflops = flops / seconds / 1e9
        let r = Result(seconds: seconds, sequencesPerSecond: Double(b) / seconds, gflops: gflops, flops: flops, sgemmGflops: sgemm,
                       percentOfSgemm: 100 * gflops / sgemm, loss: lastLoss, textRows: text.rows.count, imageRows: img.rows.count,
                       threads: Parallel.threadCount, backend: GEMM.backend.name, openblasCore: OpenBLASGEMM.coreName,
                       parameters: tc.parameterCount)
        if json {
            print(String(decoding: try JSONText.outputEncoder().encode(r), as: UTF8.self))
        } else {
            print(String(format: "SFT step: %.3f s, %.1f sequences/s, %.0f GFLOP/s = %.0f%% of sgemm (%.0f GFLOP/s), %d params, %d threads, %@ [%@]",
                         r.seconds, r.sequencesPerSecond, r.gflops, r.percentOfSgemm, r.sgemmGflops, r.parameters, r.threads,
                         r.backend, r.openblasCore))
        }
    }

    /// The best GFLOP/s of the backend on the step's own matmul shapes (N×C·C×C, N×C·C×H, N×H·H×C).
    func bestSGEMM(n: Int) -> Double {
        var best = 0.0
        for (k, m) in [(dModel, dModel), (dModel, mlp), (mlp, dModel)] {
            let a = [Float](repeating: 0.5, count: n * k), w = [Float](repeating: 0.25, count: m * k)
            var c = [Float](repeating: 0, count: n * m)
            let s = timeIt(repeats: 3, minSeconds: 0) { GEMM.sgemm(transB: true, m: n, n: m, k: k, a: a, lda: k, b: w, ldb: k, c: &c, ldc: m) }
            best = max(best, 2 * Double(n * m * k) / s / 1e9)
        }
        return best
    }
}
