// AdamW, clip_grad_norm_ and the cosine schedule against torch / transformers reference values
// (fixtures from tools/fixtures/make_adamw_fixture.py), plus state round-trips and the naive AdamW reference.
import Foundation
import ParaRLCore
import Testing
import TestSupport

private struct AdamWFixture: Decodable {
    struct Tensor: Decodable {
        let name: String
        let shape: [Int]
        let offset: Int
        let weight_decay: Double
    }
    struct Defaults: Decodable {
        let betas: [Double]
        let eps: Double
        let weight_decay: Double
    }
    let lr: Double
    let betas: [Double]
    let eps: Double
    let tensors: [Tensor]
    let params0: [Double]
    let grads: [[Double]]
    let params_after: [[Double]]
    let exp_avg: [Double]
    let exp_avg_sq: [Double]
    let step: Int
    let torch_defaults: Defaults
}

private struct ClipFixture: Decodable {
    struct Case: Decodable {
        let max_norm: Double
        let grads: [Double]
        let total_norm: Double
        let clipped: [Double]
    }
    let cases: [Case]
}

private struct ScheduleFixture: Decodable {
    struct Case: Decodable {
        let base_lr: Double
        let num_warmup_steps: Int
        let num_training_steps: Int
        let min_lr_rate: Double
        let steps: [Int]
        let lrs: [Double]
    }
    let reference: String
    let cases: [Case]
}

private func load<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(contentsOf: fixtureURL(name)))
}

private func floats(_ d: [Double]) -> [Float] { d.map { Float($0) } }

/// Elements whose bits differ. (Compare big arrays this way: a failed `#expect(a == b)` diffs them in O(n²).)
private func mismatches(_ a: [Float], _ b: [Float]) -> Int {
    a.count != b.count ? max(a.count, b.count) : zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
}

/// Per-element AdamW written as plainly as torch's single-tensor loop: the reference for the chunked kernel.
private func naiveAdamW(_ p: inout [Float], _ g: [Float], _ m: inout [Float], _ v: inout [Float], step: Int, lr: Double,
                        beta1: Double, beta2: Double, eps: Double, weightDecay: (Int) -> Double) {
    let bc1 = 1 - pow(beta1, Double(step)), bc2 = 1 - pow(beta2, Double(step))
    for i in p.indices {
        let wd = weightDecay(i)
        if wd != 0 { p[i] = p[i] * Float(1 - lr * wd) }
        m[i] = m[i].addingProduct(Float(1 - beta1), g[i] - m[i])
        v[i] = v[i] * Float(beta2) + Float(1 - beta2) * g[i] * g[i]
        let denom = v[i].squareRoot() / Float(pow(bc2, 0.5)) + Float(eps)
        p[i] = p[i] + Float(-(lr / bc1)) * m[i] / denom
    }
}

@Suite struct OptimTests {
    private func fixtureOptimizer(_ f: AdamWFixture) throws -> AdamW {
        // Explicit groups for every tensor: 0.1 for the matrices, 0 for the norm weight.
        try AdamW(parameterCount: f.params0.count, beta1: f.betas[0], beta2: f.betas[1], eps: f.eps, weightDecay: 0.5,
                  groups: f.tensors.map { ParameterGroup($0.offset..<($0.offset + $0.shape.reduce(1, *)), weightDecay: $0.weight_decay) })
    }

    @Test func adamWMatchesTorchOverFiveSteps() throws {
        let f = try load(AdamWFixture.self, "adamw_steps.json")
        #expect(f.step == 5 && f.grads.count == 5)
        let opt = try fixtureOptimizer(f)
        var params = floats(f.params0)
        for (k, g) in f.grads.enumerated() {
            var grads = floats(g)
            params.withUnsafeMutableBufferPointer { p in
                grads.withUnsafeMutableBufferPointer { opt.step(parameters: p, gradients: $0, lr: f.lr) }
            }
            let err = relativeError(params, floats(f.params_after[k]))
            #expect(err <= 1e-6, "params after step \(k + 1): relative error \(err)")
            #expect(mismatches(grads, floats(g)) == 0, "AdamW must not modify gradients")
        }
        #expect(opt.step == f.step)
        let s = opt.state
        #expect(relativeError(s.expAvg, floats(f.exp_avg)) <= 1e-6)
        #expect(relativeError(s.expAvgSq, floats(f.exp_avg_sq)) <= 1e-6)
    }

