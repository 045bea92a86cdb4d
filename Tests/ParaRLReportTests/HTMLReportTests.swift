// The HTML report of fixture logs is well-formed XHTML, self-contained (every <img> an inline PNG that decodes,
// no external references), escapes logged text, overlays runs in its curves and shows each evaluation row.
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import ParaRLMedia
import ParaRLStorage
import ParaRLWorld
@testable import ParaRLReport

/// Collects what the tests check while XMLParser walks the document (a strict XML parser: any unescaped `<` or `&`
/// in text, or an unclosed element, is a parse error).
final class ReportScan: NSObject, XMLParserDelegate {
    var imageSources: [String] = []
    var elements: [String: Int] = [:]
    var externalReferences: [String] = []
    var scriptElements = 0
    var text = ""
    var polylineStrokes: [[String]] = []
    var svgDepth = 0

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements[name, default: 0] += 1
        if name == "img", let src = attributes["src"] { imageSources.append(src) }
        if name == "script" { scriptElements += 1 }
        for key in ["href", "src", "xlink:href"] {
            if let v = attributes[key], !v.hasPrefix("data:") { externalReferences.append(v) }
        }
        if name == "svg" { polylineStrokes.append([]) }
        if name == "polyline", let stroke = attributes["stroke"] { polylineStrokes[polylineStrokes.count - 1].append(stroke) }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
}

/// A strict markup checker of our own (XMLParser on Linux recovers from some mismatched tags): every tag is
/// `<name attr="value" …>`, `<name …/>` or `</name>`, closes in order, attribute values are quoted without `<`,
/// and every `&` in text or attributes starts a known entity. Returns the first problem, or nil.
enum StrictMarkup {
    static func check(_ html: String) -> String? {
        let chars = Array(html.unicodeScalars)
        var stack: [String] = [], i = 0, line = 1
        func entityOK(at j: Int) -> Bool {
            let rest = String(String.UnicodeScalarView(chars[j..<min(chars.count, j + 12)]))
            return ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#39;"].contains { rest.hasPrefix($0) }
                || rest.range(of: "^&#[0-9]+;", options: .regularExpression) != nil
        }
        func isName(_ c: Unicode.Scalar) -> Bool { CharacterSet.alphanumerics.contains(c) || c == "-" || c == ":" || c == "_" }
        while i < chars.count {
            let c = chars[i]
            if c == "\n" { line += 1 }
            if c == "&" && !entityOK(at: i) { return "line \(line): bare &" }
            guard c == "<" else { i += 1; continue }
            let rest = String(String.UnicodeScalarView(chars[i..<min(chars.count, i + 9)]))
            if rest.hasPrefix("<!DOCTYPE") || rest.hasPrefix("<!--") {
                let end = rest.hasPrefix("<!--") ? "-->" : ">"
                while i < chars.count && !String(String.UnicodeScalarView(chars[max(0, i - end.unicodeScalars.count + 1)...i])).hasSuffix(end) { i += 1 }
                i += 1
                continue
            }
            i += 1
            let closing = i < chars.count && chars[i] == "/"
            if closing { i += 1 }
            var name = ""
            while i < chars.count && isName(chars[i]) { name.unicodeScalars.append(chars[i]); i += 1 }
            if name.isEmpty { return "line \(line): < not starting a tag" }
            var selfClosing = false
            while true {
                while i < chars.count && (chars[i] == " " || chars[i] == "\n" || chars[i] == "\t") { if chars[i] == "\n" { line += 1 }; i += 1 }
                guard i < chars.count else { return "line \(line): unterminated tag <\(name)" }
                if chars[i] == ">" { i += 1; break }
                if chars[i] == "/" && i + 1 < chars.count && chars[i + 1] == ">" && !closing { selfClosing = true; i += 2; break }
                if closing { return "line \(line): attributes in </\(name)>" }
                var attr = ""
                while i < chars.count && isName(chars[i]) { attr.unicodeScalars.append(chars[i]); i += 1 }
                guard !attr.isEmpty, i + 1 < chars.count, chars[i] == "=", chars[i + 1] == "\"" else {
                    return "line \(line): malformed attribute in <\(name)>"
                }
                i += 2
                while i < chars.count && chars[i] != "\"" {
                    if chars[i] == "<" { return "line \(line): < in attribute \(attr)" }
                    if chars[i] == "&" && !entityOK(at: i) { return "line \(line): bare & in attribute \(attr)" }
                    i += 1
                }
                i += 1
            }
            if closing {
                guard stack.last == name else { return "line \(line): </\(name)> closes <\(stack.last ?? "nothing")>" }
                stack.removeLast()
            } else if !selfClosing {
                stack.append(name)
            }
        }
        return stack.isEmpty ? nil : "unclosed <\(stack.joined(separator: "> <"))>"
    }
}

