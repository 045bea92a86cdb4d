// Shared test helpers: a seeded test RNG, random buffers, error measures, finite differences, fixture paths.
import Foundation
import ParaRLCore

/// SplitMix64: a tiny seeded generator for test inputs (independent of the library's RNG under test).
public struct TestRNG {
    public var state: UInt64
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    /// Uniform in [-scale, scale).
    public mutating func symmetric(_ scale: Float = 1) -> Float { (uniform() * 2 - 1) * scale }
    public mutating func int(_ upper: Int) -> Int { Int(next() % UInt64(upper)) }
    public mutating func array(_ count: Int, scale: Float = 1) -> [Float] { (0..<count).map { _ in symmetric(scale) } }
}

/// max_i |a_i − b_i| / max(max_i |b_i|, floor): the relative error of a whole tensor against a reference.
public func relativeError(_ a: [Float], _ b: [Float], floor: Float = 1e-6) -> Float {
    precondition(a.count == b.count, "length mismatch \(a.count) vs \(b.count)")
    var num: Float = 0, den: Float = floor
    for i in a.indices {
        num = max(num, abs(a[i] - b[i]))
        den = max(den, abs(b[i]))
    }
    return num / den
}

/// Central finite differences of `loss` with respect to every element of `x`, in Double.
/// `loss` must be a pure function of its argument.
public func numericalGradient(_ x: [Float], eps: Float = 1e-2, _ loss: ([Float]) -> Double) -> [Float] {
    var g = [Float](repeating: 0, count: x.count)
    var xp = x
    for i in x.indices {
        let orig = xp[i]
        xp[i] = orig + eps
        let lp = loss(xp)
        xp[i] = orig - eps
        let lm = loss(xp)
        xp[i] = orig
        g[i] = Float((lp - lm) / (2 * Double(eps)))
    }
    return g
}

/// A weighted sum Σ w_i y_i used as a scalar loss for gradient checks: dL/dy = w.
public func weightedSum(_ y: [Float], _ w: [Float]) -> Double {
    var s = 0.0
    for i in y.indices { s += Double(y[i]) * Double(w[i]) }
    return s
}

/// Path of a committed fixture file under Tests/<target>/Fixtures, found from the calling test file.
public func fixtureURL(_ name: String, file: String = #filePath) -> URL {
    URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
}