    @Test func adamWDefaultGroupCoversUngroupedElements() throws {
        // Same fixture with only the wd-0 group given; everything else takes the default 0.1.
        let f = try load(AdamWFixture.self, "adamw_steps.json")
        let norm = try #require(f.tensors.first { $0.weight_decay == 0 })
        let opt = try AdamW(parameterCount: f.params0.count, beta1: f.betas[0], beta2: f.betas[1], eps: f.eps,
                            weightDecay: 0.1, groups: [ParameterGroup(norm.offset..<(norm.offset + norm.shape.reduce(1, *)), weightDecay: 0)])
        #expect(opt.segments.count == 3)
        var params = floats(f.params0)
        for g in f.grads {
            var grads = floats(g)
            params.withUnsafeMutableBufferPointer { p in
                grads.withUnsafeMutableBufferPointer { opt.step(parameters: p, gradients: $0, lr: f.lr) }
            }
        }
        #expect(relativeError(params, floats(f.params_after[4])) <= 1e-6)
    }

    @Test func adamWDefaultsAreTorchDefaults() throws {
        let f = try load(AdamWFixture.self, "adamw_steps.json")
        let opt = try AdamW(parameterCount: 4)
        #expect(opt.beta1 == f.torch_defaults.betas[0] && opt.beta2 == f.torch_defaults.betas[1])
        #expect(opt.eps == f.torch_defaults.eps)
        #expect(opt.segments == [ParameterGroup(0..<4, weightDecay: f.torch_defaults.weight_decay)])
    }

    @Test func adamWKernelMatchesNaiveReferenceOnLargeBuffer() throws {
        // Large enough for several parallel chunks; groups cut across chunk boundaries. Must be bit-identical.
        let n = 100_003
        var rng = TestRNG(seed: 7)
        let groups = [ParameterGroup(10..<20_000, weightDecay: 0), ParameterGroup(50_000..<50_001, weightDecay: 0.3)]
        let opt = try AdamW(parameterCount: n, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, groups: groups)
        var p = rng.array(n), ref = p
        var m = [Float](repeating: 0, count: n), v = m
        let wd: (Int) -> Double = { i in groups.first { $0.range.contains(i) }?.weightDecay ?? 0.1 }
        for step in 1...3 {
            var g = rng.array(n, scale: 0.01)
            p.withUnsafeMutableBufferPointer { pp in g.withUnsafeMutableBufferPointer { opt.step(parameters: pp, gradients: $0, lr: 3e-4) } }
            naiveAdamW(&ref, g, &m, &v, step: step, lr: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: wd)
        }
        #expect(mismatches(p, ref) == 0)
        let s = opt.state
        #expect(s.step == 3 && mismatches(s.expAvg, m) == 0 && mismatches(s.expAvgSq, v) == 0)
    }