@Suite("HTML report")
struct HTMLReportTests {
    static func scan(_ html: String) throws -> ReportScan {
        let parser = XMLParser(data: Data(html.utf8))
        let scan = ReportScan()
        parser.delegate = scan
        let ok = parser.parse()
        #expect(ok, "the report is not well-formed XML: \(String(describing: parser.parserError)) at line \(parser.lineNumber)")
        let problem = StrictMarkup.check(html)
        #expect(problem == nil, "markup problem: \(problem ?? "")")
        return scan
    }

    @Test("two runs: well-formed, inline PNGs only, escaped text, overlaid curves and every evaluation")
    func twoRuns() throws {
        let dir = try FixtureLog.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try FixtureLog.write(runID: "traj-s3", in: dir, steps: 4, seed: 3, corruptOneImage: true)
        let b = try FixtureLog.write(runID: "output-level", in: dir, objective: "output", s: 1, steps: 2, seed: 4)
        let catalog = try LogCatalog(locations: [dir.path])
        let runs = try catalog.runs(["traj-s3", "output-level"])
        var options = ReportOptions()
        options.stepsShown = 2
        let html = try HTMLReport.render(runs, options: options)
        if let keep = ProcessInfo.processInfo.environment["PARARL_KEEP_REPORT"] {
            try html.write(toFile: keep, atomically: true, encoding: .utf8)
        }
        let scan = try Self.scan(html)

        // Every image is an inline PNG that decodes; the corrupt snapshot image is left out, not embedded.
        #expect(!scan.imageSources.isEmpty)
        for src in scan.imageSources {
            #expect(src.hasPrefix("data:image/png;base64,"))
            let data = try #require(Data(base64Encoded: String(src.dropFirst("data:image/png;base64,".count))))
            #expect((try? PNGCodec.decode(data)) != nil)
        }
        // Expected image count from what the fixture wrote: for the shown steps (first and last of each run), every
        // group's input image, each rollout's partial images and its final image — minus the corrupt one.
        var expected = 0
        for f in [a, b] {
            let steps = f.steps.map(\.step)
            for step in Set([steps.first, steps.last].compactMap { $0 }) {
                expected += f.groups.filter { $0.step == step && $0.inputImagePNG != nil }.count
                expected += f.rollouts.filter { $0.step == step }.count
                expected += f.snapshots.filter { $0.step == step }.count
            }
        }
        #expect(scan.imageSources.count == expected - 1)
        #expect(html.contains("no image"))

        // Self-contained: no script, no external reference.
        #expect(scan.scriptElements == 0)
        #expect(scan.externalReferences.isEmpty)
        // The injected markup is text, escaped in the source and intact once parsed.
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
        #expect(scan.text.contains(FixtureLog.injected))

        // Four charts, each overlaying both runs in their own colours.
        let charts = scan.polylineStrokes.filter { !$0.isEmpty }
        #expect(charts.count == 4)
        for strokes in charts { #expect(Set(strokes).count == 2) }
        // One evaluation row per (run, step) with scope overall, each number shown with one decimal.
        for f in [a, b] {
            for e in f.evaluations where e.scope == "overall" {
                #expect(html.contains(String(format: "%.1f", e.overall)))
                #expect(html.contains(String(format: "%.1f", e.textAlignment)))
            }
        }
        #expect((scan.elements["details"] ?? 0) >= 2 * 2 + 2)
        // Every config is there, escaped.
        #expect(scan.text.contains(a.record.configYAML) && scan.text.contains(b.record.configYAML))
    }

    @Test("an ablation's runs are grouped into variants: the table over seeds, mean curves and ΔR by t")
    func variants() throws {
        let dir = try FixtureLog.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        var written: [String: [FixtureRun]] = [:]
        for (k, (variant, seed)) in [("a", 1), ("a", 2), ("b", 1), ("b", 2), ("b", 3)].enumerated() {
            written[variant, default: []].append(try FixtureLog.write(runID: "\(variant)-seed\(seed)-\(1_796_000_000 + k)", in: dir,
                                                                       steps: 2 + k % 2, groups: 1, g: 2, seed: UInt64(seed),
                                                                       contentSeed: UInt64(40 + k), rewardEvaluations: true))
        }
        let runs = try LogCatalog(locations: [dir.path]).runs
        #expect(HTMLReport.variantGroups(runs).map(\.name).sorted() == ["a", "b"])
        #expect(HTMLReport.variantGroups(runs).map(\.members.count).sorted() == [2, 3])
        let html = try HTMLReport.render(runs)
        let scan = try Self.scan(html)
        #expect(html.contains("Variants (mean over seeds)"))
        // The table is the ablation table of the same runs.
        let table = try AblationTable.compute(variants: HTMLReport.variantGroups(runs).map { g in (name: g.name, runs: g.members.map { runs[$0] }) })
        for row in table.rows { for cell in row.cells { #expect(html.contains("<td class=\"n\">\(cell.text)</td>")) } }
        // The variant charts (reward, KL, output alignment, ΔR by t) each draw one line per variant.
        let charts = scan.polylineStrokes.filter { !$0.isEmpty }
        for strokes in charts.suffix(4) { #expect(strokes.count == 2 && Set(strokes).count == 2) }
        // ΔR by t: per run, the step-T minus step-0 mean reward at each t, then the mean over the variant's runs.
        for (variant, fixtures) in written {
            let members = runs.filter { HTMLReport.variantName($0.runID) == variant }
            let change = try HTMLReport.rewardChangeByT(members)
            #expect(change.map(\.x) == [1, 2])
            for p in change {
                let perRun = fixtures.map { f -> Double in
                    let last = f.rewardRollouts.map(\.step).max() ?? 0
                    func mean(_ step: Int) -> Double {
                        let xs = f.rewardRollouts.filter { $0.step == step && Double($0.t) == p.x }.map(\.reward)
                        return xs.reduce(0, +) / Double(xs.count)
                    }
                    return mean(last) - mean(0)
                }
                #expect(abs(p.y - perRun.reduce(0, +) / Double(perRun.count)) < 1e-9)
            }
        }
        // Names and means.
        #expect(HTMLReport.variantName("s3-seed12-1796317963") == "s3")
        #expect(HTMLReport.variantName("output-level-seed0-1796312905") == "output-level")
        #expect(HTMLReport.variantName("s3-1796317963") == "s3-1796317963" && HTMLReport.variantName("x-seed1") == "x-seed1")
        let mean = HTMLReport.meanCurve([[(x: 1, y: 1), (x: 2, y: 3)], [(x: 1, y: 3), (x: 3, y: .nan)]])
        #expect(mean.map(\.x) == [1, 2] && mean.map(\.y) == [2, 3])
        // Without a variant of two or more runs there is no such section.
        #expect(!(try HTMLReport.render([runs[0]])).contains("Variants (mean over seeds)"))
    }

    @Test("charts: twelve distinct colours before dashes; a log axis leaves out values ≤ 0 and labels decades")
    func chartStyles() throws {
        let styles = (0..<25).map(SVGChart.style)
        #expect(Set(styles.prefix(12).map(\.colour)).count == 12 && styles.prefix(12).allSatisfy { $0.dash == nil })
        #expect(styles[12].colour == styles[0].colour && styles[12].dash != nil && styles[24].dash != styles[12].dash)
        let series = [ChartSeries(name: "kl", colour: "#000000", points: [(x: 1, y: 0), (x: 2, y: 0.01), (x: 3, y: 1000), (x: 4, y: -1)], dash: "6 3")]
        let svg = SVGChart.lineChart(title: "KL", yLabel: "KL", series: series, logY: true)
        let scan = try Self.scan("<html><body>" + svg + "</body></html>")
        #expect(scan.polylineStrokes.flatMap { $0 } == ["#000000"])
        // Two finite positive points (0 and −1 are left out): one polyline through 2 points, ticks at decades.
        let points = try #require(svg.range(of: "points=\"[^\"]*\"", options: .regularExpression)).lowerBound
        let list = svg[points...].dropFirst("points=\"".count).prefix { $0 != "\"" }
        #expect(list.split(separator: " ").count == 2)
        for label in ["0.01", "1", "100"] { #expect(svg.contains(">\(label)</text>")) }
        #expect(svg.contains("stroke-dasharray=\"6 3\"") && svg.contains("KL (log scale)"))
    }

    @Test("a run without rollouts or evaluations still gives a valid report")
    func emptyRun() throws {
        let dir = try FixtureLog.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent(RolloutLog.fileName).path
        let log = try RolloutLog(path: path)
        try log.recordRun(RunRecord(runID: "empty", configYAML: "a: 1\n", seed: 0, codeVersion: "x", objective: "trajectory",
                                    sampledSteps: 3, clipMu: 0, clipSigma: 1, startedAt: Date(timeIntervalSince1970: 0)))
        let html = try HTMLReport.render(try LogCatalog(locations: [path]).runs([]))
        let scan = try Self.scan(html)
        #expect(scan.imageSources.isEmpty)
        #expect(html.contains("No evaluations logged") && html.contains("no data"))
    }

    @Test("the well-formedness checks themselves reject unescaped markup and unbalanced tags")
    func strictChecker() {
        for bad in ["<html><body><p>a < b</p></body></html>", "<html><body><p>fish & chips</p></body></html>"] {
            #expect(!XMLParser(data: Data(bad.utf8)).parse(), "XMLParser accepted: \(bad)")
        }
        for bad in ["<html><body><p>a < b</p></body></html>", "<html><body><p>fish & chips</p></body></html>",
                    "<html><body><img src=\"x\"></body></html>", "<p title=\"a<b\">x</p>", "<p>x</q>", "<p>x",
                    "<p class=x>y</p>"] {
            #expect(StrictMarkup.check(bad) != nil, "StrictMarkup accepted: \(bad)")
        }
        #expect(StrictMarkup.check("<!DOCTYPE html>\n<html><body><p a=\"1 &amp; 2\">&lt;x&gt; &#160;</p><br/></body></html>") == nil)
    }

    @Test("chart ticks are round and cover the range")
    func ticks() {
        let t = SVGChart.ticks(0.13, 0.87)
        #expect(t.first.map { $0 >= 0.13 } == true && t.last.map { $0 <= 0.87 } == true && t.count >= 3)
        let step = t[1] - t[0]
        #expect([0.1, 0.2, 0.25, 0.5].contains { abs($0 - step) < 1e-12 })
        #expect(SVGChart.tickLabel(0.0025, step: 0.0025) == "0.0025" && SVGChart.tickLabel(0.004, step: 0.002) == "0.004")
        #expect(SVGChart.tickLabel(40, step: 20) == "40" && SVGChart.tickLabel(0.5, step: 0.1) == "0.5")
        #expect(HTMLReport.spread(Array(1...10), 3) == [1, 6, 10] || HTMLReport.spread(Array(1...10), 3) == [1, 5, 10])
        #expect(SVGChart.tickLabel(0.0025, step: 0.0025) == "0.0025" && SVGChart.tickLabel(0.004, step: 0.002) == "0.004")
        #expect(SVGChart.tickLabel(40, step: 20) == "40" && SVGChart.tickLabel(0.5, step: 0.1) == "0.5")
        #expect(HTMLReport.spread([1, 2], 3) == [1, 2])
    }
}
