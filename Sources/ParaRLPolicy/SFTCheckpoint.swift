// Atomic SFT checkpoints (DESIGN §8): `checkpoints/step-NNNNNNNN/` holds the policy (config.json +
// model.safetensors, MMaDA format), the AdamW state, the trainer state (step, data position, every RNG
// stream) and the resolved config; written in a temporary folder, each file fsynced, renamed into place,
// marked complete last; only the newest `keep` complete checkpoints stay.
import Foundation
import ParaRLCore

/// What besides weights and optimiser a resumed run needs.
public struct SFTTrainerState: Codable, Equatable, Sendable {
    public var format = 1
    /// Completed optimiser steps.
    public var step: Int
    /// Index of the next training sample.
    public var dataPosition: Int
    /// The root of the per-sample masking / condition-dropout streams (sample i draws from its `split(i)`; only
    /// the key matters, so checkpoints that stored an advanced position resume the same way).
    public var maskStream: RandomStream.State
    enum CodingKeys: String, CodingKey {
        case format, step, dataPosition = "data_position", maskStream = "mask_stream"
    }
    public init(step: Int, dataPosition: Int, maskStream: RandomStream.State) {
        self.step = step; self.dataPosition = dataPosition; self.maskStream = maskStream
    }
}

public enum SFTCheckpoint {
    public static let folderName = "checkpoints"
    public static let completeMarker = "COMPLETE"
    public static let optimizerFile = "optimizer.safetensors"
    public static let stateFile = "trainer_state.json"
    public static let configFile = "sft_config.yaml"

    public static func name(step: Int) -> String {
        let s = String(step)
        return "step-" + String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    /// Writes a checkpoint of `step` under `runDirectory/checkpoints` and prunes old ones. Returns its folder.
    @discardableResult
    public static func write(runDirectory: URL, policy: Policy, optimizer: AdamW, state: SFTTrainerState,
                             configYAML: String, keep: Int) throws -> URL {
        let fm = FileManager.default
        let root = runDirectory.appendingPathComponent(folderName)
        let final = root.appendingPathComponent(name(step: state.step))
        let temporary = root.appendingPathComponent(".\(name(step: state.step)).tmp-\(getpid())")
        do {
            try fm.createDirectory(at: root, withIntermediateDirectories: true)
            // Temporary folders left by a killed writer are never complete: remove them.
            for stale in try fm.contentsOfDirectory(atPath: root.path) where stale.hasPrefix(".step-") {
                try fm.removeItem(at: root.appendingPathComponent(stale))
            }
            try fm.createDirectory(at: temporary, withIntermediateDirectories: false)
        } catch {
            throw PolicyError.io(path: temporary.path, reason: "cannot create the checkpoint folder: \(error.localizedDescription)")
        }
        try policy.save(directory: temporary)
        var writer = SafetensorsWriter(metadata: ["format": "pararl-adamw"])
        for (name, values) in optimizer.stateTensors() {
            try writer.add(name, shape: [values.count], floats: values)
        }
        try writer.write(to: temporary.appendingPathComponent(optimizerFile))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(state), to: temporary.appendingPathComponent(stateFile))
        try AtomicFile.write(Data(configYAML.utf8), to: temporary.appendingPathComponent(configFile))
        try AtomicFile.write(Data("step \(state.step)\n".utf8), to: temporary.appendingPathComponent(completeMarker))
        if fm.fileExists(atPath: final.path) {
            do { try fm.removeItem(at: final) } catch {
                throw PolicyError.io(path: final.path, reason: "cannot replace the old checkpoint: \(error.localizedDescription)")
            }
        }
        try AtomicFile.renameFolder(temporary, to: final)
        let complete = try completed(runDirectory: runDirectory)
        for old in complete.dropLast(max(1, keep)) {
            try? fm.removeItem(at: old.url)
        }
        return final
    }

    /// Complete checkpoints, oldest first.
    public static func completed(runDirectory: URL) throws -> [(step: Int, url: URL)] {
        let root = runDirectory.appendingPathComponent(folderName)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return [] }
        return names.compactMap { n -> (Int, URL)? in
            guard n.hasPrefix("step-"), let step = Int(n.dropFirst(5)) else { return nil }
            let url = root.appendingPathComponent(n)
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent(completeMarker).path) else { return nil }
            return (step, url)
        }.sorted { $0.0 < $1.0 }.map { (step: $0.0, url: $0.1) }
    }

    public static func readState(_ folder: URL) throws -> SFTTrainerState {
        let url = folder.appendingPathComponent(stateFile)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw PolicyError.io(path: url.path, reason: "cannot read the trainer state")
        }
        do {
            return try JSONDecoder().decode(SFTTrainerState.self, from: data)
        } catch {
            throw PolicyError.invalidConfig(file: url.path, key: "(file)", reason: "not a trainer state: \(error)")
        }
    }

    public static func restoreOptimizer(_ optimizer: AdamW, folder: URL) throws {
        let file = try SafetensorsFile.read(url: folder.appendingPathComponent(optimizerFile))
        try optimizer.restoreState(tensors: try file.tensorNames.map { ($0, try file.floats($0)) })
    }
}
