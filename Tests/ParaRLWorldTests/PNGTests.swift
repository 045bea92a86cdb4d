// PNG I/O through libpng: every 8-bit colour type decodes to the expected RGB, writing is deterministic,
// and corrupt, truncated or missing files give typed errors.
import Foundation
import Testing
import TestSupport
import ParaRLMedia
@testable import ParaRLWorld

@Suite struct PNGTests {
    struct Expected: Decodable {
        var width: Int
        var height: Int
        var rgb: [UInt8]
    }

    @Test(arguments: ["rgb.png", "rgba.png", "gray.png", "gray_alpha.png", "palette.png", "palette2.png"])
    func decodesEveryColourTypeToRGB(_ name: String) throws {
        let table = try JSONDecoder().decode([String: Expected].self, from: Data(contentsOf: fixtureURL("png_fixtures.json")))
        let expected = try #require(table[name])
        let image = try PNGCodec.read(fixtureURL(name))
        #expect(image.width == expected.width && image.height == expected.height)
        #expect(image.pixels == expected.rgb)
    }

    @Test func roundTripIsExactAndDeterministic() throws {
        var rng = TestRNG(seed: 7)
        let image = RGBImage(width: 9, height: 5, pixels: (0..<(9 * 5 * 3)).map { _ in UInt8(rng.int(256)) })
        let a = try PNGCodec.encode(image), b = try PNGCodec.encode(image)
        #expect(a == b)
        #expect(try PNGCodec.decode(a) == image)
        #expect(!a.contains(Data("tIME".utf8)))
    }

    @Test(arguments: ["truncated.png", "bad_crc.png"])
    func corruptFilesThrowInvalid(_ name: String) throws {
        let url = fixtureURL(name)
        do {
            _ = try PNGCodec.read(url)
            Issue.record("\(name) decoded without an error")
        } catch let PNGError.invalid(path, reason) {
            #expect(path == url.path)
            #expect(!reason.isEmpty)
        }
    }

    @Test func garbageEmptyAndMissingFilesThrow() throws {
        #expect(throws: PNGError.self) { try PNGCodec.decode(Data("not a png at all".utf8)) }
        #expect(throws: PNGError.invalid(path: "(memory)", reason: "the file is empty")) { try PNGCodec.decode(Data()) }
        let missing = URL(fileURLWithPath: "/nonexistent/folder/x.png")
        #expect(throws: PNGError.cannotRead(path: missing.path, reason: "no such file")) { try PNGCodec.read(missing) }
    }
}
