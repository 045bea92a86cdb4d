// Durable file and folder writes for checkpoints, configs and run files (docs/design.md §8): write to a temporary name, fsync, rename,
// fsync the parent folder.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum AtomicFile {
    /// Writes `data` to `url` through a temporary file in the same folder.
    public static func write(_ data: Data, to url: URL) throws {
        let path = url.path
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(temporary, "cannot create") }
        var ok = false
        defer { if !ok { unlink(temporary) } }
        let written = data.withUnsafeBytes { raw -> Bool in
            guard var p = raw.baseAddress else { return true }
            var left = raw.count
            while left > 0 {
                let n = Glibc.write(fd, p, left)
                if n < 0 { if errno == EINTR { continue }; return false }
                p += n; left -= n
            }
            return true
        }
        guard written, fsync(fd) == 0 else { close(fd); throw failure(temporary, "cannot write") }
        guard close(fd) == 0 else { throw failure(temporary, "cannot close") }
        guard rename(temporary, path) == 0 else { throw failure(path, "cannot rename into place") }
        ok = true
        try syncFolder(url.deletingLastPathComponent())
    }

    /// fsyncs a folder so renames inside it are durable (EINVAL: the file system cannot, not an error).
    public static func syncFolder(_ url: URL) throws {
        let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(url.path, "cannot open folder") }
        defer { close(fd) }
        guard fsync(fd) == 0 || errno == EINVAL else { throw failure(url.path, "cannot fsync folder") }
    }

    /// Renames a finished temporary folder into place and makes the rename durable.
    public static func renameFolder(_ from: URL, to: URL) throws {
        guard rename(from.path, to.path) == 0 else { throw failure(to.path, "cannot rename \(from.lastPathComponent) into place") }
        try syncFolder(to.deletingLastPathComponent())
    }

    static func failure(_ path: String, _ what: String) -> ParaRLError {
        .io(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
    }
}
