// Every way loading, configuring or running the CLIP scorer can fail; each message names its file and key.
import Foundation

/// A typed CLIP failure.
public enum CLIPError: Error, Equatable, Sendable, CustomStringConvertible {
    case config(path: String, reason: String)
    case missingTensor(path: String, tensor: String)
    case unusedTensor(path: String, tensor: String)
    case wrongShape(path: String, tensor: String, expected: [Int], found: [Int])
    case vocabulary(path: String, reason: String)
    case invalidInput(String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case let .config(path, reason): return "\(path): \(reason)"
        case let .missingTensor(path, tensor): return "\(path): missing tensor \"\(tensor)\""
        case let .unusedTensor(path, tensor): return "\(path): unused tensor \"\(tensor)\" (not part of a CLIPModel)"
        case let .wrongShape(path, tensor, expected, found):
            return "\(path): tensor \"\(tensor)\" has shape \(found), expected \(expected)"
        case let .vocabulary(path, reason): return "\(path): \(reason)"
        case let .invalidInput(reason): return reason
        case let .io(path, reason): return "\(path): \(reason)"
        }
    }
}
