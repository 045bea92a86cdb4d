// CLIP preprocessing against PIL (fixture from tools/fixtures/make_clip_fixtures.py `preprocessing`).
// Measured tolerance: the resized and cropped uint8 pixels equal PIL's exactly (max difference 0), so
// pixel_values agree to float rounding (≤ 1e-5 absolute).
import Foundation
import ParaRLCLIP
import ParaRLCore
import ParaRLMedia
import ParaRLWorld
import Testing
import TestSupport

@Suite("CLIP preprocessing")
struct CLIPPreprocessingTests {
    @Test("bicubic resize, crop and normalisation match PIL", arguments: [("noise", 28), ("smooth", 28), ("blocky", 24)])
    func matchesPIL(name: String, size: Int) throws {
        let fixture = try SafetensorsFile.read(url: fixtureURL("clip_preprocessing.safetensors"))
        let image = try PNGCodec.read(fixtureURL("clip_pre_\(name).png"))
        let processor = CLIPImageProcessor(size: size)
        let cropped = processor.resizedAndCropped(image).pixels.map(Int32.init)
        let reference = try fixture.int32s("\(name).cropped")
        let maxDiff = zip(cropped, reference).map { abs($0 - $1) }.max() ?? 0
        print("CLIP preprocessing \(name): max |Δpixel| vs PIL = \(maxDiff)")
        #expect(cropped.count == reference.count)
        #expect(maxDiff == 0)
        let pixels = processor.pixelValues(image), refPixels = try fixture.floats("\(name).pixel_values")
        let maxAbs = zip(pixels, refPixels).map { abs($0 - $1) }.max() ?? 0
        #expect(maxAbs <= 1e-5)
    }

    @Test("an image already at the size is unchanged by the resize")
    func identity() {
        var image = RGBImage(width: 5, height: 5)
        for i in image.pixels.indices { image.pixels[i] = UInt8(i % 251) }
        #expect(PILBicubic.resize(image, width: 5, height: 5) == image)
    }
}
