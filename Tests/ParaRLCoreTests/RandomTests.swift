// RandomStream: Philox known answers, determinism, splitting, bit-exact resume, and statistical checks of
// every draw (bounds are about 5 standard errors, so a correct generator fails with negligible probability
// and, the seeds being fixed, never flakes).
import Foundation
@testable import ParaRLCore
import Testing

private func meanAndVariance(_ xs: [Double]) -> (Double, Double) {
    let mean = xs.reduce(0, +) / Double(xs.count)
    let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count - 1)
    return (mean, variance)
}

/// Pearson's χ² of observed counts against expected probabilities (classes with p = 0 must have no counts).
private func chiSquare(_ counts: [Int], _ probabilities: [Double]) -> Double {
    let n = Double(counts.reduce(0, +))
    var chi = 0.0
    for (c, p) in zip(counts, probabilities) where p > 0 {
        let e = n * p
        chi += (Double(c) - e) * (Double(c) - e) / e
    }
    return chi
}

@Suite struct RandomTests {
    @Test func philoxKnownAnswers() {
        // Random123 tests/kat_vectors, the three "philox4x32 10" lines: counter[4] key[2] → result[4].
        let vectors: [([UInt32], [UInt32], [UInt32])] = [
            ([0, 0, 0, 0], [0, 0], [0x6627_E8D5, 0xE169_C58D, 0xBC57_AC4C, 0x9B00_DBD8]),
            ([0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], [0xFFFF_FFFF, 0xFFFF_FFFF],
             [0x408F_276D, 0x41C8_3B0E, 0xA20B_C7C6, 0x6D54_51FD]),
            ([0x243F_6A88, 0x85A3_08D3, 0x1319_8A2E, 0x0370_7344], [0xA409_3822, 0x299F_31D0],
             [0xD16C_FE09, 0x94FD_CCEB, 0x5001_E420, 0x2412_6EA1]),
        ]
        for (c, k, expected) in vectors {
            let r = Philox.block(c[0], c[1], c[2], c[3], key: k[0], k[1])
            #expect([r.0, r.1, r.2, r.3] == expected)
        }
        // The stream's first words are the first block of the seed's key.
        var s = RandomStream(seed: 0)
        #expect(s.nextUInt64() == 0xE169_C58D_6627_E8D5)
        #expect(s.nextUInt64() == 0x9B00_DBD8_BC57_AC4C)
    }

    @Test func sameSeedSameSequenceDifferentSeedsDiffer() {
        var a = RandomStream(seed: 42), b = RandomStream(seed: 42), c = RandomStream(seed: 43)
        let sa = (0..<100).map { _ in a.nextUInt64() }
        #expect(sa == (0..<100).map { _ in b.nextUInt64() })
        let sc = (0..<100).map { _ in c.nextUInt64() }
        #expect(zip(sa, sc).allSatisfy { $0 != $1 })
        #expect(Set(sa).count == 100)
    }

    @Test func splitsAreDeterministicAndDistinct() {
        var root = RandomStream(seed: 2024)
        let before = root.state
        let children = [root.split("sampler"), root.split("data"), root.split(0), root.split(1), root.split("0"),
                        root.split(0).split("sampler"), root.split(1).split("sampler"), root.split("sampler").split(0)]
        #expect(root.state == before, "split must not advance the parent")
        var firsts: [[UInt64]] = []
        for var child in children { firsts.append((0..<8).map { _ in child.nextUInt64() }) }
        var parentWords = root
        firsts.append((0..<8).map { _ in parentWords.nextUInt64() })
        #expect(Set(firsts).count == firsts.count, "every label (and the parent) must give its own sequence")
        #expect(Set(children.map(\.key)).count == children.count)

        // Same (key, label) ⇒ same child, whatever the parent's position; Int and UInt64 labels agree.
        _ = root.nextUInt64()
        #expect(root.split("sampler").key == children[0].key)
        #expect(root.split(UInt64(1)).key == children[3].key)
        #expect(RandomStream(seed: 2024).split(0).split("sampler").state == children[5].state)
        #expect(RandomStream(seed: 2025).split("sampler").key != children[0].key)
    }

