// `pararl tokenizer fit|vocab`: fits the patch VQ image tokenizer by k-means (docs/design.md §3.9) and writes the
// policy's text vocabulary.
import ArgumentParser
import Foundation
import ParaRLCore
import ParaRLMedia
import ParaRLWorld

struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Fit the image tokenizer and write the text vocabulary.",
        subcommands: [TokenizerFitCommand.self, TokenizerVocabCommand.self])
}

struct TokenizerFitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit a patch VQ codebook by k-means on a dataset's images.",
        discussion: """
            Collects the PNG images of --data (a folder, searched recursively, or a dataset JSONL), cuts them
            into p×p patches and fits the codebook by weighted k-means on the distinct patches (k-means++
            seeding from --seed, parallel nearest-code assignment, deterministic for a seed). Reports the fit
            time, the reconstruction PSNR and the share of the codebook in use.
            Example:
              pararl world generate --split train --count 3000 --out data/world
              pararl tokenizer fit --data data/world --patch 4 --codebook 512 --out vq.safetensors
            """)

    @Option(help: "Folder of PNG images (recursive) or a dataset JSONL.") var data: String
    @Option(help: "Patch side p in pixels.") var patch: Int = 4
    @Option(help: "Codebook size K.") var codebook: Int = 512
    @Option(help: "Output safetensors file.") var out: String
    @Option(help: "Seed of the k-means++ seeding.") var seed: UInt64 = 0
    @Option(help: "Most Lloyd iterations.") var iterations: Int = 20
    @Option(help: "Use at most this many images (the first in path order).") var maxImages: Int?
    @Flag(help: "Print the report as JSON.") var json = false
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if !(1...256).contains(patch) { throw ValidationError("--patch must be in 1…256, got \(patch)") }
        if !(1...65_536).contains(codebook) { throw ValidationError("--codebook must be in 1…65536, got \(codebook)") }
        if !(1...10_000).contains(iterations) { throw ValidationError("--iterations must be in 1…10000, got \(iterations)") }
        if let m = maxImages, m < 1 { throw ValidationError("--max-images must be at least 1, got \(m)") }
    }

    struct Report: Codable {
        var images: Int
        var patches: Int
        var distinctPatches: Int
        var codebook: Int
        var patch: Int
        var iterations: Int
        var converged: Bool
        var fitSeconds: Double
        var quality: ReconstructionQuality
        var out: String
        enum CodingKeys: String, CodingKey {
            case images, patches, distinctPatches = "distinct_patches", codebook, patch, iterations, converged
            case fitSeconds = "fit_seconds", quality, out
        }
    }

    func run() throws {
        compute.apply()
        var urls = try Self.imageFiles(data)
        if let m = maxImages { urls = Array(urls.prefix(m)) }
        guard !urls.isEmpty else { throw ValidationError("no PNG images in \(data)") }
        var progress = WorldProgressLine("read images", total: urls.count)
        var images: [RGBImage] = []
        for (i, u) in urls.enumerated() {
            images.append(try PNGCodec.read(u))
            progress.update(i + 1)
        }
        progress.finish()
        let start = Date()
        let fit = try PatchVQ.fit(images: images, patchSize: patch, codebookSize: codebook, iterations: iterations, seed: seed) {
            FileHandle.standardError.write(Data("k-means: \($0)\n".utf8))
        }
        let seconds = Date().timeIntervalSince(start)
        let quality = try fit.tokenizer.quality(on: images)
        try fit.tokenizer.save(to: URL(fileURLWithPath: out))
        let report = Report(images: images.count, patches: fit.patchCount, distinctPatches: fit.distinctPatches,
                            codebook: codebook, patch: patch, iterations: fit.iterations, converged: fit.converged,
                            fitSeconds: seconds, quality: quality, out: out)
        if json {
            print(String(decoding: try JSONText.outputEncoder(pretty: true).encode(report), as: UTF8.self))
        } else {
            print("""
                fitted \(codebook) codes of \(patch)×\(patch) patches on \(images.count) images \
                (\(fit.patchCount) patches, \(fit.distinctPatches) distinct) in \(String(format: "%.2f", seconds)) s, \
                \(fit.iterations) iterations\(fit.converged ? " (converged)" : "")
                reconstruction PSNR \(String(format: "%.2f", quality.psnr)) dB, codebook usage \(quality.usedCodes)/\(codebook) \
                (\(String(format: "%.1f", 100 * quality.codebookUsage))%)
                wrote \(out)
                """)
        }
    }

    /// The PNG files of a folder (recursive, sorted by path) or of a dataset JSONL (its input and output
    /// images, in file order).
    static func imageFiles(_ path: String) throws -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(path): no such file or folder")
        }
        if !isDirectory.boolValue {
            let records = try WorldDataset.load(URL(fileURLWithPath: path), schema: .dataset, checkImages: false)
            return records.flatMap { [$0.inputImage, $0.outputImage].compactMap { $0 } }
        }
        let root = URL(fileURLWithPath: path)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            throw ValidationError("\(path): cannot list the folder")
        }
        var urls: [URL] = []
        for case let u as URL in walker where u.pathExtension.lowercased() == "png" { urls.append(u) }
        return urls.sorted { $0.path < $1.path }
    }
}

struct TokenizerVocabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vocab",
        abstract: "Write the text vocabulary (the world grammar's words and punctuation, plus <unk>).",
        discussion: """
            With --data, words of the dataset's instructions and reasoning that the world grammar lacks are
            appended (at least --min-count occurrences).
            Examples:
              pararl tokenizer vocab --out vocab.json
              pararl tokenizer vocab --data my/train.jsonl --out vocab.json
            """)

    @Option(help: "Output JSON file.") var out: String
    @Option(help: "Dataset JSONL whose words extend the world vocabulary.") var data: String?
    @Option(help: "Least occurrences of a dataset word to include it.") var minCount: Int = 1

    func run() throws {
        let tokenizer: TextTokenizer
        if let data {
            let records = try WorldDataset.load(URL(fileURLWithPath: data), schema: .dataset, checkImages: false)
            tokenizer = TextTokenizer.fitted(to: records.flatMap { [$0.instruction ?? "", $0.reasoning] }, minCount: minCount)
        } else {
            tokenizer = TextTokenizer.world()
        }
        try tokenizer.save(to: URL(fileURLWithPath: out))
        print("wrote \(tokenizer.count) tokens to \(out)")
    }
}
