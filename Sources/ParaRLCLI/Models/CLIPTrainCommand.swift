// `pararl clip train`: trains the world CLIP from a YAML config and saves it in Hugging Face layout.
import ArgumentParser
import Foundation
import ParaRLCLIP
import ParaRLCore

struct CLIPTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a small CLIP contrastively on world scenes with one-attribute hard negatives.",
        discussion: """
            Pairs are world target scenes with captions, reasoning traces and partial traces; every anchor brings
            a negative that changes one attribute (colour, shape, count, position). Writes <out>/model (HF layout,
            loadable by transformers.CLIPModel), <out>/config.resolved.json and <out>/report.json (training time,
            text→image top-1 retrieval and hard-negative win rate on the evaluation scenes).
            Example:
              pararl clip train --config rl-configs/clip-tiny.yaml
            """)

    @Option(help: "YAML config (see rl-configs/clip-tiny.yaml).") var config: String
    @Option(help: "Override the config's output folder.") var out: String?
    @Option(help: "Override the config's step count.") var steps: Int?
    @Flag(help: "Print the final report as JSON.") var json = false
    @OptionGroup var vocabulary: CLIPVocabularyOptions
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        compute.apply()
        var settings = try CLIPTrainConfig.load(url: URL(fileURLWithPath: config))
        if let out { settings.out = out }
        if let steps { settings.steps = steps }
        let report = try CLIPTrainRun.run(config: settings, tokenizer: try vocabulary.tokenizer()) { p in
            print(String(format: "step %d/%d loss %.4f grad_norm %.3f logit_scale %.3f %.2f steps/s eta %.0fs",
                         p.step, p.steps, p.meanLoss, p.gradNorm, p.logitScale, p.stepsPerSecond, p.etaSeconds))
            fflush(stdout)  // one line per log interval, also when stdout is a file
        }
        let evaluation = report.evaluation
        if json { try printJSON(report) } else {
            print(String(format: "trained %d steps in %.1f s; retrieval top-1 %.3f, hard-negative win rate %.3f (caption %.3f, reasoning %.3f)",
                         settings.steps, report.trainSeconds, evaluation.retrievalTop1, evaluation.hardNegativeWinRate,
                         evaluation.winRateCaption, evaluation.winRateReasoning))
            print("by attribute: " + evaluation.winRateByAttribute.sorted { $0.key < $1.key }
                .map { String(format: "%@ %.3f", $0.key, $0.value) }.joined(separator: ", "))
            print("model: \(URL(fileURLWithPath: settings.out).appendingPathComponent(CLIPTrainRun.modelFolder).path)")
        }
    }
}
