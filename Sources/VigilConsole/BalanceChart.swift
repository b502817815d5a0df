import VigilModel
import VigilProjections

/// A lot's running balance as an inline SVG, drawn on the server: the perpetual balance after each movement as a
/// step line against time, and each physical count as a diamond at what was counted, so a count that does not
/// match stands apart from the line. Only numbers and fixed words reach the drawing.
struct BalanceChart {
    let svg: String

    static let width = 760.0
    static let height = 260.0
    static let plot = (left: 64.0, top: 20.0, width: 672.0, height: 200.0)

    /// - Parameter movements: oldest first.
    init(movements: [ViewTables.LotMovement]) {
        guard let first = movements.first, let last = movements.last else {
            svg = ""
            return
        }
        let plot = Self.plot
        let values = movements.flatMap { [$0.balance.micrograms] + ($0.counted.map { [$0.micrograms] } ?? []) }
        let highest = max(1.0, Double(values.max() ?? 0) / 1000)
        let lowest = min(0.0, Double(values.min() ?? 0) / 1000)
        let start = Double(first.at.microsecondsSinceEpoch)
        let span = max(1.0, Double(last.at.microsecondsSinceEpoch) - start)
        func x(_ time: Timestamp) -> Double {
            plot.left + (Double(time.microsecondsSinceEpoch) - start) / span * plot.width
        }
        func y(_ quantity: Milligrams) -> Double {
            plot.top + (highest - Double(quantity.micrograms) / 1000) / (highest - lowest) * plot.height
        }
        let n = VitalsChart.n
        var out = """
            <svg class="balance-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(n(Self.width)) \
            \(n(Self.height))" role="img" aria-labelledby="balance-title">
            <title id="balance-title">The lot's perpetual balance after each movement, in mg, and its physical \
            counts (diamonds)</title>

            """
        for step in 0...4 {
            let value = lowest + (highest - lowest) * Double(step) / 4
            let ty = plot.top + plot.height - Double(step) / 4 * plot.height
            out += "<line class=\"grid\" x1=\"\(n(plot.left))\" x2=\"\(n(plot.left + plot.width))\" "
            out += "y1=\"\(n(ty))\" y2=\"\(n(ty))\"/><text class=\"tick\" x=\"\(n(plot.left - 6))\" "
            out += "y=\"\(n(ty + 4))\" text-anchor=\"end\">\(n(value))</text>\n"
        }
        out += "<text class=\"tick\" x=\"\(n(plot.left))\" y=\"\(n(Self.height - 8))\">\(Format.time(first.at))</text>"
        out += "<text class=\"tick\" x=\"\(n(plot.left + plot.width))\" y=\"\(n(Self.height - 8))\" "
        out += "text-anchor=\"end\">\(Format.time(last.at))</text>\n"
        var points: [String] = []
        var previous: Double?
        for movement in movements {
            let px = x(movement.at)
            if let previous { points.append("\(n(px)),\(n(previous))") }
            let py = y(movement.balance)
            points.append("\(n(px)),\(n(py))")
            previous = py
        }
        out += "<polyline class=\"series balance\" points=\"\(points.joined(separator: " "))\"/>\n"
        for movement in movements {
            let px = x(movement.at)
            if let counted = movement.counted {
                let py = y(counted)
                let title =
                    "counted \(Format.mg(counted)) at \(Format.time(movement.at)); balance \(Format.mg(movement.balance))"
                out += "<polygon class=\"point count\(counted == movement.balance ? "" : " mismatch")\" "
                out +=
                    "points=\"\(n(px)),\(n(py - 6)) \(n(px + 6)),\(n(py)) \(n(px)),\(n(py + 6)) \(n(px - 6)),\(n(py))\">"
                out += "<title>\(title.htmlEscaped)</title></polygon>\n"
            } else {
                let title =
                    "\(Format.mg(movement.change)) at \(Format.time(movement.at)); balance \(Format.mg(movement.balance))"
                out += "<circle class=\"point balance\" cx=\"\(n(px))\" cy=\"\(n(y(movement.balance)))\" r=\"3\">"
                out += "<title>\(title.htmlEscaped)</title></circle>\n"
            }
        }
        out += "</svg>"
        svg = out
    }
}