    @Test func stateRoundTripContinuesIdentically() throws {
        var s = RandomStream(seed: 0xFEDC_BA98_7654_3210).split("data")
        for skip in [0, 1, 2, 7] {  // odd skips resume in the middle of a Philox block
            var a = s
            for _ in 0..<skip { _ = a.nextUInt64() }
            let json = try JSONEncoder().encode(a.state)
            var b = RandomStream(state: try JSONDecoder().decode(RandomStream.State.self, from: json))
            #expect(b.state == a.state)
            func draws(_ r: inout RandomStream) -> [Double] {
                [Double(r.uniform()), r.uniformDouble(), Double(r.normal()), Double(r.gumbel()), Double(r.int(below: 7)),
                 Double(r.categorical(probabilities: [0.2, 0.8] as [Float])), Double(r.uniform(above: 0, through: 1))]
                    + r.permutation(5).map(Double.init) + r.sample(3, of: 9).map(Double.init)
            }
            #expect(draws(&a) == draws(&b))
            #expect(a.state == b.state)
        }
        // Setting the state of an existing stream works too.
        let saved = s.state
        let next = (0..<5).map { _ in s.nextUInt64() }
        s.state = saved
        #expect((0..<5).map { _ in s.nextUInt64() } == next)
    }

    @Test func uniformMoments() {
        var s = RandomStream(seed: 1)
        let n = 100_000
        let f = (0..<n).map { _ in s.uniform() }
        #expect(f.allSatisfy { $0 >= 0 && $0 < 1 })
        let (mf, vf) = meanAndVariance(f.map(Double.init))
        #expect(abs(mf - 0.5) < 0.005 && abs(vf - 1.0 / 12) < 0.002, "Float uniform mean \(mf) var \(vf)")
        let d = (0..<n).map { _ in s.uniformDouble() }
        #expect(d.allSatisfy { $0 >= 0 && $0 < 1 })
        let (md, vd) = meanAndVariance(d)
        #expect(abs(md - 0.5) < 0.005 && abs(vd - 1.0 / 12) < 0.002, "Double uniform mean \(md) var \(vd)")
    }

    @Test func uniformRanges() {
        var s = RandomStream(seed: 2)
        let half = (0..<20_000).map { _ in s.uniform(in: Float(2)..<Float(3)) }
        #expect(half.allSatisfy { $0 >= 2 && $0 < 3 })
        #expect(abs(meanAndVariance(half.map(Double.init)).0 - 2.5) < 0.015)
        let closed = (0..<20_000).map { _ in s.uniform(in: Float(-1)...Float(1)) }
        #expect(closed.allSatisfy { $0 >= -1 && $0 <= 1 })
        let open = (0..<100_000).map { _ in s.uniform(above: 1e-3, through: 1) }
        #expect(open.allSatisfy { $0 > 1e-3 && $0 <= 1 })
        #expect(abs(meanAndVariance(open.map(Double.init)).0 - 0.5005) < 0.005)
        // A range one ulp wide: the excluded end is never returned.
        let tiny = Float(1).nextUp
        #expect((0..<1000).allSatisfy { _ in s.uniform(above: 1, through: tiny) == tiny })
        #expect((0..<1000).allSatisfy { _ in s.uniform(in: Float(1)..<tiny) == 1 })
    }

    @Test func normalMoments() {
        var s = RandomStream(seed: 3)
        let x = (0..<100_000).map { _ in Double(s.normal()) }
        let (m, v) = meanAndVariance(x)
        #expect(abs(m) < 0.02 && abs(v - 1) < 0.03, "normal mean \(m) var \(v)")
        let within1 = Double(x.filter { abs($0) < 1 }.count) / Double(x.count)
        #expect(abs(within1 - 0.682_689) < 0.0075, "P(|z| < 1) = \(within1)")
    }

    @Test func gumbelMomentsAndFiniteOnAMillionDraws() {
        var s = RandomStream(seed: 4)
        let n = 1_000_000
        var sum = 0.0, sumSq = 0.0, allFinite = true
        for _ in 0..<n {
            let g = s.gumbel()
            allFinite = allFinite && g.isFinite
            sum += Double(g)
            sumSq += Double(g) * Double(g)
        }
        #expect(allFinite)
        let mean = sum / Double(n), variance = sumSq / Double(n) - mean * mean
        #expect(abs(mean - 0.577_215_66) < 0.007, "Gumbel mean \(mean), Euler's γ = 0.5772")
        #expect(abs(variance - Double.pi * Double.pi / 6) < 0.02, "Gumbel variance \(variance)")
        // The extreme words map to finite values.
        #expect(RandomStream.gumbel(word: 0).isFinite && RandomStream.gumbel(word: .max).isFinite)
    }

