// The project's only random generator (house rule 7): a seeded, splittable Philox4x32-10 stream whose whole
// state is two integers, so every stream resumes bit-exactly. Draw algorithms are ours, not the stdlib's,
// so sequences do not change with the Swift toolchain.
import Foundation

/// A deterministic random stream. `RandomStream(seed:)` keys Philox with the seed; `split(_:)` derives an
/// independent child from the stream's key and a label (e.g. `root.split(rank).split("sampler")`).
/// The n-th 64-bit word of a stream is half of Philox(key, counter n/2), so a stream is just (key, position).
public struct RandomStream: RandomNumberGenerator, Sendable {
    /// The complete state: restoring it continues the sequence exactly.
    public struct State: Codable, Equatable, Sendable {
        /// The Philox key (the seed for a root stream, a derived value for a split).
        public var key: UInt64
        /// Number of 64-bit words drawn so far.
        public var position: UInt64
        public init(key: UInt64, position: UInt64) {
            self.key = key
            self.position = position
        }
    }

    public private(set) var key: UInt64
    private var position: UInt64 = 0
    /// The second word of block `position / 2` while `position` is odd; derived from (key, position).
    private var spare: UInt64 = 0

    public init(seed: UInt64) { key = seed }

    public init(state: State) {
        key = state.key
        self.state = state
    }

    public var state: State {
        get { State(key: key, position: position) }
        set {
            key = newValue.key
            position = newValue.position
            spare = position & 1 == 1 ? Self.words(key: key, block: position >> 1).1 : 0
        }
    }

    // MARK: Splitting

    /// A child stream for `label`. Depends only on this stream's key and the label, never on its position:
    /// splitting does not advance the parent, and the same label always gives the same child.
    public func split(_ label: String) -> RandomStream { split(hash: Self.fnv1a(label), domain: 1) }
    /// A child stream for an integer label such as a rank or an index; `split(3)` equals `split(UInt64(3))`.
    public func split(_ label: UInt64) -> RandomStream { split(hash: label, domain: 2) }
    public func split(_ label: Int) -> RandomStream { split(UInt64(bitPattern: Int64(label))) }

    /// Child key = Philox(parent key, counter (label, domain, tag)); the tag keeps these counters apart
    /// from the ones the parent draws from (whose upper words are zero).
    private func split(hash: UInt64, domain: UInt32) -> RandomStream {
        let (k0, k1) = Self.halves(key)
        let (x0, x1, _, _) = Philox.block(UInt32(truncatingIfNeeded: hash), UInt32(truncatingIfNeeded: hash >> 32),
                                          domain, 0x5EED_5EED, key: k0, k1)
        return RandomStream(seed: UInt64(x1) << 32 | UInt64(x0))
    }

    /// FNV-1a over the UTF-8 bytes: a fixed hash (Swift's `Hasher` is seeded per process).
    private static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    @inline(__always)
    private static func halves(_ v: UInt64) -> (UInt32, UInt32) {
        (UInt32(truncatingIfNeeded: v), UInt32(truncatingIfNeeded: v >> 32))
    }

    @inline(__always)
    private static func words(key: UInt64, block: UInt64) -> (UInt64, UInt64) {
        let (k0, k1) = halves(key), (c0, c1) = halves(block)
        let (x0, x1, x2, x3) = Philox.block(c0, c1, 0, 0, key: k0, k1)
        return (UInt64(x1) << 32 | UInt64(x0), UInt64(x3) << 32 | UInt64(x2))
    }

    // MARK: Raw words

    /// The next 64 uniformly random bits.
    @inline(__always)
    public mutating func nextUInt64() -> UInt64 {
        defer { position &+= 1 }
        if position & 1 == 1 { return spare }
        let (first, second) = Self.words(key: key, block: position >> 1)
        spare = second
        return first
    }

    /// `RandomNumberGenerator` conformance; the same words as `nextUInt64()`.
    public mutating func next() -> UInt64 { nextUInt64() }

    /// Uniform integer in `0..<n` without modulo bias (Lemire's multiply-and-reject).
    public mutating func int(below n: Int) -> Int {
        precondition(n > 0, "int(below:) needs n > 0, got \(n)")
        let s = UInt64(n)
        var m = nextUInt64().multipliedFullWidth(by: s)
        if m.low < s {
            let threshold = (0 &- s) % s
            while m.low < threshold { m = nextUInt64().multipliedFullWidth(by: s) }
        }
        return Int(m.high)
    }

    // MARK: Continuous draws

    /// Uniform in [0, 1) on the 2⁻²⁴ grid (one word).
    public mutating func uniform() -> Float { Float(nextUInt64() >> 40) * 0x1p-24 }

    /// Uniform in [0, 1) on the 2⁻⁵³ grid (one word).
    public mutating func uniformDouble() -> Double { Double(nextUInt64() >> 11) * 0x1p-53 }

    /// Uniform in [low, high).
    public mutating func uniform(in range: Range<Float>) -> Float {
        precondition(range.lowerBound.isFinite && range.upperBound.isFinite, "uniform(in:) needs a finite range")
        let lo = Double(range.lowerBound), width = Double(range.upperBound) - lo
        var r: Float
        repeat { r = Float(lo + width * uniformDouble()) } while r >= range.upperBound  // rounding up to high
        return r
    }

