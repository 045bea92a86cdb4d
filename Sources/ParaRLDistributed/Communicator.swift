// The collective operations data-parallel training needs (docs/design.md §5), behind one API with two implementations:
// `SingleProcessCommunicator` (no MPI, no launcher) and the MPI one (Open MPI through the C shim).
import Foundation

public enum ReduceOperation: Sendable {
    case sum
    /// The sum divided by the number of ranks.
    case mean
}

public protocol Communicator: AnyObject, Sendable {
    /// This process's rank, 0..<size.
    var rank: Int { get }
    /// Number of ranks in the job.
    var size: Int { get }
    /// Blocks until every rank has reached it.
    func barrier() throws
    /// Overwrites `buffer` on every rank with rank `root`'s contents (same count on every rank).
    func broadcast(_ buffer: inout [Float], root: Int) throws
    func broadcast(_ buffer: inout [Double], root: Int) throws
    func broadcast(_ data: inout Data, root: Int) throws
    /// Element-wise reduction over ranks, in place, with a reduction order that is fixed for a given size
    /// (so repeated runs give identical bits).
    func allreduce(_ buffer: inout [Float], _ op: ReduceOperation) throws
    func allreduce(_ buffer: inout [Double], _ op: ReduceOperation) throws
    /// Every rank's `data`, in rank order, on `root` (other ranks get an empty array).
    func gather(_ data: Data, root: Int) throws -> [Data]
    /// Ends the whole job with `message` and a non-zero exit (never returns).
    func abort(_ message: String, code: Int32) -> Never

    /// `allreduce` and `broadcast` on memory the caller owns (parameter and gradient arenas), without copies.
    func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOperation) throws
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws
    /// Ends the communicator's use at a normal exit (MPI_Finalize); every rank calls it once, last.
    func finalize()
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOperation) throws {
        var copy = Array(buffer)
        try allreduce(&copy, op)
        copy.withUnsafeBufferPointer { src in _ = buffer.update(fromContentsOf: src) }
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        var copy = Array(buffer)
        try broadcast(&copy, root: root)
        copy.withUnsafeBufferPointer { src in _ = buffer.update(fromContentsOf: src) }
    }

    public func finalize() {}

    /// `values` summed over ranks in rank order (for metrics: counts and sums in Double are exact or fixed-order).
    public func sum(_ values: [Double]) throws -> [Double] {
        var v = values
        try allreduce(&v, .sum)
        return v
    }
}

/// One process: every collective is the identity.
public final class SingleProcessCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func barrier() throws {}
    public func broadcast(_ buffer: inout [Float], root: Int) throws { try Self.check(root) }
    public func broadcast(_ buffer: inout [Double], root: Int) throws { try Self.check(root) }
    public func broadcast(_ data: inout Data, root: Int) throws { try Self.check(root) }
    public func allreduce(_ buffer: inout [Float], _ op: ReduceOperation) throws {}
    public func allreduce(_ buffer: inout [Double], _ op: ReduceOperation) throws {}
    public func gather(_ data: Data, root: Int) throws -> [Data] { try Self.check(root); return [data] }
    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOperation) throws {}
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws { try Self.check(root) }
    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        exit(code)
    }
    static func check(_ root: Int) throws {
        guard root == 0 else { throw CommunicatorError.invalidRoot(root, size: 1) }
    }
}

public enum CommunicatorError: Error, CustomStringConvertible, Equatable {
    case invalidRoot(Int, size: Int)
    case mpi(operation: String, rank: Int, code: Int32, message: String)
    case sizeMismatch(operation: String, rank: Int, reason: String)
    /// MPI could not be started (MPI_Init_thread failed or lacks the thread level the trainer needs).
    case unavailable(String)
    public var description: String {
        switch self {
        case .invalidRoot(let r, let s): return "root rank \(r) is outside 0..<\(s)"
        case .mpi(let op, let rank, let code, let m): return "rank \(rank): \(op) failed (MPI error \(code)): \(m)"
        case .sizeMismatch(let op, let rank, let r): return "rank \(rank): \(op): \(r)"
        case .unavailable(let m): return "MPI is unavailable: \(m)"
        }
    }
}
