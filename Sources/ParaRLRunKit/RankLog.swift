// The rank-0 log of every training command: progress and messages on standard error from rank 0 only.
import Foundation
import ParaRLDistributed
#if canImport(Glibc)
import Glibc
#endif

/// Rank 0's messages on standard error (other ranks stay silent); on a terminal, step lines rewrite one line in
/// place instead of scrolling.
public struct RankLog {
    public let isRoot: Bool
    /// Rank 0 writing to a terminal.
    public let terminal: Bool

    public init(_ communicator: any Communicator) {
        isRoot = communicator.isRoot
        terminal = isRoot && isatty(fileno(stderr)) != 0
    }

    /// A whole line.
    public func callAsFunction(_ message: String) { if isRoot { write(message + "\n") } }

    /// A step line: rewritten in place on a terminal, else a whole line.
    public func progress(_ line: String) { if terminal { write("\r" + line + "\u{1B}[K") } else { self(line) } }

    /// Ends an in-place step line so the next output starts on a line of its own.
    public func endProgress() { if terminal { write("\n") } }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
