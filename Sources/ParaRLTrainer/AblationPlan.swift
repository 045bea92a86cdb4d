// `pararl ablate`'s plan (issue 9; the paper's Tables 3–5): variants of one base ParaRL config, each run once per
// seed with the same step budget into its own run folder OUT/<variant>-seed<seed>, and the state of each folder so
// an interrupted ablation resumes (finished runs are skipped, started ones continue from their last checkpoint).
import Foundation
import ParaRLDistributed
import ParaRLRunKit
import ParaRLPolicy
import ParaRLStorage
import Yams

public struct AblationVariant: Sendable {
    public var name: String
    /// The base config with this variant's `set:` keys applied (relative paths still relative to the base file).
    public var config: ParaRLConfig
}

public struct AblationPlan: Sendable {
    public static let keys = ["base", "out", "seeds", "steps", "eval_tasks", "eval_every", "set", "variants"]
    public static let variantKeys = ["name", "set"]

    public var file: URL
    public var baseURL: URL
    public var outDirectory: URL
    public var seeds: [UInt64]
    public var variants: [AblationVariant]

    /// One training run of the plan.
    public struct Run: Sendable {
        public var variant: String
        public var seed: UInt64
        public var directory: URL
        public var config: ParaRLConfig
    }

    /// The position of variant `name` in the file (the end for an unknown name).
    public func variantIndex(_ name: String) -> Int { variants.firstIndex { $0.name == name } ?? variants.count }

    /// Every (variant, seed) run, variants in file order, seeds in list order.
    public var runs: [Run] {
        variants.flatMap { v in
            seeds.map { seed in
                var c = v.config
                c.seed = seed
                return Run(variant: v.name, seed: seed, directory: outDirectory.appendingPathComponent("\(v.name)-seed\(seed)"), config: c)
            }
        }
    }

