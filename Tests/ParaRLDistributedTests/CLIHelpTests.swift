// The `pararl` executable's help and exit codes: every command and subcommand, found by walking `--help` from the
// top, prints its usage and exits 0; misuse exits 64 (ArgumentParser's usage error) with a message naming the option;
// a run-time error exits 1 with the file it concerns.
import Foundation
import Testing

@Suite("CLI help and exit codes")
struct CLIHelpTests {
    /// The subcommand names listed under SUBCOMMANDS in a help text.
    static func subcommands(_ help: String) -> [String] {
        guard let start = help.range(of: "SUBCOMMANDS:\n") else { return [] }
        return help[start.upperBound...].split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.split(separator: " ").first else { return nil }
            return name == "See" ? nil : String(name)
        }
    }

    @Test("every command's --help prints its usage and exits 0; the tree holds the documented commands")
    func everyCommandHasHelp() throws {
        var queue: [[String]] = [[]], seen: [[String]] = []
        while let path = queue.first {
            queue.removeFirst()
            let r = try MPIHarness.run(ranks: nil, path + ["--help"], timeout: 30)
            #expect(r.status == 0 && !r.signaled, "\(path): status \(r.status) \(r.stderr)")
            #expect(r.stdout.contains("USAGE: pararl" + path.map { " " + $0 }.joined()), "\(path): \(r.stdout.prefix(200))")
            seen.append(path)
            queue += Self.subcommands(r.stdout).map { path + [$0] }
        }
        let names = Set(seen.map { $0.joined(separator: " ") })
        for expected in ["train", "sft", "ablate", "demo", "eval", "sample", "calibrate", "report", "inspect steps", "inspect runs",
                         "clip train", "clip score", "world judge", "reward-agreement"] {
            #expect(names.contains(expected), "no `pararl \(expected)` in the help tree: \(names.sorted())")
        }
        #expect(seen.count > 25)
    }

    @Test("misuse exits 64 naming the option; a missing config exits 1 naming the file")
    func exitCodes() throws {
        let train = try MPIHarness.run(ranks: nil, ["train"], timeout: 30)
        #expect(train.status == 64 && train.stderr.contains("--config"), "\(train.status): \(train.stderr)")
        let both = try MPIHarness.run(ranks: nil, ["train", "--config", "a.yaml", "--resume", "r"], timeout: 30)
        #expect(both.status == 64 && both.stderr.contains("exclude each other"), "\(both.status): \(both.stderr)")
        let unknown = try MPIHarness.run(ranks: nil, ["train", "--config", "a.yaml", "--no-such-flag"], timeout: 30)
        #expect(unknown.status == 64 && unknown.stderr.contains("--no-such-flag"), "\(unknown.status): \(unknown.stderr)")
        let missing = try MPIHarness.run(ranks: nil, ["train", "--config", "/nonexistent/run.yaml", "--run-dir", "/tmp/x"], timeout: 30)
        #expect(missing.status == 1 && missing.stderr.contains("/nonexistent/run.yaml"), "\(missing.status): \(missing.stderr)")
    }
}
