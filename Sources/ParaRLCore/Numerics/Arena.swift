// One allocation carved into named, shaped slices (parameters, gradients or activations of one family).
import Foundation

/// The layout of an arena: names, shapes and offsets, in insertion order.
public struct ArenaLayout: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
    }
    public private(set) var entries: [Entry] = []
    public private(set) var count = 0
    private var index: [String: Int] = [:]

    public init() {}
    public init(_ shapes: [(String, [Int])]) { for (n, s) in shapes { add(n, s) } }

    /// Appends a slice; offsets are rounded up to 16 floats so every slice starts 64-byte aligned.
    @discardableResult
    public mutating func add(_ name: String, _ shape: [Int]) -> Entry {
        precondition(index[name] == nil, "duplicate arena slice \(name)")
        let offset = (count + 15) / 16 * 16
        let e = Entry(name: name, shape: shape, offset: offset)
        index[name] = entries.count
        entries.append(e)
        count = offset + e.count
        return e
    }

    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }
}

/// A zero-initialised, 64-byte aligned Float buffer laid out by an `ArenaLayout`.
public final class Arena: @unchecked Sendable {
    public let layout: ArenaLayout
    public let base: UnsafeMutablePointer<Float>
    public var count: Int { layout.count }

    public init(_ layout: ArenaLayout) {
        self.layout = layout
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, layout.count) * 4, alignment: 64)
        base = raw.bindMemory(to: Float.self, capacity: max(1, layout.count))
        base.initialize(repeating: 0, count: max(1, layout.count))
    }
    deinit { base.deallocate() }

    /// The slice called `name`; a programming error if absent.
    public subscript(_ name: String) -> UnsafeMutablePointer<Float> {
        guard let e = layout.entry(name) else { preconditionFailure("no arena slice \(name)") }
        return base + e.offset
    }
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: base, count: layout.count) }
    public func zero() { base.update(repeating: 0, count: layout.count) }
    public func copy(from other: Arena) {
        precondition(other.layout == layout)
        base.update(from: other.base, count: layout.count)
    }
}