    @Test func nothingNonFiniteOnAMillionDraws() {
        var s = RandomStream(seed: 5)
        var ok = true
        for _ in 0..<1_000_000 { ok = ok && s.normal().isFinite && s.uniform().isFinite }
        #expect(ok)
    }

    @Test func categoricalFrequenciesMatchProbabilities() {
        var s = RandomStream(seed: 6)
        let probabilities: [Float] = [0.1, 0.2, 0, 0.3, 0.4]
        let expected = probabilities.map(Double.init)
        let logits = probabilities.map { $0 > 0 ? Foundation.log($0) + 3 : -Float.infinity }
        let unnormalised = probabilities.map { $0 * 7 }
        let draws: [(inout RandomStream) -> Int] = [{ $0.categorical(probabilities: probabilities) },
                                                    { $0.categorical(logits: logits) },
                                                    { $0.categorical(probabilities: unnormalised) }]
        for draw in draws {
            var counts = [Int](repeating: 0, count: probabilities.count)
            for _ in 0..<100_000 { counts[draw(&s)] += 1 }
            #expect(counts[2] == 0, "a zero-probability class was drawn")
            let chi = chiSquare(counts, expected)
            #expect(chi < 30, "χ² = \(chi) with 3 degrees of freedom (p ≈ 1e-6 bound), counts \(counts)")
        }
        var one = RandomStream(seed: 7)
        #expect((0..<100).allSatisfy { _ in one.categorical(logits: [-Float.infinity, 0, -.infinity] as [Float]) == 1 })
    }

    @Test func intBelowIsUniform() {
        var s = RandomStream(seed: 8)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[s.int(below: 7)] += 1 }
        #expect(chiSquare(counts, [Double](repeating: 1.0 / 7, count: 7)) < 40)  // 6 d.o.f., p ≈ 1e-6
        #expect((0..<100).allSatisfy { _ in s.int(below: 1) == 0 })
        #expect((0..<1000).allSatisfy { _ in (0..<Int.max).contains(s.int(below: .max)) })
        // RandomNumberGenerator conformance: stdlib draws use the same words.
        var a = RandomStream(seed: 9), b = RandomStream(seed: 9)
        #expect(a.next() == b.nextUInt64())
        #expect((0..<100).allSatisfy { _ in (3..<10).contains(Int.random(in: 3..<10, using: &a)) })
    }

    @Test func permutationsAndShuffles() {
        var s = RandomStream(seed: 10)
        for n in [0, 1, 2, 10, 1000] { #expect(s.permutation(n).sorted() == Array(0..<n)) }
        // Every element lands in every position with probability 1/n (catches Sattolo-style off-by-one).
        var firstCounts = [Int](repeating: 0, count: 5), identity = 0
        for _ in 0..<50_000 {
            let p = s.permutation(5)
            firstCounts[p[0]] += 1
            if p == [0, 1, 2, 3, 4] { identity += 1 }
        }
        #expect(chiSquare(firstCounts, [Double](repeating: 0.2, count: 5)) < 35)
        #expect(abs(Double(identity) / 50_000 - 1.0 / 120) < 0.003, "identity permutation frequency")
        var words = ["a", "b", "c", "d", "e", "f"]
        s.shuffle(&words)
        #expect(words.sorted() == ["a", "b", "c", "d", "e", "f"])
    }

    @Test func sampleWithoutReplacement() {
        var s = RandomStream(seed: 11)
        #expect(s.sample(0, of: 5) == [])
        #expect(s.sample(5, of: 5) == [0, 1, 2, 3, 4])
        let n = 10, k = 3, trials = 50_000
        var inclusion = [Int](repeating: 0, count: n), wellFormed = true
        for _ in 0..<trials {
            let subset = s.sample(k, of: n)
            wellFormed = wellFormed && subset.count == k && Set(subset).count == k && subset == subset.sorted()
                && subset.allSatisfy { (0..<n).contains($0) }
            for i in subset { inclusion[i] += 1 }
        }
        #expect(wellFormed, "every sample must be k distinct, ascending elements of 0..<n")
        for (i, c) in inclusion.enumerated() {
            let f = Double(c) / Double(trials)
            #expect(abs(f - Double(k) / Double(n)) < 0.011, "element \(i) included with frequency \(f), expected 0.3")
        }
    }
}
