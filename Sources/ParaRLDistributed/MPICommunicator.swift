// The MPI communicator (Open MPI through CMPIShim): MPI_Init_thread(FUNNELED) once per process, MPI_ERRORS_RETURN
// so a failing call becomes a Swift error naming the rank, and an allreduce whose result does not depend on
// Open MPI's choice of algorithm (each element is summed in rank order by the rank owning its slice).
import CMPIShim
import Foundation

/// Collectives over MPI_COMM_WORLD. Every call must come from the thread that created it (MPI_THREAD_FUNNELED:
/// the trainers call collectives from their main loop; worker threads only compute).
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    /// Largest single MPI call in bytes: big buffers go in contiguous chunks of at most this size (64 MiB by
    /// default — large enough to run at bandwidth, small enough to bound the scratch memory of a reduction).
    public let maxChunkBytes: Int

    /// Starts MPI (MPI_Init_thread with MPI_THREAD_FUNNELED unless already initialised) and sets MPI_ERRORS_RETURN.
    /// Call at most once per process (`Communicators.make()` does and keeps the instance).
    public init(maxChunkBytes: Int = 64 << 20) throws {
        guard maxChunkBytes >= 16 else { throw CommunicatorError.unavailable("maxChunkBytes must be at least 16, got \(maxChunkBytes)") }
        self.maxChunkBytes = maxChunkBytes
        var initialized: Int32 = 0, finalized: Int32 = 0
        MPI_Initialized(&initialized)
        MPI_Finalized(&finalized)
        guard finalized == 0 else { throw CommunicatorError.unavailable("MPI was already finalised in this process") }
        if initialized == 0 {
            var provided: Int32 = 0
            let code = MPI_Init_thread(nil, nil, pararl_mpi_thread_funneled(), &provided)
            guard code == pararl_mpi_success() else {
                throw CommunicatorError.unavailable("MPI_Init_thread failed (MPI error \(code)): \(Self.errorString(code))")
            }
            guard provided >= pararl_mpi_thread_funneled() else {
                throw CommunicatorError.unavailable("the MPI library provides thread level \(provided), the trainer needs MPI_THREAD_FUNNELED")
            }
        }
        var r: Int32 = 0, s: Int32 = 0
        let handler = pararl_mpi_errors_return()
        guard handler == pararl_mpi_success(), MPI_Comm_rank(pararl_mpi_comm_world(), &r) == pararl_mpi_success(),
              MPI_Comm_size(pararl_mpi_comm_world(), &s) == pararl_mpi_success() else {
            throw CommunicatorError.unavailable("cannot set the error handler or read the rank and size of MPI_COMM_WORLD")
        }
        rank = Int(r)
        size = Int(s)
    }

    /// MPI's text for an error code.
    public static func errorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        let n = pararl_mpi_error_string(code, &buffer, Int32(buffer.count))
        return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Turns an MPI return code into `CommunicatorError.mpi` naming this rank and the operation.
    public func check(_ code: Int32, _ operation: String) throws {
        guard code == pararl_mpi_success() else {
            throw CommunicatorError.mpi(operation: operation, rank: rank, code: code, message: Self.errorString(code))
        }
    }

    var world: MPI_Comm { pararl_mpi_comm_world() }

    // MARK: Collectives

    public func barrier() throws { try check(MPI_Barrier(world), "MPI_Barrier") }

    /// Throws on every rank unless every rank passed the same `count` (mismatched counts would truncate or hang).
    func requireSameCount(_ count: Int, _ operation: String) throws {
        var extremes: [Int64] = [Int64(count), -Int64(count)]
        try extremes.withUnsafeMutableBytes { b in
            try check(MPI_Allreduce(pararl_mpi_in_place(), b.baseAddress, 2, pararl_mpi_int64(), pararl_mpi_max(), world),
                      operation + " (count check)")
        }
        let largest = extremes[0], smallest = -extremes[1]
        guard largest == smallest else {
            throw CommunicatorError.sizeMismatch(operation: operation, rank: rank,
                                                 reason: "ranks passed different counts (this rank \(count), smallest \(smallest), largest \(largest))")
        }
    }

    func broadcastBytes(_ base: UnsafeMutableRawPointer?, byteCount: Int, root: Int, _ operation: String) throws {
        guard byteCount > 0, let base else { return }
        for lo in stride(from: 0, to: byteCount, by: maxChunkBytes) {
            let n = min(maxChunkBytes, byteCount - lo)
            try check(MPI_Bcast(base + lo, Int32(n), pararl_mpi_uint8(), Int32(root), world), operation)
        }
    }

    public func broadcast(_ buffer: inout [Float], root: Int) throws {
        try requireSameCount(buffer.count, "MPI_Bcast")
        try buffer.withUnsafeMutableBytes { try broadcastBytes($0.baseAddress, byteCount: $0.count, root: root, "MPI_Bcast") }
    }

    public func broadcast(_ buffer: inout [Double], root: Int) throws {
        try requireSameCount(buffer.count, "MPI_Bcast")
        try buffer.withUnsafeMutableBytes { try broadcastBytes($0.baseAddress, byteCount: $0.count, root: root, "MPI_Bcast") }
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        try requireSameCount(buffer.count, "MPI_Bcast")
        try broadcastBytes(UnsafeMutableRawPointer(buffer.baseAddress), byteCount: buffer.count * 4, root: root, "MPI_Bcast")
    }

    /// Root's byte count goes first, so the other ranks may pass any `data` (it is replaced).
    public func broadcast(_ data: inout Data, root: Int) throws {
        var count: [Int64] = [Int64(data.count)]
        try count.withUnsafeMutableBytes {
            try check(MPI_Bcast($0.baseAddress, 1, pararl_mpi_int64(), Int32(root), world), "MPI_Bcast (size)")
        }
        var bytes = [UInt8](data)
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(count[0])) }
        try bytes.withUnsafeMutableBytes { try broadcastBytes($0.baseAddress, byteCount: $0.count, root: root, "MPI_Bcast") }
        if rank != root { data = Data(bytes) }
    }

    public func allreduce(_ buffer: inout [Float], _ op: ReduceOperation) throws {
        try buffer.withUnsafeMutableBufferPointer { try reduceInRankOrder($0, op, pararl_mpi_float()) }
    }

    public func allreduce(_ buffer: inout [Double], _ op: ReduceOperation) throws {
        try buffer.withUnsafeMutableBufferPointer { try reduceInRankOrder($0, op, pararl_mpi_double()) }
    }

    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOperation) throws {
        try reduceInRankOrder(buffer, op, pararl_mpi_float())
    }

    /// The fixed-order allreduce. MPI_Allreduce may add the ranks' values in any association (it depends on
    /// the algorithm Open MPI picks for the size and rank count), so instead, per chunk of ≤ maxChunkBytes:
    /// 1. MPI_Alltoallv: the chunk is cut into `size` slices; rank j receives every rank's copy of slice j;
    /// 2. rank j sums each element of slice j over ranks 0, 1, …, N−1 in that order (in Double, rounded once);
    /// 3. MPI_Allgatherv: every rank receives every reduced slice.
    /// Steps 1 and 3 only move bytes, so the result is the rank-order sum for any N and any MPI algorithm.
    /// Each rank sends and receives 2·(N−1)/N of the buffer, as a ring allreduce does.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func reduceInRankOrder<T: BinaryFloatingPoint>(_ buffer: UnsafeMutableBufferPointer<T>, _ op: ReduceOperation,
                                                   _ type: MPI_Datatype) throws {
        try requireSameCount(buffer.count, "allreduce")
        let n = buffer.count, ranks = size, me = rank
        guard n > 0, let base = buffer.baseAddress else { return }
        guard ranks > 1 else { return }  // the sum and the mean over one rank are the value itself
        let chunk = max(ranks, maxChunkBytes / MemoryLayout<T>.stride)
        let maxSlice = (min(chunk, n) + ranks - 1) / ranks
        var scratch = [T](repeating: 0, count: maxSlice * ranks)
        var sendCounts = [Int32](repeating: 0, count: ranks), sendOffsets = sendCounts
        var receiveCounts = sendCounts, receiveOffsets = sendCounts
        for lo in stride(from: 0, to: n, by: chunk) {
            let m = min(chunk, n - lo), slice = (m + ranks - 1) / ranks
            func length(_ j: Int) -> Int { max(0, min(slice, m - j * slice)) }
            let mine = length(me)
            for j in 0..<ranks {
                sendCounts[j] = Int32(length(j)); sendOffsets[j] = Int32(min(j * slice, m))
                receiveCounts[j] = Int32(mine); receiveOffsets[j] = Int32(j * mine)
            }
            try scratch.withUnsafeMutableBytes { s in
                try check(MPI_Alltoallv(base + lo, sendCounts, sendOffsets, type, s.baseAddress, receiveCounts, receiveOffsets,
                                        type, world), "allreduce (MPI_Alltoallv)")
            }
            let out = base + lo + me * slice
            scratch.withUnsafeBufferPointer { s in
                for k in 0..<mine {
                    var total = Double(s[k])
                    for r in 1..<ranks { total += Double(s[r * mine + k]) }
                    out[k] = T(op == .mean ? total / Double(ranks) : total)
                }
            }
            try check(MPI_Allgatherv(pararl_mpi_in_place(), 0, type, base + lo, sendCounts, sendOffsets, type, world),
                      "allreduce (MPI_Allgatherv)")
        }
    }

    public func gather(_ data: Data, root: Int) throws -> [Data] {
        var mySize: Int64 = Int64(data.count)
        var sizes = [Int64](repeating: 0, count: rank == root ? size : 0)
        try sizes.withUnsafeMutableBytes { s in
            try check(MPI_Gather(&mySize, 1, pararl_mpi_int64(), s.baseAddress, 1, pararl_mpi_int64(), Int32(root), world),
                      "MPI_Gather (sizes)")
        }
        var counts: [Int32] = [], offsets: [Int32] = []
        if rank == root {
            var total: Int64 = 0
            for s in sizes { offsets.append(Int32(clamping: total)); counts.append(Int32(clamping: s)); total += s }
            guard total <= Int64(Int32.max) else {
                throw CommunicatorError.sizeMismatch(operation: "MPI_Gatherv", rank: rank,
                                                     reason: "\(total) bytes gathered exceed MPI's 2 GiB count limit")
            }
        }
        var received = [UInt8](repeating: 0, count: rank == root ? Int(sizes.reduce(0, +)) : 0)
        let payload = [UInt8](data)
        try payload.withUnsafeBytes { p in
            try received.withUnsafeMutableBytes { r in
                try check(MPI_Gatherv(p.baseAddress, Int32(p.count), pararl_mpi_uint8(), r.baseAddress, counts, offsets,
                                      pararl_mpi_uint8(), Int32(root), world), "MPI_Gatherv")
            }
        }
        guard rank == root else { return [] }
        return (0..<size).map { Data(received[Int(offsets[$0])..<(Int(offsets[$0]) + Int(counts[$0]))]) }
    }

    // MARK: Ending

    /// Prints "rank r: message" and ends every process of the job with `code` (MPI_Abort).
    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("rank \(rank): \(message)\n".utf8))
        _ = pararl_mpi_abort_world(code == 0 ? 1 : code)
        exit(code == 0 ? 1 : code)  // MPI_Abort does not return; this is in case the library does
    }

    public func finalize() {
        var initialized: Int32 = 0, finalized: Int32 = 0
        MPI_Initialized(&initialized)
        MPI_Finalized(&finalized)
        if initialized != 0 && finalized == 0 { MPI_Finalize() }
    }
}
