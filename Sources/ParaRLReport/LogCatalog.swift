// Finds rollout logs from what the user names (a .sqlite file, a run folder, or a folder of run folders),
// opens them read-only and resolves run ids and rollout ids (`STEP:GROUP:ROLLOUT`) across them.
import Foundation
import ParaRLStorage

/// A run and the log that holds it.
public struct LoggedRun: Sendable {
    public let record: RunRecord
    public let log: RolloutLog
    public var runID: String { record.runID }
}

/// A rollout's readable id: `STEP:GROUP:ROLLOUT` (training step, group index in that step, rollout index in the
/// group), e.g. `12:0:3`. Every part is a non-negative integer.
public struct RolloutID: Hashable, Sendable, CustomStringConvertible, Codable {
    public var step: Int
    public var group: Int
    public var rollout: Int

    public init(step: Int, group: Int, rollout: Int) { self.step = step; self.group = group; self.rollout = rollout }

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int($0) }
        guard parts.count == 3, values.count == 3, values.allSatisfy({ $0 >= 0 }) else { throw ReportError.badRolloutID(text) }
        self.init(step: values[0], group: values[1], rollout: values[2])
    }

    public var description: String { "\(step):\(group):\(rollout)" }
}

public final class LogCatalog: Sendable {
    public let logs: [RolloutLog]
    public let runs: [LoggedRun]

    /// Opens the logs at `locations`: a file is a log; a folder holding `rollouts.sqlite` is a run folder; any
    /// other folder contributes the run folders directly inside it (e.g. an ablation folder). Duplicates are opened once.
    public init(locations: [String]) throws {
        guard !locations.isEmpty else { throw ReportError.noDatabases }
        var files: [String] = []
        for location in locations {
            let found = Self.logFiles(at: location)
            guard !found.isEmpty else { throw ReportError.noLogFound(location: location) }
            for f in found where !files.contains(f) { files.append(f) }
        }
        logs = try files.map { try RolloutLog(readingAt: $0) }
        runs = try logs.flatMap { log in try log.runs().map { LoggedRun(record: $0, log: log) } }
    }

    static func logFiles(at location: String) -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location, isDirectory: &isDir) else { return [] }
        let url = URL(fileURLWithPath: location).standardizedFileURL
        guard isDir.boolValue else { return [url.path] }
        let direct = url.appendingPathComponent(RolloutLog.fileName)
        if FileManager.default.fileExists(atPath: direct.path) { return [direct.path] }
        let children = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return children.sorted().map { url.appendingPathComponent($0).appendingPathComponent(RolloutLog.fileName).path }
            .filter { FileManager.default.fileExists(atPath: $0) }
    }

    /// The run called `runID`, or the only run when `runID` is nil.
    public func run(_ runID: String?) throws -> LoggedRun {
        let ids = runs.map(\.runID)
        guard let runID else {
            guard runs.count == 1, let only = runs.first else {
                throw runs.isEmpty ? ReportError.unknownRun(runID: "(any)", available: []) : ReportError.runNeeded(available: ids)
            }
            return only
        }
        let matches = runs.filter { $0.runID == runID }
        guard let first = matches.first else { throw ReportError.unknownRun(runID: runID, available: ids) }
        guard matches.count == 1 else { throw ReportError.ambiguousRun(runID: runID, databases: matches.map(\.log.path)) }
        return first
    }

    /// Opens the logs named by `databases` and by those `runs` entries that are paths, then selects runs: an entry
    /// that is a path selects every run of the logs found there, any other entry is a run id; no entries select all.
    public static func open(databases: [String], runs specs: [String]) throws -> (catalog: LogCatalog, selected: [LoggedRun]) {
        let pathSpecs = specs.filter { FileManager.default.fileExists(atPath: $0) }
        let catalog = try LogCatalog(locations: databases + pathSpecs)
        guard !specs.isEmpty else { return (catalog, catalog.runs) }
        var selected: [LoggedRun] = []
        for spec in specs {
            if pathSpecs.contains(spec) {
                let files = Set(logFiles(at: spec))
                selected += catalog.runs.filter { files.contains($0.log.path) }
            } else {
                selected.append(try catalog.run(spec))
            }
        }
        return (catalog, selected)
    }

    /// Several runs by id; every run when `runIDs` is empty.
    public func runs(_ runIDs: [String]) throws -> [LoggedRun] {
        runIDs.isEmpty ? runs : try runIDs.map { try run($0) }
    }
}
