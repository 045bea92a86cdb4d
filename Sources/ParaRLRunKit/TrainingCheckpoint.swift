// Atomic training checkpoints shared by the SFT and ParaRL loops (DESIGN §8): `checkpoints/step-NNNNNNNN/` holds
// the model (its own files), the AdamW state, the trainer state (step, data position, the root random stream) and
// the loop's own files (the resolved config, the sequence layout); written in a temporary folder, each file
// fsynced, renamed into place, marked complete last; only the newest `keep` complete checkpoints stay.
import Foundation
import ParaRLCore

/// A model that writes its own files (config and weights) into a checkpoint folder.
public protocol CheckpointModel {
    func save(directory: URL) throws
}

/// What besides weights and optimiser a resumed run needs.
public struct TrainerState: Codable, Equatable, Sendable {
    public var format = 1
    /// Completed optimiser steps (SFT) or training steps (ParaRL).
    public var step: Int
    /// Index of the next training sample or prompt.
    public var dataPosition: Int
    /// The root of the run's random streams (every draw comes from a `split` of it; only the key matters).
    public var rootStream: RandomStream.State

    enum CodingKeys: String, CodingKey {
        case format, step, dataPosition = "data_position", rootStream = "root_stream"
    }
    /// Checkpoints written before the run kit named the root stream after SFT's masking.
    enum LegacyKeys: String, CodingKey { case maskStream = "mask_stream" }

    public init(step: Int, dataPosition: Int, rootStream: RandomStream.State) {
        self.step = step; self.dataPosition = dataPosition; self.rootStream = rootStream
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(Int.self, forKey: .format)
        step = try c.decode(Int.self, forKey: .step)
        dataPosition = try c.decode(Int.self, forKey: .dataPosition)
        if let root = try c.decodeIfPresent(RandomStream.State.self, forKey: .rootStream) {
            rootStream = root
        } else {
            rootStream = try decoder.container(keyedBy: LegacyKeys.self).decode(RandomStream.State.self, forKey: .maskStream)
        }
    }
}

public enum TrainingCheckpoint {
    public static let folderName = "checkpoints"
    public static let completeMarker = "COMPLETE"
    public static let optimizerFile = "optimizer.safetensors"
    public static let stateFile = "trainer_state.json"

    public static func name(step: Int) -> String {
        let s = String(step)
        return "step-" + String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    /// The folder the checkpoint of `step` has (or will have) in a run folder.
    public static func folder(runDirectory: URL, step: Int) -> URL {
        runDirectory.appendingPathComponent(folderName).appendingPathComponent(name(step: step))
    }

    /// Writes the checkpoint of `state.step` under `runDirectory/checkpoints` with the model's files, the optimiser,
    /// the trainer state and `files` (name → contents), and prunes old ones. Returns its folder.
    @discardableResult
    public static func write(runDirectory: URL, model: any CheckpointModel, optimizer: AdamW, state: TrainerState,
                             files: [(name: String, data: Data)], keep: Int) throws -> URL {
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
            throw ParaRLError.io(path: temporary.path, reason: "cannot create the checkpoint folder: \(error.localizedDescription)")
        }
        try model.save(directory: temporary)
        var writer = SafetensorsWriter(metadata: ["format": "pararl-adamw"])
        for (name, values) in optimizer.stateTensors() {
            try writer.add(name, shape: [values.count], floats: values)
        }
        try writer.write(to: temporary.appendingPathComponent(optimizerFile))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(state), to: temporary.appendingPathComponent(stateFile))
        for file in files { try AtomicFile.write(file.data, to: temporary.appendingPathComponent(file.name)) }
        try AtomicFile.write(Data("step \(state.step)\n".utf8), to: temporary.appendingPathComponent(completeMarker))
        if fm.fileExists(atPath: final.path) {
            do { try fm.removeItem(at: final) } catch {
                throw ParaRLError.io(path: final.path, reason: "cannot replace the old checkpoint: \(error.localizedDescription)")
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

    /// The newest complete checkpoint of a run folder.
    public static func latest(runDirectory: URL) throws -> URL {
        guard let last = try completed(runDirectory: runDirectory).last else {
            throw ParaRLError.noCheckpoint(runDirectory: runDirectory.path)
        }
        return last.url
    }

    public static func readState(_ folder: URL) throws -> TrainerState {
        let url = folder.appendingPathComponent(stateFile)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ParaRLError.io(path: url.path, reason: "cannot read the trainer state")
        }
        do {
            return try JSONDecoder().decode(TrainerState.self, from: data)
        } catch {
            throw ParaRLError.invalidConfig(file: url.path, key: "(file)", reason: "not a trainer state: \(error)")
        }
    }

    public static func restoreOptimizer(_ optimizer: AdamW, folder: URL) throws {
        let file = try SafetensorsFile.read(url: folder.appendingPathComponent(optimizerFile))
        try optimizer.restoreState(tensors: try file.tensorNames.map { ($0, try file.floats($0)) })
    }
}
