// The ablation table's numbers equal those recomputed from what the runs logged: the SFT row from the step-0
// evaluations (one per seed), each variant's row from its runs' final evaluations, mean ± sample std over seeds.
import Foundation
import Testing
import ParaRLStorage
@testable import ParaRLReport

@Suite("Ablation table")
struct AblationTableTests {
    static func axes(_ e: EvaluationRecord) -> [Double?] {
        [e.textQuality, e.textAlignment, e.imageConsistency, e.imageAlignment, e.imageQuality, e.outputAlignment, e.overall]
    }

    @Test("rows equal the mean and sample standard deviation of the logged evaluations")
    func fromLogs() throws {
        let dir = try FixtureLog.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let seeds: [UInt64] = [11, 12, 13]
        var written: [String: [FixtureRun]] = [:]
        for (name, objective, s) in [("output-level", "output", 1), ("s2", "trajectory", 2), ("s3", "trajectory", 3)] {
            for (k, seed) in seeds.enumerated() {
                // Different budgets per seed: the table must take each run's own last evaluation.
                written[name, default: []].append(try FixtureLog.write(runID: "\(name)-seed\(seed)", in: dir, objective: objective, s: s,
                                                                        steps: 1 + k, groups: 1, g: 2, seed: seed,
                                                                        contentSeed: seed &+ UInt64(s) * 100, rewardEvaluations: true))
            }
        }
        // A run without a final evaluation (stopped early) contributes nothing to its variant's row.
        let unfinished = try FixtureLog.write(runID: "s3-unfinished", in: dir, s: 3, steps: 2, groups: 1, g: 2, seed: 11,
                                              contentSeed: 77, finalEvaluation: false)
        let catalog = try LogCatalog(locations: [dir.path])
        let names = ["output-level", "s2", "s3"]
        let variants = try names.map { name in
            (name: name, runs: try ((written[name] ?? []) + (name == "s3" ? [unfinished] : [])).map { try catalog.run($0.record.runID) })
        }
        let table = try AblationTable.compute(variants: variants)
        #expect(table.rows.map(\.variant) == [AblationTable.startLabel] + names)

        func expected(_ evals: [EvaluationRecord]) -> [(mean: Double?, spread: Double?)] {
            (0..<7).map { a in
                let xs = evals.compactMap { Self.axes($0)[a] }
                guard !xs.isEmpty else { return (nil, nil) }
                let m = xs.reduce(0, +) / Double(xs.count)
                let sd = xs.count > 1 ? (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count - 1)).squareRoot() : nil
                return (m, sd)
            }
        }
        func check(_ row: AblationRow, _ evals: [EvaluationRecord]) {
            let e = expected(evals)
            #expect(row.cells.count == 7)
            for (cell, x) in zip(row.cells, e) {
                #expect(cell.mean.map { abs($0 - (x.mean ?? .nan)) < 1e-9 } ?? (x.mean == nil))
                #expect(cell.spread.map { abs($0 - (x.spread ?? .nan)) < 1e-9 } ?? (x.spread == nil))
                #expect(cell.seeds == evals.count)
            }
        }
        // SFT start: step-0 overall evaluations of the first variant's runs (one per seed).
        let start = (written["output-level"] ?? []).compactMap { f in f.evaluations.first { $0.step == 0 && $0.scope == "overall" } }
        #expect(start.count == seeds.count)
        check(table.rows[0], start)
        for (i, name) in names.enumerated() {
            let finals = (written[name] ?? []).compactMap { f in
                f.evaluations.filter { $0.scope == "overall" && $0.step > 0 }.max { $0.step < $1.step }
            }
            #expect(finals.count == seeds.count)
            #expect(table.rows[i + 1].steps == finals.map(\.step))
            check(table.rows[i + 1], finals)
            // Δ output alignment: end − start of each run, mean ± sample std over seeds.
            let starts = (written[name] ?? []).compactMap { f in f.evaluations.first { $0.step == 0 && $0.scope == "overall" } }
            let deltas = zip(finals, starts).map { $0.outputAlignment - $1.outputAlignment }
            let change = try #require(table.rows[i + 1].outputAlignmentChange)
            let meanDelta: Double = deltas.reduce(0, +) / 3
            #expect(abs((change.mean ?? .nan) - meanDelta) < 1e-9)
            let m: Double = deltas.reduce(0, +) / 3
            let squares: Double = deltas.map { ($0 - m) * ($0 - m) }.reduce(0, +)
            let sd: Double = (squares / 2).squareRoot()
            #expect(abs((change.spread ?? .nan) - sd) < 1e-9)
            // Δ reward: per run, the mean over tasks of (final − start) task means; over seeds the mean, and √Σse²/n.
            var perRun: [(Double, Double)] = []
            for f in written[name] ?? [] {
                let last = f.rewardRollouts.map(\.step).max() ?? 0
                let diffs = ["eval-a", "eval-b", "eval-c"].map { task -> Double in
                    func taskMean(_ step: Int) -> Double {
                        let xs = f.rewardRollouts.filter { $0.step == step && $0.taskID == task }.map(\.reward)
                        return xs.reduce(0, +) / Double(xs.count)
                    }
                    return taskMean(last) - taskMean(0)
                }
                let dm: Double = diffs.reduce(0, +) / 3
                let dsq: Double = diffs.map { ($0 - dm) * ($0 - dm) }.reduce(0, +)
                perRun.append((dm, (dsq / 2).squareRoot() / 3.0.squareRoot()))
            }
            let rewardMean: Double = perRun.map(\.0).reduce(0, +) / 3
            let rewardSE: Double = perRun.map { $0.1 * $0.1 }.reduce(0, +).squareRoot() / 3
            #expect(abs((table.rows[i + 1].rewardChange ?? .nan) - rewardMean) < 1e-9)
            #expect(abs((table.rows[i + 1].rewardChangeSE ?? .nan) - rewardSE) < 1e-9)
            // Train minutes: the median logged step time × the steps of each run up to its final evaluation, over seeds.
            let minutes = (written[name] ?? []).map { f -> Double in
                let xs = f.steps.map(\.secondsTotal).sorted()
                let median = xs.count % 2 == 1 ? xs[xs.count / 2] : (xs[xs.count / 2 - 1] + xs[xs.count / 2]) / 2
                return median * Double(xs.count) / 60
            }
            let minutesMean: Double = minutes.reduce(0, +) / 3
            let minutesSD: Double = (minutes.map { ($0 - minutesMean) * ($0 - minutesMean) }.reduce(0, +) / 2).squareRoot()
            let train = try #require(table.rows[i + 1].trainMinutes)
            #expect(abs((train.mean ?? .nan) - minutesMean) < 1e-9 && abs((train.spread ?? .nan) - minutesSD) < 1e-9)
            #expect(minutesSD > 0)
        }
        // The markdown shows every cell as "mean ± std" with one decimal.
        let md = table.markdown()
        let lines = md.split(separator: "\n")
        #expect(lines.first?.contains("Text Qual. | Text Align. | Image Cons. | Image Align. | Image Qual. | Output Align. | Overall") == true)
        for row in table.rows {
            let line = try #require(lines.first { $0.hasPrefix("| \(row.variant) |") })
            for cell in row.cells { #expect(line.contains(cell.text)) }
            if let overall = row.cells.last, let m = overall.mean, let s = overall.spread {
                #expect(line.contains(String(format: "%.1f ± %.1f", m, s)))
            }
        }
        // JSON round-trips.
        #expect(try JSONDecoder().decode(AblationTable.self, from: Data(Inspect.json(table).utf8)) == table)
    }