    public static func load(_ url: URL, out: URL? = nil) throws -> AblationPlan {
        let source = url.path
        func bad(_ key: String, _ reason: String) -> TrainerError { .invalidConfig(file: source, key: key, reason: reason) }
        let text: String
        do { text = try StrictYAML.read(url) } catch let e as ParaRLError { throw TrainerError.from(e) }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw bad("", "not valid YAML: \(error)") }
        guard let root = node?.mapping else { throw bad("", "expected a mapping with keys \(keys.joined(separator: ", "))") }
        var values: [String: Node] = [:]
        for (k, v) in root {
            guard let key = k.string, keys.contains(key) else {
                throw bad(k.string ?? "\(k)", "unknown key (valid: \(keys.joined(separator: ", ")))")
            }
            values[key] = v
        }
        guard let baseName = values["base"]?.string else { throw bad("base", "needs the base ParaRL config file") }
        let folder = url.deletingLastPathComponent()
        let baseURL = URL(fileURLWithPath: baseName, relativeTo: folder).standardizedFileURL
        var base = try ParaRLConfig.load(baseURL)
        if let set = values["set"] { base = try apply(set, to: base, key: "set", source: source, label: "(plan set)") }
        if let n = values["steps"] {
            guard let s = n.int, s >= 1 else { throw bad("steps", "must be an integer ≥ 1") }
            base.steps = s
        }
        if let n = values["eval_tasks"] {
            guard let e = n.int, e >= 0 else { throw bad("eval_tasks", "must be an integer ≥ 0") }
            base.evalTasks = e
        }
        if let n = values["eval_every"] {
            guard let e = n.int, e >= 0 else { throw bad("eval_every", "must be an integer ≥ 0") }
            base.evalEvery = e
        }
        var seeds = [base.seed]
        if let n = values["seeds"] {
            guard let list = n.sequence, !list.isEmpty else { throw bad("seeds", "must be a non-empty list of seeds") }
            seeds = try list.map { s in
                guard let str = s.string, let v = UInt64(str) else { throw bad("seeds", "\(s.string ?? "?") is not a seed (integer ≥ 0)") }
                return v
            }
            guard Set(seeds).count == seeds.count else { throw bad("seeds", "lists a seed twice") }
        }
        let outDirectory = out ?? URL(fileURLWithPath: values["out"]?.string ?? "../runs/ablation", relativeTo: folder).standardizedFileURL
        guard let list = values["variants"]?.sequence, !list.isEmpty else { throw bad("variants", "needs a non-empty list of variants") }
        var variants: [AblationVariant] = []
        for (i, item) in list.enumerated() {
            guard let m = item.mapping else { throw bad("variants[\(i)]", "expected a mapping with name and set") }
            var name: String?, set: Node?
            for (k, v) in m {
                guard let key = k.string, variantKeys.contains(key) else {
                    throw bad("variants[\(i)].\(k.string ?? "?")", "unknown key (valid: name, set)")
                }
                if key == "name" { name = v.string } else { set = v }
            }
            guard let name, !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else {
                throw bad("variants[\(i)].name", "needs a name of letters, digits, '.', '_' or '-'")
            }
            guard !variants.contains(where: { $0.name == name }) else { throw bad("variants[\(i)].name", "\(name) is used twice") }
            let config = try set.map { try apply($0, to: base, key: "variants[\(i)].set", source: source, label: "(variant \(name))") } ?? base
            variants.append(AblationVariant(name: name, config: config))
        }
        return AblationPlan(file: url, baseURL: baseURL, outDirectory: outDirectory, seeds: seeds, variants: variants)
    }

    /// `config` with the keys of the mapping `set` changed (strict: unknown keys are errors naming them).
    static func apply(_ set: Node, to config: ParaRLConfig, key: String, source: String, label: String) throws -> ParaRLConfig {
        guard let mapping = set.mapping else {
            throw TrainerError.invalidConfig(file: source, key: key, reason: "expected a mapping of config keys")
        }
        guard !mapping.isEmpty else { return config }
        let yaml: String
        do { yaml = try Yams.serialize(node: set) } catch { throw TrainerError.invalidConfig(file: source, key: key, reason: "\(error)") }
        let changed: ParaRLConfig
        do {
            changed = try StrictYAML.decode(ParaRLConfig.self, from: yaml, defaults: config, keys: ParaRLConfig.keys,
                                            source: "\(source) \(label)")
        } catch let e as ParaRLError { throw TrainerError.from(e) }
        try changed.validate(source: "\(source) \(label)")
        return changed
    }

    // MARK: Run folders

    public enum RunState: Equatable, Sendable {
        /// No run folder yet.
        case pending
        /// Started, with a complete checkpoint at `step`.
        case resumable(step: Int)
        /// Started but stopped before its first checkpoint: it is set aside and started again.
        case incomplete
        /// The log marks the run ended (every step done, final evaluation stored).
        case finished

        /// The state as a number for broadcasting between ranks (the resume step travels with it).
        var code: Double {
            switch self {
            case .pending: return -1
            case .resumable(let step): return Double(step)
            case .incomplete: return -2
            case .finished: return -3
            }
        }

        init(code: Double) {
            switch code {
            case -3: self = .finished
            case -2: self = .incomplete
            case ..<0: self = .pending
            default: self = .resumable(step: Int(code))
            }
        }
    }

    public static func state(of directory: URL) throws -> RunState {
        let fm = FileManager.default
        guard fm.fileExists(atPath: directory.appendingPathComponent(ParaRLRun.configFile).path) else { return .pending }
        let logPath = directory.appendingPathComponent(RolloutLog.fileName).path
        if fm.fileExists(atPath: logPath), try RolloutLog(readingAt: logPath).runs().contains(where: { $0.endedAt != nil }) {
            return .finished
        }
        if let last = try TrainingCheckpoint.completed(runDirectory: directory).last { return .resumable(step: last.step) }
        return .incomplete
    }

    /// The trainer for `run`: a new run, a resumed one, or (for an incomplete folder) a new run after moving the old
    /// folder aside to `<folder>.incomplete-<time>`. Nil when the run is finished.
    public static func trainer(for run: Run, baseURL: URL, communicator: any Communicator = SingleProcessCommunicator(),
                               codeVersion: String) throws -> (ParaRLTrainer, RunState)? {
        // Rank 0 decides (the others could see the folder mid-move) and tells every rank.
        var state = communicator.isRoot ? try Self.state(of: run.directory) : .pending
        var code = [state.code]
        try communicator.broadcast(&code, root: 0)
        state = RunState(code: code[0])
        switch state {
        case .finished:
            return nil
        case .resumable:
            return (try ParaRLRun.resume(runDirectory: run.directory, communicator: communicator, codeVersion: codeVersion), state)
        case .incomplete:
            if communicator.isRoot {
                let aside = run.directory.path + ".incomplete-\(Int(Date().timeIntervalSince1970))"
                do { try FileManager.default.moveItem(atPath: run.directory.path, toPath: aside) } catch {
                    throw TrainerError.io(path: run.directory.path, reason: "cannot move the incomplete run aside: \(error.localizedDescription)")
                }
            }
            try communicator.barrier()
            fallthrough
        case .pending:
            let config = run.config
            return (try ParaRLRun.start(configURL: baseURL, runDirectory: run.directory, communicator: communicator,
                                        codeVersion: codeVersion) { $0 = config }, state)
        }
    }
}
