// Tokenizer parity with open_clip's SimpleTokenizer on the committed strings
// (tools/fixtures/make_clip_tokenizer_fixture.py), and the context-length rules.
import Foundation
import ParaRLCLIP
import Testing
import TestSupport

/// The repository root, found from this file's path (Tests/ParaRLCLIPTests/…).
func repositoryRoot(file: String = #filePath) -> URL {
    URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// The tokenizer from the cached vocabulary (tools/setup.sh), shared by the tests.
let sharedTokenizer: CLIPTokenizer? = {
    guard let url = try? CLIPTokenizer.locateVocabulary(explicit: nil, repoRoot: repositoryRoot()) else { return nil }
    return try? CLIPTokenizer(vocabularyURL: url)
}()

@Suite("CLIP tokenizer")
struct CLIPTokenizerTests {
    struct Case: Decodable { let text: String; let ids: [Int32]; let tokenized77: [Int32] }
    struct Fixture: Decodable { let sot: Int32; let eot: Int32; let vocab_size: Int; let cases: [Case] }

    @Test("matches open_clip SimpleTokenizer on ≥ 200 strings")
    func parity() throws {
        let tokenizer = try #require(sharedTokenizer, "run tools/setup.sh to fetch the BPE vocabulary")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: fixtureURL("clip_tokenizer.json")))
        #expect(fixture.cases.count >= 200)
        #expect(tokenizer.vocabularySize == fixture.vocab_size && tokenizer.vocabularySize == 49408)
        #expect(tokenizer.startOfText == fixture.sot && tokenizer.startOfText == 49406)
        #expect(tokenizer.endOfText == fixture.eot && tokenizer.endOfText == 49407)
        var matches = 0
        for c in fixture.cases {
            let ids = tokenizer.encode(c.text), padded = tokenizer.tokenize(c.text, contextLength: 77)
            if ids == c.ids && padded == c.tokenized77 { matches += 1 } else {
                Issue.record("tokenizer mismatch for \(c.text.debugDescription): \(ids) vs \(c.ids)")
            }
        }
        print("CLIP tokenizer parity: \(matches)/\(fixture.cases.count)")
    }

    @Test("truncation keeps EOT last and pads with zeros")
    func contextLength() throws {
        let tokenizer = try #require(sharedTokenizer, "run tools/setup.sh to fetch the BPE vocabulary")
        let long = tokenizer.tokenize(String(repeating: "red square ", count: 20), contextLength: 8)
        #expect(long.count == 8 && long.first == 49406 && long.last == 49407)
        let short = tokenizer.tokenize("cat", contextLength: 6)
        #expect(short.count == 6 && short[0] == 49406 && short[2] == 49407 && short[3...].allSatisfy { $0 == 0 })
    }
}
