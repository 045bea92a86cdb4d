// One writer per run folder: `RUN/.lock`, held with flock(2) by the process that trains, fine-tunes or ablates in
// the folder (the kernel releases it when that process ends, however it ends). A second writer fails at once and is
// told the holder's PID and command; readers (`inspect`, `report`) take no lock. Trainers in one process (a resume
// after a start, the runs of an ablation) share the process's hold. A folder the lock created and nothing else wrote
// into is removed again when the lock is released.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class RunLock: @unchecked Sendable {
    public static let fileName = ".lock"

    /// The folders this process holds: descriptor and the number of live `RunLock`s on it.
    nonisolated(unsafe) private static var held: [String: (fd: Int32, count: Int, created: Bool)] = [:]
    private static let mutex = NSLock()

    public let folder: URL
    private let key: String

    /// Takes the lock of `runDirectory` (creating the folder and its lock file), recording this process's PID and
    /// `command`; fails at once when another process holds it.
    public init(runDirectory: URL, command: String = RunLock.commandLine) throws {
        let fm = FileManager.default
        let created = !fm.fileExists(atPath: runDirectory.path)
        do { try fm.createDirectory(at: runDirectory, withIntermediateDirectories: true) } catch {
            throw ParaRLError.io(path: runDirectory.path, reason: "cannot create the run folder: \(error.localizedDescription)")
        }
        folder = runDirectory
        key = runDirectory.resolvingSymlinksInPath().standardizedFileURL.path
        Self.mutex.lock()
        defer { Self.mutex.unlock() }
        if let entry = Self.held[key] {
            Self.held[key] = (entry.fd, entry.count + 1, entry.created)
            return
        }
        let path = runDirectory.appendingPathComponent(Self.fileName).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ParaRLError.io(path: path, reason: "cannot open the run folder's lock: \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = busy ? Self.holder(fd: fd) : String(cString: strerror(errno))
            close(fd)
            throw busy
                ? ParaRLError.invalidInput("\(runDirectory.path) is in use by \(reason): one run writes a folder at a time (wait for it, "
                                           + "stop it, or choose another folder; reading it with `pararl inspect` or `pararl report` needs no lock)")
                : ParaRLError.io(path: path, reason: "cannot lock the run folder: \(reason)")
        }
        let note = "\(getpid()) \(command)\n"
        _ = ftruncate(fd, 0)
        _ = note.withCString { pwrite(fd, $0, strlen($0), 0) }
        Self.held[key] = (fd, 1, created)
    }

    deinit {
        Self.mutex.lock()
        defer { Self.mutex.unlock() }
        guard let entry = Self.held[key] else { return }
        if entry.count > 1 {
            Self.held[key] = (entry.fd, entry.count - 1, entry.created)
            return
        }
        Self.held[key] = nil
        // A folder this lock created and nothing else wrote into (the command failed before writing) goes again.
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        if entry.created && names == [Self.fileName] {
            unlink(folder.appendingPathComponent(Self.fileName).path)
            rmdir(folder.path)
        }
        close(entry.fd)
    }

    /// This process's command as the lock records it: the executable's name and its subcommand.
    public static var commandLine: String {
        let args = CommandLine.arguments
        let name = args.first.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "pararl"
        return ([name] + args.dropFirst().prefix(1)).joined(separator: " ")
    }

    /// What the holder wrote into the lock file: "PID 123 (pararl train)".
    static func holder(fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = pread(fd, &buffer, buffer.count, 0)
        let text = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        guard let space = text.firstIndex(of: " "), let pid = Int(text[..<space]) else {
            return text.isEmpty ? "another process" : "another process (\(text))"
        }
        return "PID \(pid) (\(text[text.index(after: space)...]))"
    }
}
