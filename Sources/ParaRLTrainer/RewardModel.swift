// The run's reward model (docs/design.md §3.5, config key `reward:`) and its monitor. Both score (partial text, partial
// image) pairs with a raw score c that Eq. 4 normalises: `clip` (default, as the paper) is the CLIP scorer's
// 100 · cos; `world` is the exact world reward, 100 × the scene similarity between what the text states so far and
// the scene parsed from the image (`WorldAlignment`: the judge's output alignment extended to partial states).
// Whatever the training reward, the other one is logged beside it with weight 0 (`reward_monitor`), so a run shows
// "reward up, judge-like reward down" while it trains.
import Foundation
import ParaRLCLIP
import ParaRLMedia
import ParaRLWorld

/// Where the raw score c of the reward comes from.
public enum RewardSource: String, Codable, Sendable, CaseIterable {
    /// The CLIP scorer of `clip_model` (the paper's reward).
    case clip
    /// The exact world reward (needs no model).
    case world

    /// The other source: the monitor of a run trained on this one.
    public var other: RewardSource { self == .clip ? .world : .clip }
}

/// Scores (text, image) pairs with a raw score c in CLIP's units (0–100 in practice). `complete[i]`: pair i is a final
/// output (t = T), which the world reward reads strictly as the judge does; CLIP ignores it.
public protocol PairScorer {
    func pairScores(texts: [String], images: [RGBImage], complete: [Bool]) throws -> [Float]
}

extension CLIPScorer: PairScorer {
    public func pairScores(texts: [String], images: [RGBImage], complete: [Bool]) throws -> [Float] {
        try scores(texts: texts, images: images)
    }
}

/// What CLIP reads of a (partial) reasoning text (`clip_text`).
public enum CLIPTextReading: String, Codable, Sendable, CaseIterable {
    /// The whole text, truncated to the CLIP context (the paper's reading).
    case trace
    /// From the last "final scene" on (the statement the judge reads), or the whole text while none is written yet.
    case statement

    /// The part of `text` CLIP scores.
    public func read(_ text: String) -> String {
        guard self == .statement, let r = text.range(of: "final scene", options: [.backwards, .caseInsensitive]) else { return text }
        return String(text[r.lowerBound...])
    }
}

/// A CLIP scorer that scores what `reading` takes of each text.
public struct ReadingCLIPScorer: PairScorer {
    public let scorer: CLIPScorer
    public let reading: CLIPTextReading

    public func pairScores(texts: [String], images: [RGBImage], complete: [Bool]) throws -> [Float] {
        try scorer.scores(texts: texts.map(reading.read), images: images)
    }
}

extension WorldAlignment: PairScorer {
    public func pairScores(texts: [String], images: [RGBImage], complete: [Bool]) throws -> [Float] {
        scores(texts: texts, images: images, complete: complete)
    }
}

extension ParaRLRun {
    /// The scorer of `source` for a config whose paths are resolved; `key` names the config key an error is about.
    static func pairScorer(_ source: RewardSource, _ config: ParaRLConfig, file: String) throws -> any PairScorer {
        switch source {
        case .clip:
            let clip = try scorer(config, file: file)
            return config.clipText == .trace ? clip : ReadingCLIPScorer(scorer: clip, reading: config.clipText)
        case .world: return WorldAlignment()
        }
    }

    /// The training reward's scorer of a config (paths resolved).
    static func rewardScorer(_ config: ParaRLConfig, file: String) throws -> any PairScorer {
        try pairScorer(config.reward, config, file: file)
    }

    /// The monitor's scorer (the other source), or nil with `reward_monitor: false`.
    static func monitorScorer(_ config: ParaRLConfig, file: String) throws -> (any PairScorer)? {
        config.rewardMonitor ? try pairScorer(config.reward.other, config, file: file) : nil
    }

    /// What the calibration records as the reward model: the CLIP folder, or "world".
    static func rewardModelName(_ config: ParaRLConfig) -> String {
        config.reward == .clip ? config.clipModel : RewardSource.world.rawValue
    }
}

extension AgreementStudy {
    /// The named scorers of `sources` for a config whose paths are resolved: `clip (FOLDER)` or `world`.
    public static func scorers(_ sources: [RewardSource], config: ParaRLConfig,
                               file: String) throws -> [(name: String, scorer: any PairScorer)] {
        try sources.map { source in
            (source == .clip ? "clip (\(config.clipModel))" : "world", try ParaRLRun.pairScorer(source, config, file: file))
        }
    }
}