    @Test func adamWStateRoundTripResumesBitExactly() throws {
        let n = 1000
        var rng = TestRNG(seed: 11)
        let grads = (0..<5).map { _ in rng.array(n, scale: 0.1) }
        let start = rng.array(n)
        func run(_ opt: AdamW, _ p: inout [Float], _ steps: Range<Int>) {
            for k in steps {
                var g = grads[k]
                p.withUnsafeMutableBufferPointer { pp in g.withUnsafeMutableBufferPointer { opt.step(parameters: pp, gradients: $0, lr: 1e-3) } }
            }
        }
        let straight = try AdamW(parameterCount: n)
        var pStraight = start
        run(straight, &pStraight, 0..<5)

        let first = try AdamW(parameterCount: n)
        var p = start
        run(first, &p, 0..<2)
        // Through raw tensors (checkpoint path) and through JSON (Codable path).
        let viaTensors = try AdamW(parameterCount: n)
        try viaTensors.restoreState(tensors: first.stateTensors())
        let json = try JSONEncoder().encode(first.state)
        let viaJSON = try AdamW(parameterCount: n)
        try viaJSON.restore(JSONDecoder().decode(AdamWState.self, from: json))
        for opt in [viaTensors, viaJSON] {
            var q = p
            run(opt, &q, 2..<5)
            #expect(mismatches(q, pStraight) == 0)
            let (a, b) = (opt.state, straight.state)
            #expect(a.step == b.step && mismatches(a.expAvg, b.expAvg) == 0 && mismatches(a.expAvgSq, b.expAvgSq) == 0)
        }
        #expect(first.stateTensors().map(\.name) == ["exp_avg", "exp_avg_sq", "step"])
    }

