// Line charts as inline SVG for the HTML report: one or several runs overlaid on shared axes, with ticks,
// gaps where a value is not finite (or not positive on a log axis), and a tooltip per series. Markup is XML-clean
// (XHTML-compatible).
import Foundation

public struct ChartSeries: Sendable {
    public var name: String
    public var colour: String
    public var points: [(x: Double, y: Double)]
    /// An SVG stroke-dasharray ("5 3"), nil for a solid line.
    public var dash: String?
    public init(name: String, colour: String, points: [(x: Double, y: Double)], dash: String? = nil) {
        self.name = name; self.colour = colour; self.points = points; self.dash = dash
    }
}

public enum SVGChart {
    /// Twelve distinguishable colours (an ablation of 4 variants × 3 seeds gets one each); grey is kept for baselines.
    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                                 "#bcbd22", "#000080", "#800000", "#006d5b"]
    static let dashes: [String?] = [nil, "6 3", "2 2"]

    /// The colour and dash of the i-th series: the palette, then the palette again dashed.
    public static func style(_ i: Int) -> (colour: String, dash: String?) {
        (palette[i % palette.count], dashes[(i / palette.count) % dashes.count])
    }

    /// Round tick values covering [lo, hi], about `count` of them.
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
        let span = hi - lo
        guard span > 0, span.isFinite else { return [lo] }
        let raw = span / Double(max(1, count - 1))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var out: [Double] = []
        var v = ceil(lo / step) * step
        while v <= hi + step * 1e-9 { out.append(abs(v) < step * 1e-9 ? 0 : v); v += step }
        return out
    }

    /// A tick value with as many decimals as the tick spacing needs (scientific for tiny or huge values).
    static func tickLabel(_ v: Double, step: Double) -> String {
        if v == 0 { return "0" }
        let a = max(abs(v), step)
        if a >= 1e5 || a < 1e-3 { return String(format: "%.2g", v) }
        let decimals = max(0, Int(-floor(log10(step) + 1e-9))) + (step / pow(10, floor(log10(step))) == 2.5 ? 1 : 0)
        return String(format: "%.\(decimals)f", v)
    }

    /// A chart of `series` against the training step (or `xLabel`); `yLabel` names the quantity. `logY` draws y on a
    /// log₁₀ axis (a quantity spanning decades, such as a KL with a spike); values ≤ 0 are left out there.
    public static func lineChart(title: String, yLabel: String, series: [ChartSeries], xLabel: String = "step", width: Int = 460,
                                 height: Int = 240, logY: Bool = false) -> String {
        let left = 58.0, right = 12.0, top = 26.0, bottom = 34.0
        let plotW = Double(width) - left - right, plotH = Double(height) - top - bottom
        let series = logY ? series.map { s in
            var s = s
            s.points = s.points.map { (x: $0.x, y: $0.y > 0 ? log10($0.y) : .nan) }
            return s
        } : series
        let finitePoints = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(htmlEscape(title))\">"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>"
        svg += "<text x=\"\(Int(left))\" y=\"16\" class=\"ctitle\">\(htmlEscape(title))</text>"
        guard let first = finitePoints.first else {
            return svg + "<text x=\"\(Int(left + 10))\" y=\"\(Int(top + plotH / 2))\" class=\"cnote\">no data</text></svg>"
        }
        var xLo = first.x, xHi = first.x, yLo = first.y, yHi = first.y
        for p in finitePoints { xLo = min(xLo, p.x); xHi = max(xHi, p.x); yLo = min(yLo, p.y); yHi = max(yHi, p.y) }
        if xHi == xLo { xLo -= 1; xHi += 1 }
        if yHi == yLo { let pad = yLo == 0 ? 1 : abs(yLo) * 0.1; yLo -= pad; yHi += pad }
        let yPad = (yHi - yLo) * 0.05
        yLo -= yPad; yHi += yPad
        func px(_ x: Double) -> Double { left + (x - xLo) / (xHi - xLo) * plotW }
        func py(_ y: Double) -> Double { top + (1 - (y - yLo) / (yHi - yLo)) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#999999\"/>"
        var yTicks = ticks(yLo, yHi)
        // On a log axis: ticks at whole decades when the range holds two or more of them.
        if logY {
            let decades = yTicks.filter { $0 == $0.rounded() }
            if decades.count >= 2 { yTicks = decades }
        }
        let tickStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : max(abs(yLo), 1)
        for v in yTicks {
            let label = logY ? String(format: v == v.rounded() ? "%g" : "%.2g", pow(10, v)) : tickLabel(v, step: tickStep)
            svg += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(py(v)))\" y2=\"\(f(py(v)))\" stroke=\"#e5e5e5\"/>"
            svg += "<text x=\"\(f(left - 4))\" y=\"\(f(py(v) + 4))\" class=\"ytick\">\(label)</text>"
        }
        for v in ticks(xLo, xHi) where v == v.rounded() {
            svg += "<line x1=\"\(f(px(v)))\" x2=\"\(f(px(v)))\" y1=\"\(f(top + plotH))\" y2=\"\(f(top + plotH + 4))\" stroke=\"#999999\"/>"
            svg += "<text x=\"\(f(px(v)))\" y=\"\(f(top + plotH + 16))\" class=\"xtick\">\(Int(v))</text>"
        }
        svg += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(Double(height) - 4))\" class=\"xtick\">\(htmlEscape(xLabel))</text>"
        svg += "<text x=\"12\" y=\"\(f(top + plotH / 2))\" class=\"ylabel\" transform=\"rotate(-90 12 \(f(top + plotH / 2)))\">"
            + "\(htmlEscape(yLabel + (logY ? " (log scale)" : "")))</text>"
        for s in series {
            // Runs of consecutive finite points become one polyline each.
            var segments: [[(x: Double, y: Double)]] = [[]]
            for p in s.points.sorted(by: { $0.x < $1.x }) {
                if p.x.isFinite && p.y.isFinite { segments[segments.count - 1].append(p) } else if !(segments.last?.isEmpty ?? true) { segments.append([]) }
            }
            svg += "<g><title>\(htmlEscape(s.name))</title>"
            for seg in segments where !seg.isEmpty {
                let pts = seg.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                let dash = s.dash.map { " stroke-dasharray=\"\(htmlEscape($0))\"" } ?? ""
                svg += "<polyline points=\"\(pts)\" fill=\"none\" stroke=\"\(s.colour)\" stroke-width=\"1.8\"\(dash)/>"
                if seg.count <= 40 || seg.count == 1 {
                    for p in seg { svg += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"2.2\" fill=\"\(s.colour)\"/>" }
                }
            }
            svg += "</g>"
        }
        return svg + "</svg>"
    }
}
