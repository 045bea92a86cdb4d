// Inflates gzip data with the system zlib (Foundation on Linux has no gzip); used for the CLIP BPE vocabulary.
import CZlib
import Foundation

enum Gzip {
    /// The decompressed bytes of a gzip (or zlib) stream; `path` names the file in errors.
    static func inflate(_ data: Data, path: String) throws -> Data {
        var stream = z_stream()
        // windowBits 15 + 32: detect the gzip or zlib header automatically.
        guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw CLIPError.vocabulary(path: path, reason: "zlib inflateInit2 failed")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        let chunk = 1 << 18
        var buffer = [UInt8](repeating: 0, count: chunk)
        var status: Int32 = Z_OK
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            guard let base = input.bindMemory(to: Bytef.self).baseAddress else { return }
            stream.next_in = UnsafeMutablePointer(mutating: base)
            stream.avail_in = uInt(input.count)
            repeat {
                let produced: Int = buffer.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunk)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return chunk - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    throw CLIPError.vocabulary(path: path, reason: "not valid gzip data (zlib status \(status))")
                }
                output.append(contentsOf: buffer[0..<produced])
                if status == Z_OK && produced == 0 && stream.avail_in == 0 {
                    throw CLIPError.vocabulary(path: path, reason: "gzip data is truncated")
                }
            } while status != Z_STREAM_END
        }
        return output
    }
}
