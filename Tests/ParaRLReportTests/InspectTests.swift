// `inspect` over fixture logs: runs, steps, groups, trajectories and exports give the rows the fixture wrote;
// run and rollout ids resolve (and fail) clearly; tables fit the requested width.
import Foundation
import Testing
import ParaRLMedia
import ParaRLStorage
import ParaRLWorld
@testable import ParaRLReport

@Suite("Inspect")
struct InspectTests {
    @Test("runs: one summary per run, from what the fixture wrote")
    func runs() throws {
        let dir = try FixtureLog.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try FixtureLog.write(runID: "traj-s3", in: dir, steps: 3, seed: 1)
        let b = try FixtureLog.write(runID: "output", in: dir, objective: "output", s: 1, steps: 2, seed: 2)
        // The parent folder finds both run folders.
        let catalog = try LogCatalog(locations: [dir.path])
        let summaries = try Inspect.runSummaries(catalog.runs).sorted { $0.runID < $1.runID }
        #expect(summaries.map(\.runID) == ["output", "traj-s3"])
        for (s, f) in zip(summaries, [b, a]) {
            #expect(s.steps == f.steps.count && s.lastStep == f.steps.last?.step)
            #expect(s.finalRewardMean == f.steps.last?.rewardMean)
            #expect(s.finalOutputAlignment == f.steps.last?.outputAlignment)
            let overall = f.evaluations.filter { $0.scope == "overall" }.max { $0.step < $1.step }
            #expect(s.evaluationStep == overall?.step && s.evaluationOverall == overall?.overall)
            #expect(s.objective == f.record.objective && s.sampledSteps == f.record.sampledSteps && s.seed == f.record.seed)
            #expect(s.database == f.path)
        }
        let text = Inspect.runsTable(summaries).render(width: 100)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2 + summaries.count)
        #expect(lines.allSatisfy { $0.count <= 100 })
        #expect(lines[2].hasPrefix("output") && lines[3].hasPrefix("traj-s3"))
        // JSON round-trips the summaries, with the database's snake_case names as keys.
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        decoder.keyDecodingStrategy = .custom { path in
            // snake_case back to the Swift names (`run_id` → `runID`).
            let parts = path[path.count - 1].stringValue.split(separator: "_").map(String.init)
            let name = parts.enumerated().map { i, p in p == "id" && i > 0 ? "ID" : i == 0 ? p : p.prefix(1).uppercased() + p.dropFirst() }
            return AnyKey(name.joined())
        }
        let json = try Inspect.json(summaries)
        #expect(json.contains("\"run_id\"") && json.contains("\"final_reward_mean\"") && !json.contains("\"runID\""), "\(json)")
        #expect(try decoder.decode([RunSummary].self, from: Data(Inspect.json(summaries).utf8)) == summaries)
    }

    @Test("steps: one row per logged step with its metrics")
    func steps() throws {
        let dir = try FixtureLog.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = try FixtureLog.write(runID: "r", in: dir, steps: 4)
        let run = try LogCatalog(locations: [f.path]).run(nil)
        let table = Inspect.stepsTable(try run.log.steps(runID: run.runID))
        #expect(table.rows.count == f.steps.count)
        let rewardColumn = try #require(table.headers.firstIndex(of: "R mean"))
        let klColumn = try #require(table.headers.firstIndex(of: "KL"))
        for (row, s) in zip(table.rows, f.steps) {
            #expect(row[0] == "\(s.step)")
            #expect(row[rewardColumn] == formatNumber(s.rewardMean))
            #expect(row[klColumn] == formatNumber(s.kl))
        }
    }

    @Test("group: the G rollouts with S, rewards, advantages and final texts")
    func group() throws {
        let dir = try FixtureLog.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = try FixtureLog.write(runID: "r", in: dir, steps: 2, groups: 2, g: 4)
        let run = try LogCatalog(locations: [dir.appendingPathComponent("r").path]).run("r")
        let views = try Inspect.groups(run, step: 2, group: 1)
        let g = try #require(f.groups.first { $0.step == 2 && $0.group == 1 })
        let view = try #require(views.first)
        #expect(views.count == 1)
        #expect(view.taskID == g.taskID && view.sampledSteps == g.sampledSteps && view.instruction == g.instruction)
        let rollouts = f.rollouts.filter { $0.step == 2 && $0.group == 1 }
        #expect(view.rollouts.map(\.finalText) == rollouts.map(\.finalText))
        #expect(view.rollouts.map(\.id) == rollouts.map { "2:1:\($0.rollout)" })
        for r in view.rollouts {
            let written = f.snapshots.filter { $0.step == 2 && $0.group == 1 && $0.rollout == r.rollout }
            #expect(r.snapshots.map(\.t) == written.map(\.t))
            #expect(r.snapshots.map(\.reward) == written.map(\.reward))
            #expect(r.snapshots.map(\.advantage) == written.map(\.advantage))
        }
        #expect(try Inspect.groups(run, step: 2, group: nil).count == 2)
        let text = Inspect.groupText(views, width: 90)
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 90 })
        let first = try #require(f.snapshots.first { $0.step == 2 && $0.group == 1 && $0.rollout == 0 })
        #expect(text.contains("2:1:0") && text.contains(formatNumber(first.reward)) && text.contains("R@t=\(g.sampledSteps[0])"))
        #expect(throws: ReportError.self) { try Inspect.groups(run, step: 99, group: nil) }
        #expect(throws: ReportError.self) { try Inspect.groups(run, step: 2, group: 7) }
    }

    @Test("trajectory: per sampled step partial text, c, R, A and a strip of its images")
    func trajectory() throws {
        let dir = try FixtureLog.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = try FixtureLog.write(runID: "r", in: dir, steps: 2)
        let run = try LogCatalog(locations: [f.path]).run("r")
        let group = try #require(f.groups.first { $0.step == 1 && $0.inputImagePNG != nil })
        let id = RolloutID(step: 1, group: group.group, rollout: 2)
        let view = try Inspect.trajectory(run, id: try RolloutID(parsing: "1:\(group.group):2"))
        let written = f.snapshots.filter { $0.step == 1 && $0.group == group.group && $0.rollout == 2 }
        #expect(view.id == id.description)
        #expect(view.snapshots == written.map { SnapshotView(t: $0.t, partialText: $0.partialText, clipScore: $0.clipScore,
                                                             reward: $0.reward, advantage: $0.advantage) })
        let text = Inspect.trajectoryText(view, width: 120)
        for s in written { #expect(text.contains(formatNumber(s.clipScore)) && text.contains(formatNumber(s.advantage))) }

        let scale = 3
        let strip = try Inspect.trajectoryStrip(view, scale: scale)
        let images = 1 + written.count + 1  // input, partials, final
        #expect(strip.width == 4 + images * (32 * scale + 4) && strip.height == 32 * scale + 8)
        // The last tile is the final image, enlarged.
        let rollout = try #require(f.rollouts.first { $0.step == 1 && $0.group == group.group && $0.rollout == 2 })
        let final = try PNGCodec.decode(rollout.finalImagePNG)
        let x0 = 4 + (images - 1) * (32 * scale + 4)
        for (x, y) in [(0, 0), (13, 21), (31, 31)] {
            #expect(strip[x0 + x * scale + 1, 4 + y * scale + 2] == final[x, y])
        }
        // A round trip through PNG keeps it.
        #expect(try PNGCodec.decode(PNGCodec.encode(strip)) == strip)
        #expect(throws: ReportError.self) { try Inspect.trajectory(run, id: RolloutID(step: 1, group: 0, rollout: 99)) }

        // A run that did not log partial images (empty blobs): the strip holds the input and final images only.
        let writer = try RolloutLog(path: f.path)
        let snapshots = f.snapshots.filter { $0.step == 1 }.map { s -> SnapshotRecord in
            var blank = s
            blank.partialImagePNG = Data()
            return blank
        }
        try writer.commitStep(runID: "r", step: f.steps[0], groups: f.groups.filter { $0.step == 1 },
                              rollouts: f.rollouts.filter { $0.step == 1 }, snapshots: snapshots, evaluations: [])
        let bare = try Inspect.trajectoryStrip(try Inspect.trajectory(run, id: id), scale: scale)
        #expect(bare.width == 4 + 2 * (32 * scale + 4))
    }

    @Test("rollout ids parse as STEP:GROUP:ROLLOUT and reject anything else")
    func rolloutIDs() throws {
        #expect(try RolloutID(parsing: "12:0:3") == RolloutID(step: 12, group: 0, rollout: 3))
        #expect(RolloutID(step: 4, group: 5, rollout: 6).description == "4:5:6")
        for bad in ["12:0", "1:2:3:4", "a:b:c", "1::3", "-1:0:0", "", "1:2:x"] {
            #expect(throws: ReportError.self) { _ = try RolloutID(parsing: bad) }
        }
    }

    @Test("export: CSV and JSON Lines carry every snapshot row, joined with its group and rollout")
    func export() throws {
        let dir = try FixtureLog.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = try FixtureLog.write(runID: "r", in: dir, steps: 2)
        let run = try LogCatalog(locations: [f.path]).run("r")

        let csv = try Export.text(run, table: .snapshots, format: .csv)
        let records = parseCSV(csv)
        let header = try #require(records.first)
        let rows = Array(records.dropFirst())
        #expect(rows.count == f.snapshots.count)
        func col(_ name: String) throws -> Int { try #require(header.firstIndex(of: name)) }
        for (row, s) in zip(rows, f.snapshots) {
            #expect(row[try col("rollout_id")] == "\(s.step):\(s.group):\(s.rollout)")
            #expect(Double(row[try col("reward")]) == s.reward)
            #expect(Double(row[try col("advantage")]) == s.advantage)
            #expect(row[try col("partial_text")] == s.partialText)
            let g = try #require(f.groups.first { $0.step == s.step && $0.group == s.group })
            #expect(row[try col("task_id")] == g.taskID)
        }

        let jsonl = try Export.text(run, table: .snapshots, format: .jsonl)
        let lines = jsonl.split(separator: "\n")
        #expect(lines.count == f.snapshots.count)
        struct Line: Decodable {
            var clip_score: Double, reward: Double, t: Int, final_text: String, sampled_steps: [Int], rollout_id: String
        }
        for (line, s) in zip(lines, f.snapshots) {
            let object = try JSONDecoder().decode(Line.self, from: Data(line.utf8))
            #expect(object.clip_score == s.clipScore && object.reward == s.reward)
            #expect(object.t == s.t && object.rollout_id == "\(s.step):\(s.group):\(s.rollout)")
            let r = try #require(f.rollouts.first { $0.step == s.step && $0.group == s.group && $0.rollout == s.rollout })
            #expect(object.final_text == r.finalText)
            let sampled = try #require(f.groups.first { $0.step == s.step && $0.group == s.group }).sampledSteps
            #expect(object.sampled_steps == sampled)
        }
        // Seeds come out unsigned in both formats; steps export has one row per step.
        let rolloutLines = try Export.text(run, table: .rollouts, format: .jsonl).split(separator: "\n")
        let firstRollout = try #require(rolloutLines.first)
        struct Seed: Decodable { var sampler_seed: UInt64 }
        #expect(try JSONDecoder().decode(Seed.self, from: Data(firstRollout.utf8)).sampler_seed == f.rollouts.first?.samplerSeed)
        #expect(parseCSV(try Export.text(run, table: .steps, format: .csv)).count == 1 + f.steps.count)
    }

    @Test("catalog: missing logs, unknown and ambiguous runs fail with clear messages")
    func catalog() throws {
        let dir = try FixtureLog.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try FixtureLog.write(runID: "a", in: dir, steps: 1)
        _ = try FixtureLog.write(runID: "b", in: dir, steps: 1)
        let both = try LogCatalog(locations: [dir.path])
        #expect(throws: ReportError.self) { _ = try both.run(nil) }
        do {
            _ = try both.run("zzz")
            Issue.record("an unknown run should fail")
        } catch {
            #expect("\(error)".contains("zzz") && "\(error)".contains("a, b"))
        }
        // The same log named twice is opened once; a missing location names itself.
        #expect(try LogCatalog(locations: [a.path, dir.appendingPathComponent("a").path]).logs.count == 1)
        let missing = dir.appendingPathComponent("nothing-here").path
        do {
            _ = try LogCatalog(locations: [missing])
            Issue.record("a missing location should fail")
        } catch {
            #expect("\(error)".contains(missing))
        }
        #expect(throws: ReportError.self) { _ = try LogCatalog(locations: []) }
    }

    @Test("text tables shorten text columns to fit and keep numbers whole")
    func tables() {
        var table = TextTable([("n", .right), ("text", .left)])
        table.append(["12345", String(repeating: "x", count: 200)])
        let lines = table.render(width: 40).split(separator: "\n")
        #expect(lines.allSatisfy { $0.count <= 40 })
        #expect(lines[2].hasPrefix("12345") && lines[2].hasSuffix("…"))
    }
}

/// RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks; records end with CRLF.
func parseCSV(_ text: String) -> [[String]] {
    var records: [[String]] = [], record: [String] = [], field = ""
    var quoted = false, i = text.startIndex
    while i < text.endIndex {
        let ch = text[i]
        if quoted {
            if ch == "\"" {
                let next = text.index(after: i)
                if next < text.endIndex && text[next] == "\"" { field.append("\""); i = next } else { quoted = false }
            } else {
                field.append(ch)
            }
        } else if ch == "\"" {
            quoted = true
        } else if ch == "," {
            record.append(field); field = ""
        } else if ch == "\r\n" || ch == "\n" {
            record.append(field); records.append(record); record = []; field = ""
        } else {
            field.append(ch)
        }
        i = text.index(after: i)
    }
    if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
    return records
}

extension InspectTests {
    @Test("evals: paired summaries and R by t from the reward evaluation rows; export and report show them")
    func rewardEvals() throws {
        let dir = try FixtureLog.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = try FixtureLog.write(runID: "r", in: dir, steps: 2)
        let run = try LogCatalog(locations: [f.path]).run(nil)
        #expect(Inspect.rewardEvalText(try Inspect.rewardEvals(run), width: 100).contains("no paired reward evaluations"))
        let log = try RolloutLog(path: f.path)
        for (step, shift) in [(0, 0.0), (2, 0.1)] {
            var rows: [RewardEvalRolloutRecord] = []
            for task in 0..<3 { for i in 0..<2 { for t in 1...4 {
                let x = Double(t), bump = shift * Double(task + 1)
                rows.append(RewardEvalRolloutRecord(step: step, taskID: "eval-\(task)", rollout: i, t: t, samplerSeed: UInt64(i),
                                                    clipScore: 30 + x, reward: 0.1 * x + bump))
            } } }
            try log.recordRewardEvaluation(runID: "r", step: step, RewardEvaluationRows(step: step, rollouts: rows))
        }
        let view = try Inspect.rewardEvals(run)
        #expect(view.summaries.map(\.step) == [0, 2] && view.byT.count == 8)
        // Paired changes 0.1, 0.2, 0.3: mean 0.2, se 0.1/√3.
        #expect(abs((view.summaries[1].change ?? 0) - 0.2) < 1e-12)
        #expect(abs((view.summaries[1].changeSE ?? 0) - 0.1 / 3.0.squareRoot()) < 1e-12)
        let text = Inspect.rewardEvalText(view, width: 100)
        #expect(text.contains("+0.200 ± 0.058") && text.contains("step 2"))
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 100 })
        let json = try Inspect.json(view)
        #expect(json.contains("\"reward_evals\"") && json.contains("\"change_se\"") && json.contains("\"reward_mean\""))
        #expect(parseCSV(try Export.text(run, table: .rewardEvals, format: .csv)).count == 1 + 8)
        #expect(parseCSV(try Export.text(run, table: .rewardEvalRollouts, format: .csv)).count == 1 + 48)
        let html = try HTMLReport.render([run])
        #expect(html.contains("Paired reward") && html.contains("R by t"))
    }
}

/// A coding key from a string (JSON key mapping in tests).
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

@Suite("Hand-edited logs")
struct CorruptLogTests {
    @Test("text in a REAL column (an edit by hand) is an error naming the column, in inspect and the report, not a crash")
    func textInRealColumn() throws {
        let dir = try FixtureLog.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = try FixtureLog.write(runID: "edited", in: dir, steps: 2, seed: 3)
        try RolloutLog(path: f.path).queue.write { try $0.execute(sql: "UPDATE steps SET loss = 'x' WHERE step = 1") }
        let catalog = try LogCatalog(locations: [dir.path])
        let log = try #require(catalog.runs.first).log
        #expect { try log.steps(runID: "edited") } throws: { "\($0)".contains("column loss holds") }
        #expect { try Inspect.runSummaries(catalog.runs) } throws: { "\($0)".contains("loss") }
    }
}
