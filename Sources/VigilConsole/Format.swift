import Foundation
import VigilModel
import VigilProjections

/// How the console writes times, quantities and alerts: one way each, on every page.
enum Format {
    /// `2026-11-29 10:15 UTC`: the log's times are UTC, and a printed record must say so.
    static func time(_ time: Timestamp) -> String {
        let text = time.rfc3339
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5)) + " UTC"
    }

    static func time(_ time: Timestamp?) -> String { time.map { Self.time($0) } ?? "" }

    /// How long ago, in the largest whole unit: `45 min ago`, `3 h ago`, `2 d ago`.
    static func age(of time: Timestamp, now: Timestamp) -> String {
        let minutes = max(0, (now.microsecondsSinceEpoch - time.microsecondsSinceEpoch) / 60_000_000)
        if minutes < 60 { return "\(minutes) min ago" }
        if minutes < 48 * 60 { return "\(minutes / 60) h ago" }
        return "\(minutes / (24 * 60)) d ago"
    }

    static func mg(_ quantity: Milligrams) -> String { "\(quantity) mg" }

    /// A reading without a needless `.0`.
    static func number(_ value: Double?) -> String {
        guard let value else { return "" }
        return value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : tenths(value)
    }

    /// A number rounded to one decimal (`37.0`, `-12.5`); with `trimmingZero`, `37` rather than `37.0`. Written
    /// by hand: Foundation's `String(format:)` was a tenth of a session page's cost on Linux.
    static func tenths(_ value: Double, trimmingZero: Bool = false) -> String {
        let scaled = (value * 10).rounded()
        guard scaled.isFinite, abs(scaled) < 1e15 else { return String(value) }
        let tenths = Int64(scaled)
        let magnitude = tenths.magnitude
        let sign = tenths < 0 ? "-" : ""
        if trimmingZero && magnitude % 10 == 0 { return sign + String(magnitude / 10) }
        return sign + String(magnitude / 10) + "." + String(magnitude % 10)
    }

    /// Whole calendar days from now to a due time, rounded up: 0 on the due day, negative once overdue.
    static func daysLeft(until due: Timestamp, now: Timestamp) -> Int {
        let day: Int64 = 86_400_000_000
        let micros = due.microsecondsSinceEpoch - now.microsecondsSinceEpoch
        return Int(micros >= 0 ? (micros + day - 1) / day : -((-micros) / day))
    }

    static func daysLeftText(_ days: Int) -> String {
        switch days {
        case ..<0: "overdue by \(-days) day\(days == -1 ? "" : "s")"
        case 0: "due today"
        case 1: "1 day left"
        default: "\(days) days left"
        }
    }

    /// A code as one path segment (codes may hold `/` and `.`).
    static func pathComponent(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_")))
            ?? ""
    }

    static func rule(_ rule: AlertRule) -> String {
        rule.rawValue.replacing("_", with: " ").replacing("phq9", with: "PHQ-9")
            .replacing("cssrs", with: "C-SSRS")
    }
}

/// An alert as a row of any table: the severity is written out, never shown by colour alone.
struct AlertRow {
    let id: String
    let shortID: String
    let rule: String
    let ruleLabel: String
    let severity: String
    let severityLabel: String
    let participant: String?
    let participantHref: String?
    let session: String?
    let sessionHref: String?
    let status: String
    let raised: String
    let age: String
    let message: String
    let href: String

    init(_ alert: AlertView, now: Timestamp) {
        id = alert.alertId.description
        shortID = String(alert.alertId.description.prefix(8))
        rule = alert.rule.rawValue
        ruleLabel = Format.rule(alert.rule)
        severity = alert.severity.rawValue
        severityLabel = alert.severity.rawValue.uppercased()
        participant = alert.participant
        participantHref = alert.participant.map { "/console/participants/" + Format.pathComponent($0) }
        session = alert.session
        sessionHref = alert.session.map { "/console/sessions/" + Format.pathComponent($0) }
        status = alert.status.rawValue
        raised = Format.time(alert.raisedAt)
        age = Format.age(of: alert.raisedAt, now: now)
        message = alert.message
        href = "/console/alerts/" + alert.alertId.description
    }

    /// Most severe first, then the longest waiting.
    static func triage(_ alerts: [AlertView]) -> [AlertView] {
        alerts.sorted { ($0.severity, $1.raisedAt, $1.position) > ($1.severity, $0.raisedAt, $0.position) }
    }
}

/// An adverse event in the register, with its regulatory clock.
struct AdverseEventRow {
    let participant: String
    let participantHref: String
    let aeId: String
    let term: String
    let grade: Int
    let serious: Bool
    let criteria: String
    let expedited: Bool
    let dayZero: String
    let due: String
    let daysLeft: String
    let overdue: Bool
    let submitted: String
    let reference: String?
    let outcome: String
    let open: Bool

    init(_ event: AdverseEventView, now: Timestamp) {
        participant = event.participant
        participantHref = "/console/participants/" + Format.pathComponent(event.participant)
        aeId = event.aeId
        term = event.term
        grade = event.severity
        serious = event.serious
        criteria = event.criteria.map { $0.rawValue.replacing("_", with: " ") }.joined(separator: ", ")
        expedited = event.requiresExpeditedReport
        dayZero = Format.time(event.awareAt)
        due = Format.time(event.reportDueAt)
        let days = event.reportDueAt.map { Format.daysLeft(until: $0, now: now) }
        daysLeft = event.open ? days.map(Format.daysLeftText) ?? "" : (event.submittedAt == nil ? "" : "submitted")
        overdue = event.open && (days ?? 0) < 0
        submitted = Format.time(event.submittedAt)
        reference = event.reference
        outcome = event.outcome?.rawValue.replacing("_", with: " ") ?? ""
        open = event.open
    }
}
