// Atomic training checkpoints shared by the SFT and ParaRL loops (docs/design.md §8): `checkpoints/step-NNNNNNNN/` holds
// the model (its own files), the AdamW state, the trainer state (step, data position, the root random stream) and
// the loop's own files (the resolved config, the sequence layout); written in a temporary folder, each file
// fsynced, a manifest with every file's size and CRC-32 written next, renamed into place, marked complete last; only
// the newest `keep` complete checkpoints stay. On resume a checkpoint is used only when it verifies (manifest,
// readable trainer state, finite weights and optimiser moments); otherwise the newest older one that does.
import Foundation
import ParaRLCore
import ParaRLDistributed

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
    public static let manifestFile = "MANIFEST.json"
    /// Prefix of a checkpoint folder a resume rejected (`rejected-step-NNNNNNNN`), kept for inspection.
    public static let rejectedPrefix = "rejected-"

    /// Every file of a checkpoint with its size and CRC-32 (hex), written before `COMPLETE`.
    public struct Manifest: Codable, Equatable, Sendable {
        public struct Entry: Codable, Equatable, Sendable {
            public var bytes: Int
            public var crc32: String
        }
        public var format = 1
        public var files: [String: Entry]
    }

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
        do {
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
            try AtomicFile.write(try encoder.encode(try manifest(of: temporary)), to: temporary.appendingPathComponent(manifestFile))
            try AtomicFile.write(Data("step \(state.step)\n".utf8), to: temporary.appendingPathComponent(completeMarker))
            if fm.fileExists(atPath: final.path) {
                do { try fm.removeItem(at: final) } catch {
                    throw ParaRLError.io(path: final.path, reason: "cannot replace the old checkpoint: \(error.localizedDescription)")
                }
            }
            try AtomicFile.renameFolder(temporary, to: final)
        } catch {
            // A failed write (a full disk) leaves nothing behind: the temporary folder would keep the disk full.
            try? fm.removeItem(at: temporary)
            throw error
        }
        try prune(runDirectory: runDirectory, keep: keep)
        return final
    }

    /// Removes all but the newest `keep` complete checkpoints.
    public static func prune(runDirectory: URL, keep: Int) throws {
        for old in try completed(runDirectory: runDirectory).dropLast(max(1, keep)) {
            try? FileManager.default.removeItem(at: old.url)
        }
    }

    /// The manifest of the files in `folder` (every regular file, at any depth, except the manifest and the marker).
    public static func manifest(of folder: URL) throws -> Manifest {
        var files: [String: Manifest.Entry] = [:]
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: folder.path) else {
            throw ParaRLError.io(path: folder.path, reason: "cannot list the checkpoint")
        }
        while let name = walker.nextObject() as? String {
            guard name != manifestFile, name != completeMarker else { continue }
            var isFolder: ObjCBool = false
            let url = folder.appendingPathComponent(name)
            guard fm.fileExists(atPath: url.path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            let (bytes, crc) = try checksum(url)
            files[name] = Manifest.Entry(bytes: bytes, crc32: String(format: "%08x", crc))
        }
        return Manifest(files: files)
    }

    /// Size and CRC-32 of a file, read in 1 MiB pieces.
    static func checksum(_ url: URL) throws -> (bytes: Int, crc: UInt32) {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw ParaRLError.io(path: url.path, reason: "cannot be read")
        }
        defer { try? handle.close() }
        var crc: UInt32 = 0, bytes = 0
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
                throw ParaRLError.io(path: url.path, reason: "cannot be read: \(error.localizedDescription)")
            }
            if chunk.isEmpty { break }
            bytes += chunk.count
            crc = chunk.withUnsafeBytes { CRC32.update(crc, $0) }
        }
        return (bytes, crc)
    }

    /// Checks a complete checkpoint before a resume uses it: every file of its manifest present with its size and
    /// CRC-32 (checkpoints written before manifests existed skip this), the trainer state readable, every tensor of
    /// its safetensors files (weights, optimiser moments) finite. Throws an error naming the file and what is wrong.
    public static func verify(_ folder: URL) throws {
        let manifestURL = folder.appendingPathComponent(manifestFile)
        if FileManager.default.fileExists(atPath: manifestURL.path) {
            let listed: Manifest
            do { listed = try JSONDecoder().decode(Manifest.self, from: try BoundedFile.read(manifestURL, maxBytes: 1 << 20)) } catch {
                throw ParaRLError.io(path: manifestURL.path, reason: "not a checkpoint manifest: \(error)")
            }
            for (name, entry) in listed.files.sorted(by: { $0.key < $1.key }) {
                let url = folder.appendingPathComponent(name)
                guard FileManager.default.fileExists(atPath: url.path) else {
                    throw ParaRLError.io(path: url.path, reason: "missing (listed in \(manifestFile))")
                }
                let (bytes, crc) = try checksum(url)
                guard bytes == entry.bytes else {
                    throw ParaRLError.io(path: url.path, reason: "is \(bytes) bytes, the manifest says \(entry.bytes) (truncated or changed)")
                }
                guard String(format: "%08x", crc) == entry.crc32 else {
                    throw ParaRLError.io(path: url.path, reason: "CRC-32 \(String(format: "%08x", crc)) differs from the manifest's \(entry.crc32) (the file changed after it was written)")
                }
            }
        }
        _ = try readState(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        guard names.contains(optimizerFile) else {
            throw ParaRLError.io(path: folder.appendingPathComponent(optimizerFile).path, reason: "missing")
        }
        for name in names.sorted() where name.hasSuffix(".safetensors") {
            let url = folder.appendingPathComponent(name)
            let file = try SafetensorsFile.read(url: url)
            for tensor in file.tensors where [.f32, .f16, .bf16].contains(tensor.dtype) {
                let values = try file.floats(tensor.name)
                if let i = values.firstIndex(where: { !$0.isFinite }) {
                    throw ParaRLError.checkpointMismatch(path: url.path, tensor: tensor.name,
                                                         reason: "element \(i) is \(values[i]): not finite")
                }
            }
        }
    }

    /// The newest complete checkpoint that verifies (`verify`); each newer one skipped is reported through `skipped`
    /// with the reason. Fails naming every reason when none verifies.
    public static func newestVerified(runDirectory: URL, skipped: (_ folder: URL, _ reason: String) -> Void = { _, _ in }) throws -> URL {
        let complete = try completed(runDirectory: runDirectory)
        guard !complete.isEmpty else { throw ParaRLError.noCheckpoint(runDirectory: runDirectory.path) }
        var reasons: [String] = []
        for candidate in complete.reversed() {
            do {
                try verify(candidate.url)
                return candidate.url
            } catch {
                reasons.append("\(candidate.url.lastPathComponent): \(error)")
                skipped(candidate.url, "\(error)")
            }
        }
        throw ParaRLError.invalidInput("\(runDirectory.path): no complete checkpoint verifies:\n  " + reasons.joined(separator: "\n  "))
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

    /// The checkpoint a resume continues from, the same on every rank: rank 0's `newestVerified` (each skipped
    /// checkpoint reported on its standard error), broadcast as a path.
    public static func resumePoint(runDirectory: URL, communicator: any Communicator) throws -> URL {
        var path = Data()
        if communicator.isRoot {
            let log = RankLog(communicator)
            var rejected: [URL] = []
            let chosen = try newestVerified(runDirectory: runDirectory, skipped: { folder, reason in
                log("skipping checkpoint \(folder.lastPathComponent): \(reason)")
                rejected.append(folder)
            })
            // Out of the way of pruning (a newer rejected folder would otherwise be kept and good ones removed) but kept
            // for inspection.
            for folder in rejected {
                let aside = folder.deletingLastPathComponent().appendingPathComponent(rejectedPrefix + folder.lastPathComponent)
                try? FileManager.default.removeItem(at: aside)
                do { try FileManager.default.moveItem(at: folder, to: aside) } catch {
                    throw ParaRLError.io(path: folder.path, reason: "cannot move the rejected checkpoint aside: \(error.localizedDescription)")
                }
                log("  moved to \(aside.path); resuming from \(chosen.lastPathComponent)")
            }
            path = Data(chosen.path.utf8)
        }
        if communicator.size > 1 { try communicator.broadcast(&path, root: 0) }
        return URL(fileURLWithPath: String(decoding: path, as: UTF8.self))
    }

    public static func readState(_ folder: URL) throws -> TrainerState {
        let url = folder.appendingPathComponent(stateFile)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ParaRLError.io(path: url.path, reason: "cannot read the trainer state")
        }
        do {
            return try JSONDecoder().decode(TrainerState.self, from: data)
        } catch {
            throw ParaRLError.io(path: url.path, reason: "not a trainer state: \(error)")
        }
    }

    /// What a resume reads from a checkpoint, the same for SFT and ParaRL: the weights (through `loadWeights`, or nil
    /// when the model was already loaded from this folder), the AdamW state, and the trainer state it returns.
    public static func restore(_ folder: URL, optimizer: AdamW, loadWeights: ((URL) throws -> Void)?) throws -> TrainerState {
        try loadWeights?(folder)
        try restoreOptimizer(optimizer, folder: folder)
        return try readState(folder)
    }

    public static func restoreOptimizer(_ optimizer: AdamW, folder: URL) throws {
        let file = try SafetensorsFile.read(url: folder.appendingPathComponent(optimizerFile))
        try optimizer.restoreState(tensors: try file.tensorNames.map { ($0, try file.floats($0)) })
    }
}
