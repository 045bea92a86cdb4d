// `pararl bench transformer`: forward+backward of the LLaDA-style transformer with a cross-entropy head,
// the same computation tools/bench/peer_torch.py runs in PyTorch.
import ArgumentParser
import Foundation
import ParaRLMedia
import ParaRLCore

struct BenchTransformer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transformer",
        abstract: "Time one forward+backward of the transformer (default: 6 blocks, d256, B32, T224).",
        discussion: "Example: pararl bench transformer --threads 2 --json")

    @OptionGroup var compute: ComputeOptions
    @Option(help: "Batch size B.") var batch = 32
    @Option(help: "Sequence length T.") var seq = 224
    @Option(help: "Model width d_model.") var dModel = 256
    @Option(help: "Blocks.") var layers = 6
    @Option(help: "Attention heads.") var heads = 4
    @Option(help: "SwiGLU hidden width.") var mlp = 704
    @Option(help: "Vocabulary size.") var vocab = 1100
    @Option(help: "Timed repetitions (median reported).") var repeats = 5
    @Flag(help: "Print JSON.") var json = false

    struct Result: Codable {
        var seconds: Double, forwardSeconds: Double, gflops: Double, flops: Double
        var threads: Int, backend: String, openblasCore: String, parameters: Int
    }

    func run() throws {
        compute.apply()
        let config = TransformerConfig(dModel: dModel, nLayers: layers, nHeads: heads, mlpHiddenSize: mlp, vocabSize: vocab)
        let model = try Transformer(config: config, maxSequenceLength: seq)
        var rng = RandomStream(seed: 0)
        model.initialiseWeights(rng: &rng)
        let acts = TransformerActivations(config: config, b: batch, t: seq)
        let n = batch * seq
        let tokens = (0..<n).map { Int32(($0 * 7919) % vocab) }
        let targets = (0..<n).map { Int32(($0 * 104_729 + 13) % vocab) }
        let rows = (0..<n).map { Int32($0) }
        let weights = [Float](repeating: 1 / Float(n), count: n)
        let slice = VocabularySlice([0..<vocab])
        var logits = [Float](repeating: 0, count: n * vocab), probs = logits, dlogits = logits
        var hiddenRows = [Float](repeating: 0, count: n * dModel), losses = [Float](repeating: 0, count: n)

        func forward() -> Double {
            model.forward(tokens: tokens, keyMask: nil, acts: acts)
            model.headForward(logits: &logits, hiddenRows: &hiddenRows, rows: rows, p: n, slice: slice, acts: acts)
            return MaskedCrossEntropy.forward(losses: &losses, probs: &probs, logits: logits, targets: targets,
                                              weights: weights, p: n, w: vocab)
        }
        func step() {
            _ = forward()
            model.grads.zero()
            dlogits.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            MaskedCrossEntropy.backward(dlogits: &dlogits, probs: probs, targets: targets, weights: weights, dloss: 1, p: n, w: vocab)
            model.headBackward(dlogits: dlogits, hiddenRows: hiddenRows, rows: rows, p: n, slice: slice, acts: acts)
            model.backward(tokens: tokens, acts: acts)
        }
        let fwd = timeIt(repeats: repeats, minSeconds: 0) { _ = forward() }
        let total = timeIt(repeats: repeats, minSeconds: 0, step)
        let flops = 3 * config.forwardFLOPs(tokens: n, t: seq, headRows: n, headColumns: vocab)
        let r = Result(seconds: total, forwardSeconds: fwd, gflops: flops / total / 1e9, flops: flops,
                       threads: Parallel.threadCount, backend: GEMM.backend.name, openblasCore: OpenBLASGEMM.coreName,
                       parameters: config.parameterCount)
        if json {
            print(String(decoding: try JSONText.outputEncoder().encode(r), as: UTF8.self))
        } else {
            print(String(format: "transformer fwd+bwd: %.3f s (forward %.3f s), %.0f GFLOP/s, %d params, %d threads, %@ [%@]",
                         r.seconds, r.forwardSeconds, r.gflops, r.parameters, r.threads, r.backend, r.openblasCore))
        }
    }
}
