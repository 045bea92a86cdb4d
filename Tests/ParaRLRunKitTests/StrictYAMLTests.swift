// Strict config reading: nested sections merge with their defaults and reject unknown keys by dotted path;
// aliases and over-deep nesting are refused.
import Foundation
import Testing
@testable import ParaRLRunKit

private struct Inner: Codable, Equatable {
    var steps = 16
    var temperature = 1.0
}

private struct Outer: Codable, Equatable {
    var seed = 0
    var name = "run"
    var sampler = Inner()
}

private let keys = YAMLKeys(["seed", "name", "sampler"], sections: ["sampler": YAMLKeys(["steps", "temperature"])])

@Suite struct StrictYAMLTests {
    @Test func nestedSectionMergesKeyByKey() throws {
        let c = try StrictYAML.decode(Outer.self, from: "seed: 3\nsampler:\n  steps: 32\n", defaults: Outer(), keys: keys, source: "c.yaml")
        #expect(c == Outer(seed: 3, name: "run", sampler: Inner(steps: 32, temperature: 1.0)))
        let empty = try StrictYAML.decode(Outer.self, from: "", defaults: Outer(), keys: keys, source: "c.yaml")
        #expect(empty == Outer())
    }

    @Test func valueErrorsGetTheKeysLine() {
        #expect(StrictYAML.line(of: "sampler.temperature", in: "seed: 1\nsampler:\n  steps: 8\n  temperature: 2\n") == 4)
        #expect(StrictYAML.line(of: "name", in: "seed: 1\n") == nil)
        #expect(throws: ParaRLError.invalidConfig(file: "c.yaml", key: "seed", reason: "too big", line: 2)) {
            try StrictYAML.withLines(text: "name: x\nseed: 99\n", source: "c.yaml") {
                throw ParaRLError.invalidConfig(file: "c.yaml", key: "seed", reason: "too big")
            }
        }
    }

    @Test func wholeFileErrorsNameNoPseudoKey() {
        for text in ["seed: [1, 2", "- a\n- b\n"] {
            do {
                _ = try StrictYAML.decode(Outer.self, from: text, defaults: Outer(), keys: keys, source: "c.yaml")
                Issue.record("\(text) decoded")
            } catch {
                #expect("\(error)".hasPrefix("c.yaml") && !"\(error)".contains("(file)") && !"\(error)".contains("key \"\""), "\(error)")
            }
        }
    }

    @Test func unknownNestedKeyNamesItsPathAndLine() {
        #expect(throws: ParaRLError.unknownKey(file: "c.yaml", key: "sampler.temprature", line: 3)) {
            try StrictYAML.decode(Outer.self, from: "sampler:\n  steps: 8\n  temprature: 0.5\n", defaults: Outer(), keys: keys, source: "c.yaml")
        }
        #expect(throws: ParaRLError.unknownKey(file: "c.yaml", key: "extra", line: 1)) {
            try StrictYAML.decode(Outer.self, from: "extra: 1\n", defaults: Outer(), keys: keys, source: "c.yaml")
        }
    }

    @Test func wrongNestedTypeNamesThePath() {
        do {
            _ = try StrictYAML.decode(Outer.self, from: "sampler:\n  steps: many\n", defaults: Outer(), keys: keys, source: "c.yaml")
            Issue.record("a string for an integer key must fail")
        } catch let ParaRLError.invalidConfig(file, key, _, line) {
            #expect(file == "c.yaml" && key == "sampler.steps" && line == 2)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func aliasesAndDeepNestingAreRefused() {
        let alias = "name: &n run\nsampler:\n  steps: 4\nseed: *n\n"
        #expect(throws: ParaRLError.self) {
            try StrictYAML.decode(Outer.self, from: alias, defaults: Outer(), keys: keys, source: "c.yaml")
        }
        // An alias of the same type was accepted (expanded) before: it must name its key and line.
        #expect(throws: ParaRLError.invalidConfig(file: "c.yaml", key: "seed", reason: "anchors and aliases are not allowed", line: 1)) {
            try StrictYAML.decode(Outer.self, from: "seed: &s 7\nsampler:\n  steps: *s\n", defaults: Outer(), keys: keys, source: "c.yaml")
        }
        // A "billion laughs" document (10 levels of 10 aliases, also inside a section) is refused before any expansion.
        var laughs = "name: &l0 \"lol\"\n"
        for i in 1...10 { laughs += "l\(i): &l\(i) [" + Array(repeating: "*l\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        for text in [laughs, "sampler:\n  " + laughs.replacingOccurrences(of: "\n", with: "\n  ")] {
            #expect(throws: ParaRLError.self) {
                try StrictYAML.decode(Outer.self, from: text, defaults: Outer(), keys: keys, source: "c.yaml")
            }
        }
        let deep = "name: " + String(repeating: "[", count: StrictYAML.maxDepth + 2) + String(repeating: "]", count: StrictYAML.maxDepth + 2)
        do {
            _ = try StrictYAML.decode(Outer.self, from: deep, defaults: Outer(), keys: keys, source: "c.yaml")
            Issue.record("over-deep nesting must fail")
        } catch let ParaRLError.invalidConfig(_, _, reason, _) {
            #expect(reason.contains("deeper"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
