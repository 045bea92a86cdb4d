// Bad input to the `pararl` executable ends in a clear message and a non-zero exit, never a signal or a hang
// (issue "Hardening"): each case below crashed, hung or was accepted before.
import Foundation
import Testing

@Suite("CLI hardening")
struct CLIHardeningTests {
    static let root = MPIHarness.packageRoot
    static let policy = root.appendingPathComponent("Tests/ParaRLPolicyTests/Fixtures/policy_micro").path

    /// Runs `pararl args` and expects a clean failure whose standard error contains `message`.
    func refuses(_ args: [String], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try MPIHarness.run(ranks: nil, args, timeout: 60)
        #expect(!r.timedOut && !r.signaled && r.status != 0, "\(args): status \(r.status), signaled \(r.signaled), timed out \(r.timedOut)",
                sourceLocation: sourceLocation)
        #expect(r.stderr.contains(message), "\(args): stderr \(r.stderr)", sourceLocation: sourceLocation)
    }

    func folder(_ label: String) throws -> URL { try MPIHarness.temporary(label) }

    @Test("counts: INT64_MAX steps, group and token ids; empty list items; threads; image sizes")
    func counts() throws {
        let dir = try folder("counts")
        defer { try? FileManager.default.removeItem(at: dir) }
        try refuses(["train", "--config", "rl-configs/pararl-micro.yaml", "--run-dir", dir.appendingPathComponent("r").path,
                     "--steps", "9223372036854775807"], "steps")
        try refuses(["sample", "--checkpoint", Self.policy, "--instruction", "x", "--group", "9223372036854775807",
                     "--out", dir.appendingPathComponent("s").path], "--group")
        try refuses(["policy", "logits", "--checkpoint", Self.policy, "--tokens", "9223372036854775807"], "outside the vocabulary")
        try refuses(["policy", "logits", "--checkpoint", Self.policy, "--tokens", "1,,2"], "not an integer")
        try refuses(["bench", "gemm", "--threads", "100000"], "--threads")
        let pred = dir.appendingPathComponent("pred.jsonl")
        try Data().write(to: pred)
        try refuses(["world", "judge", "--pred", pred.path, "--image-size", "0"], "--image-size")
        try refuses(["world", "judge", "--pred", pred.path], "holds no predictions")
        try refuses(["tokenizer", "fit", "--data", dir.path, "--codebook", "1000000000", "--out", dir.appendingPathComponent("v").path],
                    "--codebook")
        try refuses(["clip", "tokenize", "--text", "a", "--context", "1000000000"], "--context")
        try refuses(["world", "generate", "--split", "eval", "--count", "1", "--image-size", "100000", "--out", dir.path], "--image-size")
    }

    @Test("configs: YAML aliases and a billion laughs, a device as a config, huge config.json sizes")
    func configs() throws {
        let dir = try folder("configs")
        defer { try? FileManager.default.removeItem(at: dir) }
        let alias = dir.appendingPathComponent("alias.yaml")
        try Data("seed: &s 7\nworld_seed: *s\n".utf8).write(to: alias)
        try refuses(["train", "--config", alias.path, "--run-dir", dir.appendingPathComponent("a").path], "anchors and aliases")
        var laughs = "seed: 1\nsampler:\n  partial_text_placeholder: &l0 \"lol\"\n"
        for i in 1...9 { laughs += "  l\(i): &l\(i) [" + Array(repeating: "*l\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        let bomb = dir.appendingPathComponent("laughs.yaml")
        try Data(laughs.utf8).write(to: bomb)
        try refuses(["train", "--config", bomb.path, "--run-dir", dir.appendingPathComponent("b").path], "anchors and aliases")
        try refuses(["train", "--config", "/dev/zero", "--run-dir", dir.appendingPathComponent("c").path], "a device")
        for (key, value, message) in [("d_model", "1000000000000", "d_model"), ("n_layers", "10000000", "would need about"),
                                      ("d_model", "4000000", "would need about")] {
            let model = dir.appendingPathComponent("model-\(key)")
            try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
            var text = try String(contentsOfFile: Self.policy + "/config.json", encoding: .utf8)
            text = text.replacingOccurrences(of: #"(?m)"\#(key)": [0-9]+"#, with: "\"\(key)\": \(value)", options: .regularExpression)
            try Data(text.utf8).write(to: model.appendingPathComponent("config.json"))
            try refuses(["policy", "logits", "--checkpoint", model.path, "--tokens", "1"], message)
        }
    }
}
