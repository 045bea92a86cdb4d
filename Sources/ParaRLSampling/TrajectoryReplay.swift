// Replaying a trajectory record (docs/design.md §3.4): the exact state before any step, the tokens revealed at a step, and
// the compact, versioned, checksummed binary form stored in the rollout log.
import Foundation
import ParaRLCore
import ParaRLPolicy

extension TrajectoryRecord {
    /// The full sequence before `step` (1…T+1): `prompt` (the conditional sequence) with every output position whose
    /// reveal step is < `step` holding its final token and all other output positions `[MASK]`.
    public func state(before step: Int, prompt: PolicySequence, layout: SequenceLayout, maskID: Int) -> [Int32] {
        state(before: step, promptTokens: prompt.tokens, layout: layout, maskID: maskID)
    }

    public func state(before step: Int, promptTokens: [Int32], layout: SequenceLayout, maskID: Int) -> [Int32] {
        var t = promptTokens
        for (j, p) in layout.outputPositions.enumerated() where j < tokens.count {
            t[p] = Int(revealStep[j]) < step ? tokens[j] : Int32(maskID)
        }
        return t
    }

    /// Output indices (into `SequenceLayout.outputPositions`) revealed at `step`, ascending.
    public func outputIndices(revealedAt step: Int) -> [Int] {
        revealStep.indices.filter { Int(revealStep[$0]) == step }
    }

    // MARK: Binary form

    static let magic: [UInt8] = Array("PRTR".utf8)
    public static let encodingVersion: UInt16 = 1
    static let headerSize = 4 + 2 + 2 + 8 + 4 + 4

    /// Little-endian: "PRTR", version u16, reserved u16, seed u64, steps u32, count n u32, tokens i32[n],
    /// reveal steps u16[n], log-probs f32[n], CRC-32 (IEEE) of everything before it. 10·n + 28 bytes.
    public func encoded() -> Data {
        var d = Data(capacity: Self.headerSize + 10 * tokens.count + 4)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Self.magic)
        put(Self.encodingVersion); put(UInt16(0)); put(seed); put(UInt32(steps)); put(UInt32(tokens.count))
        for t in tokens { put(t) }
        for s in revealStep { put(UInt16(clamping: s)) }
        for l in logProb { put(l.bitPattern) }
        put(CRC32.checksum(d))
        return d
    }

    /// Decodes and validates a blob of `encoded()`; every defect is a `SamplingError.corruptRecord` saying what.
    public init(encoded data: Data) throws {
        let bytes = [UInt8](data)
        func fail(_ m: String) -> SamplingError { .corruptRecord(m) }
        guard bytes.count >= Self.headerSize + 4 else { throw fail("\(bytes.count) bytes is shorter than the \(Self.headerSize + 4)-byte minimum") }
        guard Array(bytes[0..<4]) == Self.magic else { throw fail("does not start with \"PRTR\"") }
        var at = 4
        func get<T: FixedWidthInteger>(_: T.Type) -> T {
            var v: T = 0
            for i in 0..<MemoryLayout<T>.size { v |= T(truncatingIfNeeded: bytes[at + i]) << (8 * i) }
            at += MemoryLayout<T>.size
            return v
        }
        let version = get(UInt16.self)
        guard version == Self.encodingVersion else { throw fail("version \(version) is not supported (this build reads \(Self.encodingVersion))") }
        _ = get(UInt16.self)
        let seed = get(UInt64.self), steps = Int(get(UInt32.self)), n = Int(get(UInt32.self))
        let expected = Self.headerSize + 10 * n + 4
        guard bytes.count == expected else { throw fail("\(bytes.count) bytes, but \(n) positions need \(expected)") }
        let stored = UInt32(bytes[expected - 4]) | UInt32(bytes[expected - 3]) << 8 | UInt32(bytes[expected - 2]) << 16 | UInt32(bytes[expected - 1]) << 24
        guard CRC32.checksum(data.prefix(expected - 4)) == stored else { throw fail("checksum mismatch") }
        guard steps >= 1 && steps <= Int(UInt16.max) else { throw fail("steps \(steps) is outside 1…\(UInt16.max)") }
        let tokens = (0..<n).map { _ in get(Int32.self) }
        let reveal = (0..<n).map { _ in Int32(get(UInt16.self)) }
        let logProb = (0..<n).map { _ in Float(bitPattern: get(UInt32.self)) }
        if let j = tokens.firstIndex(where: { $0 < 0 }) { throw fail("token \(tokens[j]) at position \(j) is negative") }
        if let j = reveal.firstIndex(where: { $0 < 1 || Int($0) > steps }) { throw fail("reveal step \(reveal[j]) at position \(j) is outside 1…\(steps)") }
        if let j = logProb.firstIndex(where: { !$0.isFinite || $0 > 0 }) { throw fail("log-probability \(logProb[j]) at position \(j) is not finite and ≤ 0") }
        self.init(seed: seed, steps: steps, tokens: tokens, revealStep: reveal, logProb: logProb)
    }
}
