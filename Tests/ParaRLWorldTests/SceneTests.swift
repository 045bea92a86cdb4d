// Scenes: the canonical statement reads back exactly, rendering is crisp and the pixel parser recovers
// every scene it renders, also under scattered noise.
import Foundation
import ParaRLCore
import ParaRLMedia
import Testing
import TestSupport
@testable import ParaRLWorld

/// A random scene of up to four objects (any attributes, duplicates allowed).
func randomScene(_ rng: inout TestRNG, maxObjects: Int = 4) -> Scene {
    let n = rng.int(maxObjects + 1)
    var cells = Array(0..<9)
    for i in stride(from: 8, to: 0, by: -1) { cells.swapAt(i, rng.int(i + 1)) }
    let objects = cells.prefix(n).map { c in
        SceneObject(color: WorldColor.allCases[rng.int(WorldColor.allCases.count)],
                    shape: WorldShape.allCases[rng.int(WorldShape.allCases.count)],
                    size: WorldSize.allCases[rng.int(2)], position: GridPosition(index: c))
    }
    return Scene(background: Background.allCases[rng.int(Background.allCases.count)], objects: objects)
}

@Suite struct SceneTests {
    @Test func statementMatchesTheDocumentedForm() {
        let s = Scene(background: .day, objects: [
            SceneObject(color: .blue, shape: .square, size: .large, position: GridPosition(row: 1, column: 1)),
            SceneObject(color: .red, shape: .circle, size: .small, position: GridPosition(row: 0, column: 0)),
            SceneObject(color: .orange, shape: .ring, size: .small, position: GridPosition(row: 2, column: 2)),
        ])
        #expect(s.statement == "final scene: a red small circle at top left, a blue large square at center, an orange small ring at bottom right; background day.")
        #expect(Scene(background: .night, objects: []).statement == "final scene: nothing; background night.")
    }

    @Test func statementsParseBackExactly() throws {
        var rng = TestRNG(seed: 1)
        for _ in 0..<300 {
            let s = randomScene(&rng)
            #expect(try Scene(statement: s.statement) == s)
            #expect(try Scene(statement: s.body) == s)
        }
        // Case, spacing and either article are accepted.
        let loose = try Scene(statement: "Final  scene:\n a Red small CIRCLE at top left ,an red large ring at center;background rain.")
        #expect(loose.objects.count == 2 && loose.background == .rain)
    }

    @Test func malformedStatementsNameTheWord() {
        #expect(throws: SceneStatementError(reason: "expected a colour, found \"huge\"", word: 4)) {
            try Scene(statement: "final scene: a huge small circle at top left; background day.")
        }
        #expect(throws: SceneStatementError.self) { try Scene(statement: "final scene: a red small circle at top; background day.") }
        #expect(throws: SceneStatementError.self) { try Scene(statement: "final scene: a red small circle at center; background noon.") }
        #expect(throws: SceneStatementError.self) {
            try Scene(statement: "final scene: a red small circle at center, a blue small ring at center; background day.")
        }
        #expect(throws: SceneStatementError.self) { try Scene(statement: "final scene: nothing; background day. extra") }
    }

    @Test func renderUsesOnlyPaletteColoursOnAPatchAlignedGrid() {
        let g = SceneGeometry(imageSize: 32)
        #expect(g.cell == 8 && g.margin == 4)
        #expect(g.side(.small) == 6 && g.side(.large) == 8)
        var rng = TestRNG(seed: 2)
        let palette = Set(WorldColor.allCases.map(\.rgb) + Background.allCases.map(\.rgb) + [SceneGeometry.board])
        let renderer = SceneRenderer()
        for _ in 0..<20 {
            let s = randomScene(&rng)
            let image = renderer.render(s)
            for y in 0..<32 { for x in 0..<32 { #expect(palette.contains(image[x, y])) } }
            #expect(image[0, 0] == s.background.rgb)
        }
    }

    @Test func shapeMasksAreDistinct() {
        let g = SceneGeometry()
        var masks: [[Bool]] = []
        for shape in WorldShape.allCases { for size in WorldSize.allCases { masks.append(g.mask(shape, size)) } }
        #expect(Set(masks).count == masks.count)
    }

    @Test(arguments: [32, 48, 64])
    func parserRecoversRenderedScenes(size: Int) {
        var rng = TestRNG(seed: UInt64(size))
        let renderer = SceneRenderer(imageSize: size), parser = SceneParser(imageSize: size)
        for _ in 0..<150 {
            let s = randomScene(&rng)
            #expect(parser.parse(renderer.render(s)) == s)
        }
    }

    @Test func parserIgnoresScatteredNoise() {
        var rng = TestRNG(seed: 3)
        let renderer = SceneRenderer(), parser = SceneParser()
        for _ in 0..<60 {
            let s = randomScene(&rng)
            var image = renderer.render(s)
            for _ in 0..<30 {  // ~3% of the pixels set to random colours
                image[rng.int(32), rng.int(32)] = RGB(UInt8(rng.int(256)), UInt8(rng.int(256)), UInt8(rng.int(256)))
            }
            #expect(parser.parse(image) == s)
        }
    }
}
