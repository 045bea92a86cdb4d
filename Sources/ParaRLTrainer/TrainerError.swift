// Typed failures of the ParaRL trainer: configs (file, key, line), run folders, checkpoints and inputs.
import Foundation

public enum TrainerError: Error, Equatable, CustomStringConvertible {
    /// A config file has a bad, missing or unknown key; `line` is 1-based when known.
    case invalidConfig(file: String, key: String, reason: String, line: Int? = nil)
    case invalidInput(String)
    case io(path: String, reason: String)
    case noCheckpoint(runDirectory: String)
    /// The run folder already holds a run (start a new one elsewhere or resume it).
    case runExists(String)

    public var description: String {
        switch self {
        case let .invalidConfig(file, key, reason, line):
            let at = line.map { "\(file):\($0)" } ?? file
            return key.isEmpty ? "\(at): \(reason)" : "\(at): key \"\(key)\": \(reason)"
        case let .invalidInput(m): return "invalid input: \(m)"
        case let .io(path, reason): return "\(path): \(reason)"
        case let .noCheckpoint(dir):
            return "\(dir): no complete ParaRL checkpoint to resume from (the run stopped before its first one); start it again "
                + "with `pararl train --config CONFIG --run-dir \(dir)` and the same config"
        case let .runExists(dir): return "\(dir) already holds a ParaRL run: resume it with --resume or choose another folder"
        }
    }
}
