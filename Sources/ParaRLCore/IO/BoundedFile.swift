// Reading a whole input file safely: only regular files (a FIFO, a device such as /dev/zero or a folder is refused
// with what it is), and only up to a size limit checked before reading.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct BoundedFileError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

public enum BoundedFile {
    /// Why `stat(2)` cannot reach `path`: "no such file", "a symbolic-link loop", "permission denied on a folder of
    /// its path", or the system's message.
    public static func statFailure(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) != 0 else { return "cannot be read" }
        switch errno {
        case ENOENT: return "no such file"
        case ELOOP: return "is a symbolic-link loop (too many levels of symbolic links)"
        case EACCES: return "permission denied on a folder of its path"
        case ENOTDIR: return "a component of the path is not a folder"
        default: return String(cString: strerror(errno))
        }
    }

    /// The bytes of the regular file at `url`, refused when larger than `maxBytes`.
    public static func read(_ url: URL, maxBytes: Int) throws -> Data {
        let path = url.path
        var info = stat()
        guard stat(path, &info) == 0 else { throw BoundedFileError(path: path, reason: statFailure(path)) }
        let resolved = url.resolvingSymlinksInPath().path
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: resolved) } catch {
            throw BoundedFileError(path: path, reason: statFailure(path))
        }
        let type = attributes[.type] as? FileAttributeType
        guard type == .typeRegular else {
            let what: String
            switch type {
            case .typeDirectory?: what = "a folder"
            case .typeCharacterSpecial?, .typeBlockSpecial?: what = "a device"
            case .typeSocket?: what = "a socket"
            default: what = "not a regular file (a FIFO or another special file)"
            }
            throw BoundedFileError(path: path, reason: "is \(what), not a regular file")
        }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maxBytes else {
            throw BoundedFileError(path: path, reason: "is \(size) bytes, more than the \(maxBytes) accepted")
        }
        guard let handle = FileHandle(forReadingAtPath: resolved) else {
            throw BoundedFileError(path: path, reason: "cannot be opened for reading (permissions?)")
        }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: maxBytes + 1) ?? Data() } catch {
            throw BoundedFileError(path: path, reason: "cannot be read: \(error.localizedDescription)")
        }
        guard data.count <= maxBytes else {
            throw BoundedFileError(path: path, reason: "grew past the \(maxBytes) bytes accepted while being read")
        }
        return data
    }
}