    @Test func adamWRestoreRejectsBadState() throws {
        let opt = try AdamW(parameterCount: 8)
        let good = opt.stateTensors()
        func replacing(_ name: String, with values: [Float]) -> [(name: String, values: [Float])] {
            good.map { $0.name == name ? (name, values) : $0 }
        }
        #expect(throws: OptimizerError.stateSizeMismatch(name: "exp_avg", expected: 8, got: 7)) {
            try opt.restoreState(tensors: replacing("exp_avg", with: [Float](repeating: 0, count: 7)))
        }
        #expect(throws: OptimizerError.stateSizeMismatch(name: "exp_avg_sq", expected: 8, got: 9)) {
            try opt.restore(AdamWState(step: 1, expAvg: [Float](repeating: 0, count: 8), expAvgSq: [Float](repeating: 0, count: 9)))
        }
        #expect(throws: OptimizerError.missingStateTensor("step")) { try opt.restoreState(tensors: Array(good.prefix(2))) }
        #expect(throws: OptimizerError.unexpectedStateTensor("max_exp_avg_sq")) {
            try opt.restoreState(tensors: good + [("max_exp_avg_sq", [Float](repeating: 0, count: 8))])
        }
        #expect(throws: OptimizerError.duplicateStateTensor("step")) { try opt.restoreState(tensors: good + [("step", [1])]) }
        #expect(throws: OptimizerError.invalidStep(2.5)) { try opt.restoreState(tensors: replacing("step", with: [2.5])) }
        #expect(throws: OptimizerError.invalidStep(-1)) { try opt.restoreState(tensors: replacing("step", with: [-1])) }
        #expect(OptimizerError.stateSizeMismatch(name: "exp_avg", expected: 8, got: 7).description.contains("exp_avg"))
        #expect(opt.step == 0, "a failed restore must leave the state alone")
    }

    @Test func adamWRejectsBadGroupsAndHyperparameters() {
        #expect(throws: OptimizerError.overlappingGroups(0..<10, 5..<12)) {
            try AdamW(parameterCount: 20, groups: [ParameterGroup(5..<12, weightDecay: 0), ParameterGroup(0..<10, weightDecay: 0)])
        }
        #expect(throws: OptimizerError.groupOutOfBounds(15..<21, parameterCount: 20)) {
            try AdamW(parameterCount: 20, groups: [ParameterGroup(15..<21, weightDecay: 0)])
        }
        #expect(throws: OptimizerError.invalidHyperparameter(name: "beta2", value: 1)) { try AdamW(parameterCount: 2, beta2: 1) }
        #expect(throws: OptimizerError.invalidHyperparameter(name: "eps", value: -1)) { try AdamW(parameterCount: 2, eps: -1) }
    }

    // MARK: clip_grad_norm_

    @Test func clipGradNormMatchesTorch() throws {
        let f = try load(ClipFixture.self, "adamw_clip_grad_norm.json")
        #expect(f.cases.contains { $0.total_norm > $0.max_norm } && f.cases.contains { $0.total_norm < $0.max_norm })
        for c in f.cases {
            var g = floats(c.grads)
            // Split into two buffers to exercise the multi-buffer norm.
            let cut = g.count / 3
            let norm = g.withUnsafeMutableBufferPointer { all in
                GradientClipping.clip([UnsafeMutableBufferPointer(rebasing: all[..<cut]), UnsafeMutableBufferPointer(rebasing: all[cut...])],
                                      maxNorm: c.max_norm)
            }
            #expect(abs(norm - c.total_norm) <= 1e-6 * c.total_norm, "norm \(norm) vs torch \(c.total_norm)")
            let err = relativeError(g, floats(c.clipped))
            #expect(err <= 1e-6, "clipped gradients (max_norm \(c.max_norm)): relative error \(err)")
        }
    }

    @Test func clipLeavesNonFiniteGradientsAloneAndReportsThem() {
        for bad in [Float.nan, .infinity] {
            var g: [Float] = [3, 4, bad, 1]
            let before = g
            let norm = g.withUnsafeMutableBufferPointer { GradientClipping.clip($0, maxNorm: 1) }
            #expect(!norm.isFinite)
            #expect(zip(g, before).allSatisfy { $0.bitPattern == $1.bitPattern })
        }
        var g: [Float] = [3, 4]
        let norm = g.withUnsafeMutableBufferPointer { GradientClipping.clip($0, maxNorm: 1) }
        #expect(norm == 5)
        #expect(abs(g[0] - 0.6) < 1e-6 && abs(g[1] - 0.8) < 1e-6)
    }

    @Test func globalNormMatchesNaiveSumOnLargeBuffers() {
        var rng = TestRNG(seed: 3)
        var a = rng.array(70_001), b = rng.array(5, scale: 100)
        var naive = 0.0
        for x in a + b { naive += Double(x) * Double(x) }
        let norm = a.withUnsafeMutableBufferPointer { pa in b.withUnsafeMutableBufferPointer { GradientClipping.globalNorm([pa, $0]) } }
        #expect(abs(norm - naive.squareRoot()) <= 1e-12 * naive.squareRoot())
    }

    // MARK: Cosine schedule

    @Test func cosineScheduleMatchesTransformers() throws {
        let f = try load(ScheduleFixture.self, "adamw_cosine_schedule.json")
        #expect(f.cases.count == 4)
        for c in f.cases {
            let s = CosineSchedule(peakLR: c.base_lr, warmupSteps: c.num_warmup_steps, totalSteps: c.num_training_steps,
                                   minLRRatio: c.min_lr_rate)
            for (step, expected) in zip(c.steps, c.lrs) {
                let lr = s.lr(step: step)
                #expect(abs(lr - expected) <= 1e-12 * c.base_lr, "step \(step) of \(c): \(lr) vs \(expected) (\(f.reference))")
            }
        }
    }

    @Test func cosineScheduleShape() {
        let s = CosineSchedule(peakLR: 2e-5, warmupSteps: 500, totalSteps: 10_000)
        #expect(s.lr(step: 0) == 0)
        #expect(s.lr(step: 500) == 2e-5)
        #expect(abs(s.lr(step: 10_000)) < 1e-20)
        let floored = CosineSchedule(peakLR: 1, warmupSteps: 0, totalSteps: 10, minLRRatio: 0.1)
        #expect(abs(floored.lr(step: 10) - 0.1) < 1e-15)
    }

    @Test func warmupCountingTheCurrentStepNeverTrainsAtZero() {
        let s = CosineSchedule(peakLR: 1e-3, warmupSteps: 4, totalSteps: 20, warmupCountsCurrentStep: true)
        #expect(s.lr(step: 0) == 1e-3 / 4)
        #expect(s.lr(step: 2) == 1e-3 * 3 / 4)
        // Past warm-up the cosine is the same as transformers' form.
        let plain = CosineSchedule(peakLR: 1e-3, warmupSteps: 4, totalSteps: 20)
        #expect(plain.lr(step: 0) == 0)
        for step in 4...20 { #expect(s.lr(step: step) == plain.lr(step: step)) }
    }
}
