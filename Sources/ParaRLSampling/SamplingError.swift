// Typed failures of sampling, trajectory records, checkpoint bundles and evaluation.
import Foundation

public enum SamplingError: Error, Equatable, CustomStringConvertible {
    case invalidInput(String)
    /// A trajectory-record blob that does not decode (wrong magic, version, size, checksum or values).
    case corruptRecord(String)
    /// A file a checkpoint bundle needs is missing or unreadable; `tried` lists the places looked at.
    case missingFile(what: String, tried: [String])

    public var description: String {
        switch self {
        case let .invalidInput(m): return "invalid input: \(m)"
        case let .corruptRecord(m): return "corrupt trajectory record: \(m)"
        case let .missingFile(what, tried): return "cannot find the \(what); looked at: \(tried.joined(separator: ", "))"
        }
    }
}
