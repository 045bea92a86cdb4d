// The CLIP training loop (`pararl clip train` and the demo's CLIP stage call it): the config's steps with a progress
// report every `log_every` steps, then the model in Hugging Face layout, the resolved config and the evaluation.
//   OUT/model/ (config.json, model.safetensors)  OUT/config.resolved.json  OUT/report.json
import Foundation
import ParaRLCore
import ParaRLRunKit

/// One progress report: the mean loss since the previous one.
public struct CLIPTrainProgress: Sendable {
    public var step: Int, steps: Int
    public var meanLoss: Double, gradNorm: Double
    public var logitScale: Float
    public var stepsPerSecond: Double, etaSeconds: Double
}

/// What a finished CLIP training run measured (OUT/report.json).
public struct CLIPTrainReport: Codable, Sendable {
    public var steps: Int, trainSeconds: Double, finalLoss: Double, logitScale: Float
    public var evaluation: CLIPWorldEvaluation
    enum CodingKeys: String, CodingKey {
        case steps, trainSeconds = "train_seconds", finalLoss = "final_loss", logitScale = "logit_scale", evaluation
    }
}

public enum CLIPTrainRun {
    public static let modelFolder = "model", resolvedConfigFile = "config.resolved.json", reportFile = "report.json"

    /// Trains a CLIP of `config` into `config.out`; `onProgress` sees every `log_every`-th step and the last one.
    @discardableResult
    public static func run(config: CLIPTrainConfig, tokenizer: CLIPTokenizer,
                           onProgress: (CLIPTrainProgress) -> Void = { _ in }) throws -> CLIPTrainReport {
        let samples = try config.policySamples.map { try CLIPPolicySamples.load(URL(fileURLWithPath: $0)) }
        let trainer = try CLIPTrainer(config: config, tokenizer: tokenizer, samples: samples)
        let outURL = URL(fileURLWithPath: config.out)
        do { try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true) } catch {
            throw ParaRLError.io(path: outURL.path, reason: "cannot create the output folder: \(error.localizedDescription)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(config), to: outURL.appendingPathComponent(resolvedConfigFile))
        let start = Date()
        let throughput = Throughput(start: start, firstStep: 0)
        var recent: [Double] = [], lastLoss = 0.0
        for step in 0..<config.steps {
            let (loss, norm) = try trainer.step(index: step)
            recent.append(loss)
            lastLoss = loss
            if (step + 1) % config.logEvery == 0 || step + 1 == config.steps {
                onProgress(CLIPTrainProgress(step: step + 1, steps: config.steps, meanLoss: recent.reduce(0, +) / Double(recent.count),
                                             gradNorm: norm, logitScale: trainer.model.logitScale,
                                             stepsPerSecond: throughput.rate(step: step + 1),
                                             etaSeconds: throughput.eta(step: step + 1, of: config.steps)))
                recent.removeAll()
            }
        }
        let trainSeconds = Date().timeIntervalSince(start)
        try trainer.model.save(directory: outURL.appendingPathComponent(modelFolder))
        let report = CLIPTrainReport(steps: config.steps, trainSeconds: trainSeconds, finalLoss: lastLoss,
                                     logitScale: trainer.model.logitScale, evaluation: try trainer.evaluate())
        try AtomicFile.write(try encoder.encode(report), to: outURL.appendingPathComponent(reportFile))
        return report
    }
}
