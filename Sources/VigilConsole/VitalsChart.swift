import Foundation
import VigilModel
import VigilProjections

/// A session's vital signs as an inline SVG, drawn on the server: blood pressure and heart rate in one panel,
/// temperature in another, against minutes from the initial dose, with the configured thresholds as dashed
/// lines and the alerts as markers on the readings that raised them.
///
/// Each series has its own marker shape as well as its colour, every point and line carries a `<title>`, and the
/// readings are also in the table below the chart: colour is never the only signal. Only numbers and fixed
/// words reach the drawing, and those are escaped too.
struct VitalsChart {
    let svg: String

    static let width = 760.0
    static let left = 56.0
    static let right = 24.0
    static let pressure = (top: 28.0, height: 220.0, low: 40.0, high: 200.0)
    static let temperature = (top: 300.0, height: 110.0, low: 35.0, high: 41.0)
    static let height = 450.0

    /// - Parameter alertsAt: alerts of the session by the log position of the reading that caused them.
    init(session: SessionView, alertsAt: [Int64: [AlertView]], rules: RuleSettings) {
        let readings = session.vitals
        let start = session.initialDoseAt ?? readings.first?.at
        func minutes(_ reading: VitalsReading) -> Double {
            if let value = reading.minutesFromInitialDose { return value }
            guard let start else { return 0 }
            return Double(reading.at.microsecondsSinceEpoch - start.microsecondsSinceEpoch) / 60_000_000
        }
        let xs = readings.map(minutes)
        let low = min(0, (xs.min() ?? 0).rounded(.down))
        let high = max(low + 60, (xs.max() ?? 60).rounded(.up))
        let plot = (left: Self.left, width: Self.width - Self.left - Self.right)
        func x(_ value: Double) -> Double { plot.left + (value - low) / (high - low) * plot.width }
        func y(_ value: Double, _ panel: (top: Double, height: Double, low: Double, high: Double)) -> Double {
            let clamped = Swift.min(Swift.max(value, panel.low), panel.high)
            return panel.top + (panel.high - clamped) / (panel.high - panel.low) * panel.height
        }

        var out = """
            <svg class="vitals-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(Self.n(Self.width)) \
            \(Self.n(Self.height))" role="img" aria-labelledby="vitals-title vitals-desc">
            <title id="vitals-title">Vital signs against minutes from the initial dose</title>
            <desc id="vitals-desc">\(readings.count) readings. Upper panel: systolic and diastolic blood pressure \
            (mmHg) and heart rate (per minute); lower panel: temperature (°C). Dashed lines are the alert \
            thresholds; triangles mark readings that raised an alert.</desc>

            """
        // Axes, grid and tick labels.
        for panel in [Self.pressure, Self.temperature] {
            let step = panel.high - panel.low > 20 ? 20.0 : 1.0
            var tick = panel.low
            while tick <= panel.high {
                let ty = y(tick, panel)
                out += "<line class=\"grid\" x1=\"\(Self.n(plot.left))\" x2=\"\(Self.n(plot.left + plot.width))\" "
                out += "y1=\"\(Self.n(ty))\" y2=\"\(Self.n(ty))\"/>"
                out += "<text class=\"tick\" x=\"\(Self.n(plot.left - 6))\" y=\"\(Self.n(ty + 4))\" "
                out += "text-anchor=\"end\">\(Self.n(tick))</text>\n"
                tick += step
            }
        }
        let tickStep = Self.niceStep(high - low)
        var minute = (low / tickStep).rounded(.up) * tickStep
        while minute <= high {
            let tx = x(minute)
            out += "<line class=\"grid\" x1=\"\(Self.n(tx))\" x2=\"\(Self.n(tx))\" y1=\"\(Self.n(Self.pressure.top))\" "
            out += "y2=\"\(Self.n(Self.temperature.top + Self.temperature.height))\"/>"
            out += "<text class=\"tick\" x=\"\(Self.n(tx))\" y=\"\(Self.n(Self.height - 18))\" "
            out += "text-anchor=\"middle\">\(Self.n(minute))</text>\n"
            minute += tickStep
        }
        out +=
            "<text class=\"axis-label\" x=\"\(Self.n(plot.left + plot.width / 2))\" y=\"\(Self.n(Self.height - 2))\" "
        out += "text-anchor=\"middle\">minutes from the initial dose</text>\n"
        out += "<text class=\"axis-label\" x=\"\(Self.n(plot.left))\" y=\"16\">mmHg · per minute</text>\n"
        out +=
            "<text class=\"axis-label\" x=\"\(Self.n(plot.left))\" y=\"\(Self.n(Self.temperature.top - 8))\">°C</text>\n"

        // Thresholds.
        let thresholds: [(String, String, Double, (top: Double, height: Double, low: Double, high: Double))] = [
            (
                "systolic", "systolic \(Self.n(rules.hypertensionSystolic)) mmHg", rules.hypertensionSystolic,
                Self.pressure
            ),
            (
                "diastolic", "diastolic \(Self.n(rules.hypertensionDiastolic)) mmHg", rules.hypertensionDiastolic,
                Self.pressure
            ),
            (
                "heart-rate", "heart rate \(Self.n(rules.tachycardiaWarnAbove))/min", rules.tachycardiaWarnAbove,
                Self.pressure
            ),
            (
                "temperature", "temperature \(Self.n(rules.temperatureWarnAtC)) °C", rules.temperatureWarnAtC,
                Self.temperature
            ),
            (
                "temperature", "temperature \(Self.n(rules.temperatureUrgentAboveC)) °C", rules.temperatureUrgentAboveC,
                Self.temperature
            ),
        ]
        for (series, label, value, panel) in thresholds where value >= panel.low && value <= panel.high {
            let ty = y(value, panel)
            out += "<line class=\"threshold \(series)\" data-value=\"\(Self.n(value))\" x1=\"\(Self.n(plot.left))\" "
            out += "x2=\"\(Self.n(plot.left + plot.width))\" y1=\"\(Self.n(ty))\" y2=\"\(Self.n(ty))\">"
            out += "<title>threshold: \(label.htmlEscaped)</title></line>"
            // Heart rate's label on the left, the others on the right: 100/min and 100 mmHg share a line.
            let onLeft = series == "heart-rate"
            out +=
                "<text class=\"threshold-label \(series)\" x=\"\(Self.n(onLeft ? plot.left + 4 : plot.left + plot.width - 4))\" "
            out += "y=\"\(Self.n(ty - 3))\" text-anchor=\"\(onLeft ? "start" : "end")\">\(label.htmlEscaped)</text>\n"
        }

        // Series: a line through the readings, then each point with its own shape.
        let series:
            [(
                String, String, String, KeyPath<VitalsReading, Double?>,
                (top: Double, height: Double, low: Double, high: Double)
            )] = [
                ("systolic", "systolic", "mmHg", \.systolic, Self.pressure),
                ("diastolic", "diastolic", "mmHg", \.diastolic, Self.pressure),
                ("heart-rate", "heart rate", "/min", \.heartRate, Self.pressure),
                ("temperature", "temperature", "°C", \.temperatureC, Self.temperature),
            ]
        for (name, label, unit, path, panel) in series {
            let points = zip(readings, xs).compactMap { reading, minute in
                reading[keyPath: path].map { (reading, minute, $0) }
            }
            guard !points.isEmpty else { continue }
            let line = points.map { "\(Self.n(x($0.1))),\(Self.n(y($0.2, panel)))" }.joined(separator: " ")
            out += "<polyline class=\"series \(name)\" points=\"\(line)\"/>\n"
            for (reading, minute, value) in points {
                let px = x(minute)
                let py = y(value, panel)
                let title = "\(label) \(Self.n(value)) \(unit) at \(Self.n(minute)) min (\(Format.time(reading.at)))"
                let shape: String
                switch name {
                case "heart-rate":
                    shape =
                        "<rect class=\"point \(name)\" x=\"\(Self.n(px - 3.5))\" y=\"\(Self.n(py - 3.5))\" width=\"7\" height=\"7\""
                case "temperature":
                    shape =
                        "<polygon class=\"point \(name)\" points=\"\(Self.n(px)),\(Self.n(py - 5)) \(Self.n(px + 5)),\(Self.n(py)) \(Self.n(px)),\(Self.n(py + 5)) \(Self.n(px - 5)),\(Self.n(py))\""
                default:
                    shape = "<circle class=\"point \(name)\" cx=\"\(Self.n(px))\" cy=\"\(Self.n(py))\" r=\"4\""
                }
                out += shape + " data-minutes=\"\(Self.n(minute))\" data-value=\"\(Self.n(value))\">"
                out += "<title>\(title.htmlEscaped)</title></\(shape.dropFirst().prefix { $0 != " " })>\n"
            }
        }

        // Alerts: a triangle above each reading that raised one.
        for (reading, minute) in zip(readings, xs) {
            guard let alerts = alertsAt[reading.position], !alerts.isEmpty else { continue }
            let px = x(minute)
            let py = Self.pressure.top - 2
            let text = alerts.map { "\($0.severity.rawValue.uppercased()) \(Format.rule($0.rule))" }
                .joined(separator: "; ")
            out += "<polygon class=\"alert-marker \(alerts.map(\.severity).max()!.rawValue)\" "
            out +=
                "points=\"\(Self.n(px - 6)),\(Self.n(py - 10)) \(Self.n(px + 6)),\(Self.n(py - 10)) \(Self.n(px)),\(Self.n(py))\">"
            out += "<title>alert at \(Self.n(minute)) min: \(text.htmlEscaped)</title></polygon>\n"
        }

        // Legend, in words.
        var legendX = plot.left
        for (name, label, _, _, _) in series {
            out += "<g class=\"legend \(name)\"><line class=\"series \(name)\" x1=\"\(Self.n(legendX))\" "
            out += "x2=\"\(Self.n(legendX + 18))\" y1=\"\(Self.n(Self.temperature.top - 30))\" "
            out += "y2=\"\(Self.n(Self.temperature.top - 30))\"/><text x=\"\(Self.n(legendX + 22))\" "
            out += "y=\"\(Self.n(Self.temperature.top - 26))\">\(label.htmlEscaped)</text></g>"
            legendX += 130
        }
        out += "\n</svg>"
        svg = out
    }

    /// A number for the drawing: at most one decimal, never exponent notation.
    static func n(_ value: Double) -> String { Format.tenths(value, trimmingZero: true) }

    /// A tick spacing of 15, 30, 60 ... minutes giving at most about ten ticks.
    static func niceStep(_ span: Double) -> Double {
        for step in [15.0, 30, 60, 120, 240, 480, 960] where span / step <= 10 { return step }
        return (span / 10).rounded(.up)
    }
}
