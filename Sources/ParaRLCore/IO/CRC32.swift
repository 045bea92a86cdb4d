// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib's crc32 and `python -c "zlib.crc32(...)"`: the checksum
// of trajectory records and of every file in a checkpoint's manifest.
import Foundation

public enum CRC32 {
    /// Eight tables of 256 entries for slicing-by-8 (eight bytes per step), table k at k·256.
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 { t[k * 256 + i] = (t[(k - 1) * 256 + i] >> 8) ^ t[Int(t[(k - 1) * 256 + i] & 0xFF)] }
        }
        return t
    }()

    /// The CRC-32 of `data`.
    public static func checksum(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { update(0, $0) }
    }

    /// `crc` (the CRC-32 of what came before, 0 at the start) continued over `bytes`.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        tables.withUnsafeBufferPointer { t in
            // Every index below is a byte (< 256) plus k·256: inside the 2,048 entries.
            func at(_ k: Int, _ byte: UInt32) -> UInt32 { t[k << 8 | Int(byte & 0xFF)] }
            var c = ~crc, i = 0
            let n = bytes.count
            while i + 8 <= n {
                let lo = c ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian
                let hi = bytes.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self).littleEndian
                c = at(7, lo) ^ at(6, lo >> 8) ^ at(5, lo >> 16) ^ at(4, lo >> 24)
                    ^ at(3, hi) ^ at(2, hi >> 8) ^ at(1, hi >> 16) ^ at(0, hi >> 24)
                i += 8
            }
            while i < n {
                c = at(0, c ^ UInt32(bytes[i])) ^ (c >> 8)
                i += 1
            }
            return ~c
        }
    }
}