    @Test("a single seed shows no spread; a variant without final evaluations shows dashes")
    func edges() throws {
        let dir = try FixtureLog.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = try FixtureLog.write(runID: "one", in: dir, steps: 1, groups: 1, g: 2, seed: 5)
        let run = try LogCatalog(locations: [f.path]).run("one")
        let table = try AblationTable.compute(variants: [(name: "solo", runs: [run]), (name: "empty", runs: [])])
        #expect(table.rows[1].cells.allSatisfy { $0.spread == nil })
        let final = try #require(f.evaluations.first { $0.step == 1 && $0.scope == "overall" })
        #expect(table.rows[1].cells.last?.text == String(format: "%.1f", final.overall))
        #expect(table.rows[2].cells.allSatisfy { $0.text == "–" && $0.seeds == 0 })
        #expect(table.rows[1].trainMinutes?.mean == f.steps.map(\.secondsTotal).reduce(0, +) / 60)
        #expect(AblationTable.median([3, 1, 2]) == 2 && AblationTable.median([4, 1, 3, 2]) == 2.5 && AblationTable.median([]) == 0)
        // A slow step (a pause, another job) does not move the median: 3 steps of 17, 20, 25 s count as 3 × 20 s.
        let slow = try FixtureLog.write(runID: "three", in: dir, steps: 3, groups: 1, g: 2, seed: 6)
        let slowTable = try AblationTable.compute(variants: [(name: "three", runs: [try LogCatalog(locations: [slow.path]).run("three")])])
        #expect(slow.steps.map(\.secondsTotal) == [17, 20, 25])
        #expect(slowTable.rows[1].trainMinutes?.mean == 1)
        #expect(table.markdown().split(separator: "\n").first { $0.hasPrefix("| empty |") }?.hasSuffix("| – | – | – | – | 0 |") == true)
    }
}
