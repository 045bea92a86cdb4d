// Deterministic rendering of world scenes to small RGB images with crisp palette colours (no anti-aliasing).
// Objects stand on a board of one fixed colour and the background (the sky) frames it, with the grid aligned
// to 4-pixel patches at 32×32, so the world has fewer distinct 4×4 patches (~460) than a 512-code VQ
// has codes (docs/design.md §3.9) and reconstructs exactly.
import ParaRLMedia

/// Where the grid cells and objects lie in an image of a given size.
///
/// The 3×3 grid (the board) sits in the middle of the image: cells are `size / 4` pixels wide, leaving a
/// background margin of `size / 8` on each side (32×32: 8-pixel cells at x, y = 4, 12, 20). A large
/// object fills its cell; a small one leaves a border of `max(1, cell / 8)` pixels.
public struct SceneGeometry: Sendable, Equatable {
    /// The board's colour: a light warm grey at least ~90 RGB units from every object colour.
    public static let board = RGB(180, 175, 165)
    public let imageSize: Int
    public let cell: Int
    public let margin: Int

    /// `imageSize` must be at least 16 (4-pixel cells).
    public init(imageSize: Int = 32) {
        precondition(imageSize >= 16, "world images must be at least 16×16, got \(imageSize)")
        self.imageSize = imageSize
        cell = imageSize / 4
        margin = (imageSize - 3 * cell) / 2
    }

    /// Side of an object of `size` in pixels.
    public func side(_ size: WorldSize) -> Int {
        size == .large ? cell : cell - 2 * max(1, cell / 8)
    }

    /// Top-left pixel of a cell.
    public func origin(_ p: GridPosition) -> (x: Int, y: Int) {
        (margin + p.column * cell, margin + p.row * cell)
    }

    /// The `cell × cell` mask (row-major) of an object of `shape` and `size` in its cell.
    public func mask(_ shape: WorldShape, _ size: WorldSize) -> [Bool] {
        let s = side(size), pad = (cell - s) / 2
        var m = [Bool](repeating: false, count: cell * cell)
        for y in 0..<s {
            for x in 0..<s {
                // Pixel centre in the object's box, mapped to [-1, 1]; v grows downwards.
                let u = (2 * (Double(x) + 0.5) / Double(s)) - 1, v = (2 * (Double(y) + 0.5) / Double(s)) - 1
                if Self.inside(shape, u, v) { m[(y + pad) * cell + x + pad] = true }
            }
        }
        return m
    }

    /// The shape predicates on the unit box.
    static func inside(_ shape: WorldShape, _ u: Double, _ v: Double) -> Bool {
        let r2 = u * u + v * v
        switch shape {
        case .circle: return r2 <= 1
        case .square: return true
        case .triangle: return abs(u) <= (v + 1) / 2  // apex up
        case .diamond: return abs(u) + abs(v) <= 1
        case .cross: return abs(u) <= 0.34 || abs(v) <= 0.34
        case .ring: return r2 <= 1 && r2 >= 0.3
        }
    }
}

/// Renders scenes; masks are computed once per renderer.
public struct SceneRenderer: Sendable {
    public let geometry: SceneGeometry
    /// Masks indexed by `shapeIndex * 2 + sizeIndex`.
    let masks: [[Bool]]

    public init(imageSize: Int = 32) {
        let g = SceneGeometry(imageSize: imageSize)
        geometry = g
        masks = WorldShape.allCases.flatMap { shape in WorldSize.allCases.map { g.mask(shape, $0) } }
    }

    func mask(_ shape: WorldShape, _ size: WorldSize) -> [Bool] {
        masks[shape.order * 2 + (size == .small ? 0 : 1)]
    }

    /// The scene as an image: the background colour in the margin, the board under the grid, each object's
    /// mask in its colour.
    public func render(_ scene: Scene) -> RGBImage {
        let g = geometry
        var image = RGBImage(width: g.imageSize, height: g.imageSize, fill: scene.background.rgb)
        image.fill(x: g.margin, y: g.margin, width: 3 * g.cell, height: 3 * g.cell, with: SceneGeometry.board)
        for o in scene.objects {
            let m = mask(o.shape, o.size), (ox, oy) = g.origin(o.position), c = o.color.rgb
            for y in 0..<g.cell {
                for x in 0..<g.cell where m[y * g.cell + x] { image[ox + x, oy + y] = c }
            }
        }
        return image
    }
}
