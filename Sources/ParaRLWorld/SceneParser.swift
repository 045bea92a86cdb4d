// Reads a scene back from pixels for the judge: nearest palette colour per pixel, the background by
// majority, then per grid cell the dominant object colour and the shape and size whose mask matches best.
import ParaRLMedia

/// Parses world images into scenes. The background is the background colour most margin pixels are nearest
/// to. A cell holds an object when at least `minObjectPixels` of its pixels are nearest to one object colour
/// (the most frequent is the object's colour); its shape and size are the template with the smallest Hamming
/// distance to the cell's mask (pixels nearer the object colour than the board). Robust to scattered noise
/// and to small colour shifts.
public struct SceneParser: Sendable {
    public let renderer: SceneRenderer
    public var geometry: SceneGeometry { renderer.geometry }
    /// Fewer object-coloured pixels than this in a cell mean the cell is empty (a quarter of the smallest
    /// small-object mask).
    public let minObjectPixels: Int

    public init(imageSize: Int = 32) {
        let r = SceneRenderer(imageSize: imageSize)
        renderer = r
        let smallest = WorldShape.allCases.map { s in r.mask(s, .small).filter { $0 }.count }.min() ?? 4
        minObjectPixels = max(2, smallest / 4)
    }

    /// Palette entries: the object colours, the backgrounds, then the board.
    static let palette: [RGB] = WorldColor.allCases.map(\.rgb) + Background.allCases.map(\.rgb) + [SceneGeometry.board]

    static func nearestPaletteIndex(_ c: RGB) -> Int {
        var best = 0, bestD = Int.max
        for (i, p) in palette.enumerated() {
            let d = c.distanceSquared(to: p)
            if d < bestD { best = i; bestD = d }
        }
        return best
    }

    /// The scene in `image`, which must be `geometry.imageSize` square.
    public func parse(_ image: RGBImage) -> Scene {
        let g = geometry
        precondition(image.width == g.imageSize && image.height == g.imageSize,
                     "parser for \(g.imageSize)×\(g.imageSize) images got \(image.width)×\(image.height)")
        let colours = WorldColor.allCases, backgrounds = Background.allCases
        let board = g.margin..<(g.margin + 3 * g.cell)
        var nearest = [Int](repeating: 0, count: g.imageSize * g.imageSize)
        var backgroundVotes = [Int](repeating: 0, count: backgrounds.count)
        for y in 0..<g.imageSize {
            for x in 0..<g.imageSize {
                let k = Self.nearestPaletteIndex(image[x, y])
                nearest[y * g.imageSize + x] = k
                let inMargin = !board.contains(x) || !board.contains(y)
                if inMargin, k >= colours.count, k < colours.count + backgrounds.count { backgroundVotes[k - colours.count] += 1 }
            }
        }
        var bgIndex = 0
        for (i, v) in backgroundVotes.enumerated() where v > backgroundVotes[bgIndex] { bgIndex = i }
        let background = backgrounds[bgIndex]

        var objects: [SceneObject] = []
        for p in GridPosition.all {
            let (ox, oy) = g.origin(p)
            var votes = [Int](repeating: 0, count: colours.count)
            for y in oy..<(oy + g.cell) {
                for x in ox..<(ox + g.cell) {
                    let k = nearest[y * g.imageSize + x]
                    if k < colours.count { votes[k] += 1 }
                }
            }
            var ci = 0
            for (i, v) in votes.enumerated() where v > votes[ci] { ci = i }
            guard votes[ci] >= minObjectPixels else { continue }
            let colour = colours[ci]
            // The cell's mask: pixels nearer the object colour than the board.
            var mask = [Bool](repeating: false, count: g.cell * g.cell)
            for y in 0..<g.cell {
                for x in 0..<g.cell {
                    let c = image[ox + x, oy + y]
                    mask[y * g.cell + x] = c.distanceSquared(to: colour.rgb) < c.distanceSquared(to: SceneGeometry.board)
                }
            }
            var best: (shape: WorldShape, size: WorldSize, distance: Int)?
            for shape in WorldShape.allCases {
                for size in WorldSize.allCases {
                    let t = renderer.mask(shape, size)
                    var d = 0
                    for i in 0..<t.count where t[i] != mask[i] { d += 1 }
                    if d < (best?.distance ?? Int.max) { best = (shape, size, d) }
                }
            }
            if let best {
                objects.append(SceneObject(color: colour, shape: best.shape, size: best.size, position: p))
            }
        }
        return Scene(background: background, objects: objects)
    }
}