    /// Uniform in [low, high], both ends reachable.
    public mutating func uniform(in range: ClosedRange<Float>) -> Float {
        precondition(range.lowerBound.isFinite && range.upperBound.isFinite, "uniform(in:) needs a finite range")
        let u = Double(nextUInt64() >> 11) / Double((1 as UInt64) << 53 - 1)
        let lo = Double(range.lowerBound), width = Double(range.upperBound) - lo
        return min(max(Float(lo + width * u), range.lowerBound), range.upperBound)
    }

    /// Uniform in (low, high]: the low end excluded, as for a diffusion time t ~ U(ε, 1] or a mask ratio
    /// p ~ U(0, 1].
    public mutating func uniform(above low: Float, through high: Float) -> Float {
        precondition(low.isFinite && high.isFinite && low < high, "uniform(above:through:) needs finite low < high")
        let width = Double(high) - Double(low)
        var r: Float
        repeat { r = Float(Double(high) - width * uniformDouble()) } while r <= low  // rounding down to low
        return r
    }

    /// Standard normal by Box–Muller (cosine branch only, two words), so the stream keeps no cached value.
    public mutating func normal() -> Float {
        let u1 = 1 - uniformDouble()  // (0, 1]
        let u2 = uniformDouble()
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }

    /// Standard Gumbel −log(−log u), u uniform on the open interval (0, 1) (2⁻⁵³ … 1 − 2⁻⁵³), so the
    /// result is always finite (within about [−3.6, 36.7]).
    public mutating func gumbel() -> Float { Self.gumbel(word: nextUInt64()) }

    static func gumbel(word: UInt64) -> Float {
        let u = (Double(word >> 12) + 0.5) * 0x1p-52
        return Float(-Foundation.log(-Foundation.log(u)))
    }

    // MARK: Discrete draws

    /// An index drawn with probability proportional to `probabilities` (non-negative, finite, positive sum;
    /// need not be normalised). Inverse CDF in Double with one word; zero-weight entries are never drawn.
    public mutating func categorical<C: Collection>(probabilities: C) -> Int where C.Element == Float {
        var total = 0.0
        for p in probabilities {
            precondition(p >= 0 && p.isFinite, "categorical probabilities must be finite and non-negative, got \(p)")
            total += Double(p)
        }
        precondition(total > 0, "categorical probabilities sum to zero")
        return inverseCDF(total: total, probabilities.lazy.map { Double($0) })
    }

    /// `categorical(logits:)` for an array, specialised here (the sampler's per-position draw; the generic version
    /// goes through witness tables across the module boundary). The same draw as the generic one.
    public mutating func categorical(logits: [Float]) -> Int { drawCategorical(logits: logits) }

    /// An index drawn from softmax(`logits`). −∞ logits are allowed (probability 0); NaN and +∞ are not.
    public mutating func categorical<C: Collection>(logits: C) -> Int where C.Element == Float { drawCategorical(logits: logits) }

    private mutating func drawCategorical<C: Collection>(logits: C) -> Int where C.Element == Float {
        var top = -Float.infinity
        for l in logits {
            precondition(!l.isNaN && l != .infinity, "categorical logits must not be NaN or +inf, got \(l)")
            top = max(top, l)
        }
        precondition(top > -.infinity, "categorical needs at least one finite logit")
        let weights = logits.lazy.map { Foundation.exp(Double($0) - Double(top)) }
        return inverseCDF(total: weights.reduce(0, +), weights)
    }

    private mutating func inverseCDF<C: Collection>(total: Double, _ weights: C) -> Int where C.Element == Double {
        let target = uniformDouble() * total
        var cumulative = 0.0, lastPositive = 0
        for (i, w) in weights.enumerated() {
            cumulative += w
            if w > 0 {
                if cumulative > target { return i }
                lastPositive = i
            }
        }
        return lastPositive  // target fell past the rounded total
    }

    /// Fisher–Yates shuffle in place.
    public mutating func shuffle<C: MutableCollection & RandomAccessCollection>(_ items: inout C) {
        let n = items.count
        guard n > 1 else { return }
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = int(below: i + 1)
            if j != i {
                items.swapAt(items.index(items.startIndex, offsetBy: i), items.index(items.startIndex, offsetBy: j))
            }
        }
    }

    /// A uniformly random permutation of 0..<n.
    public mutating func permutation(_ n: Int) -> [Int] {
        precondition(n >= 0, "permutation needs n >= 0, got \(n)")
        var p = Array(0..<n)
        shuffle(&p)
        return p
    }

    /// A uniformly random k-subset of 0..<n without replacement, in ascending order (Floyd's algorithm,
    /// k words or a few more). Used for the sampled steps S ⊂ {1..T} (add 1 for 1-based steps).
    public mutating func sample(_ k: Int, of n: Int) -> [Int] {
        precondition(k >= 0 && k <= n, "sample needs 0 <= k <= n, got k = \(k), n = \(n)")
        var chosen = Set<Int>(minimumCapacity: k)
        for j in (n - k)..<n {
            let t = int(below: j + 1)
            chosen.insert(chosen.contains(t) ? j : t)
        }
        return chosen.sorted()
    }
}
