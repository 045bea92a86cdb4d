// Typed failures of configs, checkpoints, run folders and the policy; every message names the file and key.
import Foundation

public enum ParaRLError: Error, Equatable, CustomStringConvertible {
    /// A config file (YAML or config.json) has a bad, missing or unknown key (an empty key: the file as a whole);
    /// `line` is 1-based when known.
    case invalidConfig(file: String, key: String, reason: String, line: Int? = nil)
    case unknownKey(file: String, key: String, line: Int? = nil)
    case missingKey(file: String, key: String)
    /// The checkpoint's tensors do not match the model (missing, unexpected, wrong shape).
    case checkpointMismatch(path: String, tensor: String, reason: String)
    case invalidInput(String)
    case io(path: String, reason: String)
    case noCheckpoint(runDirectory: String)

    public var description: String {
        func at(_ file: String, _ line: Int?) -> String { line.map { "\(file):\($0)" } ?? file }
        switch self {
        case let .invalidConfig(file, key, reason, line):
            return key.isEmpty ? "\(at(file, line)): \(reason)" : "\(at(file, line)): key \"\(key)\": \(reason)"
        case let .unknownKey(file, key, line): return "\(at(file, line)): unknown key \"\(key)\""
        case let .missingKey(file, key): return "\(file): missing key \"\(key)\""
        case let .checkpointMismatch(path, tensor, reason): return "\(path): tensor \"\(tensor)\": \(reason)"
        case let .invalidInput(m): return "invalid input: \(m)"
        case let .io(path, reason): return "\(path): \(reason)"
        case let .noCheckpoint(dir): return "\(dir): no complete checkpoint to resume from"
        }
    }
}
