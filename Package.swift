// swift-tools-version: 6.1
// The ParaRL package: a CPU trainer for trajectory-level RL of parallel text–image diffusion policies.
import PackageDescription

let package = Package(
    name: "ParaRL",
    products: [
        .library(name: "ParaRL", targets: ["ParaRLCore", "ParaRLRunKit", "ParaRLStorage", "ParaRLMedia", "ParaRLWorld", "ParaRLCLIP",
                                           "ParaRLPolicy", "ParaRLSFT", "ParaRLSampling", "ParaRLDistributed", "ParaRLTrainer",
                                           "ParaRLReport"]),
        .executable(name: "pararl", targets: ["ParaRLCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // System libraries from Debian (see README: libopenblas-dev, libdnnl-dev, libopenmpi-dev, libpng-dev).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        // zlib, to read the gzip-compressed CLIP BPE vocabulary.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // MPI handles such as MPI_COMM_WORLD are macros Swift cannot import; this shim exposes them as functions.
        .target(name: "CMPIShim", dependencies: ["CMPI"]),

        // Element-wise and row kernels in C, compiled for AVX-512, AVX2+FMA and portable code and chosen at run time.
        .target(name: "CKernels"),
        .target(name: "ParaRLCore", dependencies: ["CBLAS", "CDNNL", "CKernels"]),
        .target(name: "ParaRLStorage", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        // Images and PNG, the word-level text tokenizer and the patch-VQ image tokenizer: what the policy and the CLIP
        // scorer read and write, independent of the built-in world.
        .target(name: "ParaRLMedia", dependencies: ["ParaRLCore", "CPNG"]),
        .target(name: "ParaRLWorld", dependencies: ["ParaRLCore", "ParaRLMedia"]),
        .target(name: "ParaRLCLIP", dependencies: ["ParaRLMedia", "ParaRLCore", "ParaRLWorld", "ParaRLRunKit", "CZlib"]),
        // What every training loop shares: strict YAML configs, atomic files, checkpoints and trainer state, optimiser
        // settings, rank shares and root synchronisation, the errors that name file and key.
        .target(name: "ParaRLRunKit", dependencies: ["ParaRLCore", "ParaRLDistributed", .product(name: "Yams", package: "Yams")]),
        // The policy: the masked-diffusion transformer, its config files, vocabulary and sequence layout (docs/design.md §3.1–3.2).
        .target(name: "ParaRLPolicy", dependencies: ["ParaRLMedia", "ParaRLCore", "ParaRLWorld", "ParaRLRunKit",
                                                    .product(name: "Yams", package: "Yams")]),
        // Supervised fine-tuning of the policy (docs/design.md §3.3): data, objective, the loop and its log.
        .target(name: "ParaRLSFT", dependencies: ["ParaRLMedia", "ParaRLCore", "ParaRLWorld", "ParaRLPolicy", "ParaRLRunKit", "ParaRLStorage",
                                                 "ParaRLDistributed", .product(name: "GRDB", package: "GRDB.swift")]),
        // Parallel text–image sampling with dual schedulers and exact trajectory records (docs/design.md §3.4).
        .target(name: "ParaRLSampling", dependencies: ["ParaRLMedia", "ParaRLCore", "ParaRLWorld", "ParaRLPolicy", "ParaRLRunKit"]),
        // Collectives for data-parallel training: single process or MPI (docs/design.md §5).
        .target(name: "ParaRLDistributed", dependencies: ["CMPIShim"]),
        // ParaRL: rewards, advantages, diffusion-GRPO, the trainer loop and its rollout log (docs/design.md §3.5–3.7, §4).
        .target(name: "ParaRLTrainer", dependencies: ["ParaRLMedia", "ParaRLCore", "ParaRLWorld", "ParaRLCLIP", "ParaRLPolicy", "ParaRLRunKit",
                                                     "ParaRLSampling", "ParaRLStorage", "ParaRLDistributed",
                                                     .product(name: "GRDB", package: "GRDB.swift"),
                                                     .product(name: "Yams", package: "Yams")]),
        // Reading rollout logs: inspect queries, exports and the HTML report.
        .target(name: "ParaRLReport", dependencies: ["ParaRLMedia", "ParaRLCore", "ParaRLStorage",
                                                    .product(name: "GRDB", package: "GRDB.swift")]),
        .executableTarget(name: "ParaRLCLI",
                          dependencies: ["ParaRLMedia", "ParaRLCore", "ParaRLRunKit", "ParaRLStorage", "ParaRLWorld", "ParaRLCLIP", "ParaRLPolicy", "ParaRLSFT",
                                         "ParaRLSampling", "ParaRLDistributed", "ParaRLTrainer", "ParaRLReport", "CMPIShim", "CPNG", "CBLAS", "CDNNL",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/ParaRLCLI"),

        .target(name: "TestSupport", dependencies: ["ParaRLCore"], path: "Tests/TestSupport"),
        .testTarget(name: "ParaRLCoreTests", dependencies: ["ParaRLCore", "CKernels", "TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "ParaRLWorldTests", dependencies: ["ParaRLMedia", "ParaRLCore", "ParaRLWorld", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ParaRLCLIPTests", dependencies: ["ParaRLMedia", "ParaRLCore", "ParaRLWorld", "ParaRLCLIP", "ParaRLRunKit", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ParaRLRunKitTests", dependencies: ["ParaRLRunKit", "ParaRLCore"]),
        .testTarget(name: "ParaRLPolicyTests", dependencies: ["ParaRLCore", "ParaRLWorld", "ParaRLPolicy", "ParaRLRunKit", "ParaRLSFT",
                                                         "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ParaRLSFTTests", dependencies: ["ParaRLMedia", "ParaRLCore", "ParaRLWorld", "ParaRLSFT", "ParaRLPolicy", "ParaRLRunKit",
                                                      "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ParaRLStorageTests", dependencies: ["ParaRLStorage", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "ParaRLSamplingTests", dependencies: ["ParaRLCore", "ParaRLPolicy", "ParaRLRunKit", "ParaRLSampling",
                                                           "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ParaRLDistributedTests", dependencies: ["ParaRLCore", "ParaRLDistributed", "ParaRLSFT", "TestSupport"]),
        .testTarget(name: "ParaRLTrainerTests", dependencies: ["ParaRLMedia", "ParaRLCore", "ParaRLWorld", "ParaRLCLIP", "ParaRLPolicy", "ParaRLRunKit",
                                                          "ParaRLSFT", "ParaRLSampling", "ParaRLStorage", "ParaRLTrainer",
                                                          "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ParaRLReportTests", dependencies: ["ParaRLMedia", "ParaRLReport", "ParaRLStorage", "ParaRLWorld", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "SystemLibraryTests", dependencies: ["CMPIShim", "CPNG"]),
    ],
    swiftLanguageModes: [.v5]
)
