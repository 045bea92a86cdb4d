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
