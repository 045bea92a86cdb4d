// Reading rollout logs: `pararl inspect` queries and exports, and the self-contained HTML report.
// This file holds the module's errors and the small text helpers (escaping, number formats) they share.
import Foundation

public enum ReportError: Error, CustomStringConvertible {
    case noDatabases
    case noLogFound(location: String)
    case unknownRun(runID: String, available: [String])
    case ambiguousRun(runID: String, databases: [String])
    case runNeeded(available: [String])
    case badRolloutID(String)
    case noSuchRollout(runID: String, id: String)
    case noSuchStep(runID: String, step: Int)
    case noSuchGroup(runID: String, step: Int, group: Int)
    case badFormat(String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .noDatabases: return "no rollout log given: pass --db FILE or --db RUN_DIR (a folder holding \("rollouts.sqlite"))"
        case .noLogFound(let l):
            return "\(l): no rollout log here (expected a .sqlite file, a run folder with rollouts.sqlite, or a folder of run folders)"
        case .unknownRun(let r, let a): return "no run \"\(r)\" in the given logs; runs: \(a.isEmpty ? "(none)" : a.joined(separator: ", "))"
        case .ambiguousRun(let r, let d): return "run \"\(r)\" appears in several logs (\(d.joined(separator: ", "))); pass one --db"
        case .runNeeded(let a): return "several runs in the given logs; choose one with --run (\(a.joined(separator: ", ")))"
        case .badRolloutID(let s): return "bad rollout id \"\(s)\": expected STEP:GROUP:ROLLOUT, e.g. 12:0:3"
        case .noSuchRollout(let r, let id): return "run \(r) has no rollout \(id)"
        case .noSuchStep(let r, let s): return "run \(r) has no step \(s)"
        case .noSuchGroup(let r, let s, let g): return "run \(r) has no group \(g) at step \(s)"
        case .badFormat(let f): return "unknown export format \"\(f)\": use csv or jsonl"
        case .cannotWrite(let p, let why): return "\(p): cannot write: \(why)"
        }
    }
}

/// Escapes text for HTML and XML content and attribute values.
public func htmlEscape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for ch in text.unicodeScalars {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default:
            // Control characters other than tab and newline are not allowed in XML; show them as U+FFFD.
            if ch.value < 0x20 && ch != "\t" && ch != "\n" { out += "\u{FFFD}" } else { out.unicodeScalars.append(ch) }
        }
    }
    return out
}

/// A number for tables: fixed decimals for ordinary magnitudes, scientific for tiny or huge ones, "nan" when not finite.
public func formatNumber(_ x: Double, digits: Int = 4) -> String {
    guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
    if x == 0 { return "0" }
    let a = abs(x)
    if a >= 1e5 || a < 1e-3 { return String(format: "%.\(max(1, digits - 2))e", x) }
    let decimals = a >= 100 ? 1 : a >= 10 ? 2 : digits - 1
    return String(format: "%.\(decimals)f", x)
}

/// A double for JSON: nil when not finite (JSON has no NaN).
func finite(_ x: Double) -> Double? { x.isFinite ? x : nil }
