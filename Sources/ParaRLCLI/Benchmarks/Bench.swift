// `pararl bench`: GFLOP/s of our matmul against raw cblas_sgemm (each OpenBLAS kernel set the CPU runs)
// and dnnl_sgemm at transformer shapes, and of a full transformer forward+backward (docs/design.md §7).
import ArgumentParser
import CBLAS
import CDNNL
import Foundation
import ParaRLMedia
import ParaRLCore

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure matmul and transformer throughput on this machine.",
        subcommands: [BenchGEMM.self, BenchTransformer.self, BenchStep.self])
}

/// Seconds per call: the median of `repeats` timings after one warm-up, each timing long enough to be stable.
func timeIt(repeats: Int = 5, minSeconds: Double = 0.2, _ body: () -> Void) -> Double {
    body()
    var samples: [Double] = []
    for _ in 0..<repeats {
        var calls = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        repeat {
            body()
            calls += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        } while elapsed < minSeconds
        samples.append(elapsed / Double(calls))
    }
    return samples.sorted()[samples.count / 2]
}

/// Deterministic, well-scaled benchmark inputs in [-1, 1].
func benchData(_ count: Int, seed: Float) -> [Float] {
    (0..<count).map { sin(Float($0) * 0.618_034 + seed) }
}

struct BenchGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "GFLOP/s of our GEMM against raw cblas_sgemm and dnnl_sgemm at transformer shapes.",
        discussion: """
            Raw OpenBLAS is measured for every kernel set the CPU can run (its default choice, and
            SkylakeX where the CPU has AVX-512) in child processes, because OPENBLAS_CORETYPE only takes
            effect when the library loads.
            Example: pararl bench gemm --threads 2
            """)

    @OptionGroup var compute: ComputeOptions
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: .hidden) var rawOnly = false

    static let shapes: [(m: Int, n: Int, k: Int, what: String)] = [
        (7168, 256, 256, "q/k/v/out proj, B32×T224, d256"),
        (7168, 704, 256, "ff_proj/up_proj, d256→704"),
        (7168, 256, 704, "ff_out, 704→d256"),
        (7168, 1100, 256, "output head, V1100"),
        (225, 768, 768, "one sequence, d768"),
        (2048, 768, 768, "2048 tokens, d768"),
    ]

    struct Row: Codable { var shape: String; var m: Int; var n: Int; var k: Int; var gflops: [String: Double] }

    func run() throws {
        compute.apply()
        let threads = Parallel.threadCount
        var rows: [Row] = []
        for s in Self.shapes {
            let a = benchData(s.m * s.k, seed: 1), b = benchData(s.k * s.n, seed: 2)
            var c = [Float](repeating: 0, count: s.m * s.n)
            let flops = 2.0 * Double(s.m * s.n * s.k)
            var r = Row(shape: s.what, m: s.m, n: s.n, k: s.k, gflops: [:])
            func measure(_ name: String, _ f: () -> Void) { r.gflops[name] = flops / timeIt(f) / 1e9 }
            let core = OpenBLASGEMM.coreName
            measure("cblas_sgemm[\(core)]") {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(s.m), Int32(s.n), Int32(s.k), 1, a, Int32(s.k),
                            b, Int32(s.k), 0, &c, Int32(s.n))
            }
            if !rawOnly {
                measure("dnnl_sgemm") {
                    _ = dnnl_sgemm(78, 84, Int64(s.m), Int64(s.n), Int64(s.k), 1, a, Int64(s.k), b, Int64(s.k), 0, &c, Int64(s.n))
                }
                measure("ours[\(GEMM.backend.name)]") {
                    a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                        Linear.forward(out: cp.baseAddress!, inp: ap.baseAddress!, weight: bp.baseAddress!, bias: nil,
                                       n: s.m, ic: s.k, oc: s.n)
                    } } }
                }
            }
            rows.append(r)
        }
        if !rawOnly {
            for (coreType, extra) in childRuns(threads: threads) {
                for (i, row) in extra.enumerated() where i < rows.count {
                    for (k, v) in row.gflops { rows[i].gflops[k + (k.contains(coreType) ? "" : "@\(coreType)")] = v }
                }
            }
        }
        if json {
            let data = try JSONText.outputEncoder().encode(rows)
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("GEMM GFLOP/s, \(threads) threads, row-major C = A·Bᵀ (OpenBLAS default core: \(OpenBLASGEMM.coreName))")
        let columns = Array(Set(rows.flatMap { $0.gflops.keys })).sorted()
        print("| shape | M×N×K | " + columns.joined(separator: " | ") + " |")
        print("|---|---|" + String(repeating: "---|", count: columns.count))
        for r in rows {
            let cells = columns.map { r.gflops[$0].map { String(format: "%.0f", $0) } ?? "–" }
            print("| \(r.shape) | \(r.m)×\(r.n)×\(r.k) | " + cells.joined(separator: " | ") + " |")
        }
        let best = rows.map { $0.gflops.values.max() ?? 0 }
        let ours = rows.map { r in r.gflops.first { $0.key.hasPrefix("ours") }?.value ?? 0 }
        let pct = zip(ours, best).map { $1 > 0 ? 100 * $0 / $1 : 0 }
        print(String(format: "ours vs best per shape: min %.0f%%, mean %.0f%%", pct.min() ?? 0, pct.reduce(0, +) / Double(max(1, pct.count))))
    }

    /// Raw cblas_sgemm rates under other OpenBLAS kernel sets, from child processes.
    private func childRuns(threads: Int) -> [(String, [Row])] {
        let flags = Numerics.cpuFlags()
        var coreTypes = ["Haswell"]
        if Numerics.openBLASCoreType(flags: flags, environment: [:]) != nil { coreTypes.append("SkylakeX") }
        var results: [(String, [Row])] = []
        for ct in coreTypes where ct != OpenBLASGEMM.coreName {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/proc/self/exe")
            p.arguments = ["bench", "gemm", "--raw-only", "--json", "--threads", "\(threads)"]
            var env = ProcessInfo.processInfo.environment
            env["OPENBLAS_CORETYPE"] = ct
            env[BLASEnvironment.marker] = "1"
            p.environment = env
            let pipe = Pipe()
            p.standardOutput = pipe
            guard (try? p.run()) != nil else { continue }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            if p.terminationStatus == 0, let rows = try? JSONDecoder().decode([Row].self, from: data) {
                results.append((ct, rows))
            }
        }
        return results
    }
}
