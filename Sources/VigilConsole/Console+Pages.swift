import Foundation
import HTTPTypes
import Hummingbird
import VigilHTTP
import VigilModel
import VigilProjections
import VigilStore

extension Console {
    // MARK: - Today

    /// What needs attention this morning: open alerts by severity then age, the expedited reports with their
    /// days left (overdue first), missed follow-ups, count discrepancies, and the integrity of the log.
    func today(_ viewer: ConsoleSessions.Session) async throws -> Response {
        guard Permission.safety.allows(viewer.role) else {
            return Self.redirect(to: Layout.landing(for: viewer.role) ?? "/console/sign-in")
        }
        let now = clock.now()
        let shown = 50
        let pressing = try await readModels.mostPressingOpenAlerts(excluding: [.missedFollowUp], limit: shown)
        let missed = try await readModels.alerts(status: .open, rule: .missedFollowUp, limit: shown)
        let counts = try await readModels.openAlertCounts()
        let reports = try await readModels.adverseEvents(openOnly: true).adverseEvents
            .filter(\.requiresExpeditedReport)
            .sorted { ($0.reportDueAt ?? now) < ($1.reportDueAt ?? now) }
        let lots = try await readModels.inventory().lots
        struct Model {
            let alerts: [AlertRow]
            let total: Int
            let shown: Int
            let more: Bool
            let counts: [SeverityCount]
            let reports: [AdverseEventRow]
            let missed: [AlertRow]
            let discrepancies: [CountRow]
            let integrity: IntegritySummary
            let asOf: Int64
        }
        let total = counts.values.reduce(0, +)
        let model = Model(
            alerts: pressing.map { AlertRow($0, now: now) },
            total: total, shown: shown, more: total > pressing.count + missed.alerts.count,
            counts: AlertSeverity.allCases.reversed().map { SeverityCount(severity: $0, count: counts[$0] ?? 0) },
            reports: reports.map { AdverseEventRow($0, now: now) },
            missed: missed.alerts.map { AlertRow($0, now: now) },
            discrepancies: lots.compactMap(CountRow.init),
            integrity: try await integritySummary(), asOf: missed.asOf)
        return page("today", title: "Today", model: model, viewer: viewer, live: true, current: "/console/")
    }

    struct SeverityCount {
        let severity: String
        let label: String
        let count: Int

        init(severity: AlertSeverity, count: Int) {
            self.severity = severity.rawValue
            label = severity.rawValue.uppercased()
            self.count = count
        }
    }

    /// A lot whose last physical count differs from the perpetual balance.
    struct CountRow {
        let lot: String
        let counted: String
        let expected: String
        let difference: String
        let at: String
        let witnessed: Bool

        init?(_ lot: LotView) {
            guard let count = lot.lastCount, count.differenceMg != Milligrams(0) else { return nil }
            self.lot = lot.lot
            counted = Format.mg(count.countedMg)
            expected = Format.mg(count.expectedMg)
            difference = Format.mg(count.differenceMg)
            at = Format.time(count.at)
            witnessed = count.witnessed
        }
    }

    // MARK: - Participants

    func participants(_ request: Request, _ viewer: ConsoleSessions.Session) async throws -> Response {
        let after = request.uri.queryParameters["after"].map(String.init) ?? ""
        let pageSize = 100
        var records = try await readModels.participants(after: after, limit: pageSize + 1)
        let next = records.count > pageSize ? records[pageSize - 1].code : nil
        if next != nil { records.removeLast() }
        struct Row {
            let code: String
            let site: String?
            let enrolled: String
            let href: String
        }
        struct Model {
            let participants: [Row]
            let next: String?
        }
        let model = Model(
            participants: records.map {
                Row(
                    code: $0.code, site: $0.site, enrolled: Format.time($0.enrolledAt),
                    href: "/console/participants/" + Format.pathComponent($0.code))
            },
            next: next.map { "/console/participants?after=" + Self.queryValue($0) })
        return page(
            "participants", title: "Participants", model: model, viewer: viewer, current: "/console/participants")
    }

    /// A participant's course: enrolment, medications, sessions, the follow-up grid, alerts.
    func participant(_ code: String, _ request: Request, _ viewer: ConsoleSessions.Session) async throws -> Response {
        let now = clock.now()
        let before = try VigilAPI.integerParameter(
            request.uri.queryParameters["before"], name: "before", default: .max, range: 1...Int64.max)
        guard let view = try await readModels.participant(code, now: now) else {
            throw APIError(.notFound, code: "not_found", "no participant with that code")
        }
        struct Medication {
            let name: String
            let serotonergic: Bool
            let since: String
        }
        struct SessionRow {
            let id: String
            let href: String
            let number: String
            let started: String
            let ended: String
            let total: String
            let peaks: String
        }
        struct Day {
            let day: Int
            let date: String
            let status: String
            let symbol: String
        }
        struct Grid {
            let session: String
            let days: [Day]
        }
        struct Model {
            let code: String
            let site: String?
            let enrolled: String
            let timeZone: String
            let medications: [Medication]
            let serotonergicActive: Bool
            let sessions: [SessionRow]
            let followUp: [Grid]
            let followUpDays: [Int]
            let alerts: [AlertRow]
            let timeline: [EventRow]
            let older: String?
            let asOf: Int64
        }
        var sessions: [SessionRow] = []
        for id in view.sessions {
            guard let session = try await readModels.session(id) else { continue }
            let peaks = session.peaks
            let parts = [
                peaks.systolic.map { "BP \(Format.number($0))/\(Format.number(peaks.diastolic))" },
                peaks.heartRate.map { "HR \(Format.number($0))" },
                peaks.temperatureC.map { "T \(Format.number($0)) °C" },
            ].compactMap { $0 }
            sessions.append(
                SessionRow(
                    id: id, href: "/console/sessions/" + Format.pathComponent(id),
                    number: session.number.map(String.init) ?? "", started: Format.time(session.startedAt),
                    ended: Format.time(session.endedAt), total: Format.mg(session.totalDoseMg),
                    peaks: parts.joined(separator: ", ")))
        }
        let symbols = ["checked": "✓ done", "missing": "✗ missed", "due": "• due today", "upcoming": "upcoming"]
        let alerts = try await readModels.alerts(status: nil, participant: code, limit: 500).alerts
        let pageSize = 50
        let positions = try await readModels.timeline(of: code, before: before, limit: pageSize)
        let model = Model(
            code: view.code, site: view.site, enrolled: Format.time(view.enrolledAt), timeZone: view.timeZone,
            medications: view.medications.map {
                Medication(name: $0.name, serotonergic: $0.serotonergic, since: Format.time($0.since))
            },
            serotonergicActive: view.serotonergicActive, sessions: sessions,
            followUp: view.followUp.map { grid in
                Grid(
                    session: grid.session,
                    days: grid.days.map {
                        Day(
                            day: $0.day, date: $0.date.iso8601, status: $0.status.rawValue,
                            symbol: symbols[$0.status.rawValue] ?? $0.status.rawValue)
                    })
            },
            followUpDays: view.followUp.first.map { $0.days.map(\.day) } ?? [],
            alerts: AlertRow.triage(alerts).map { AlertRow($0, now: now) },
            timeline: try await eventRows(at: positions),
            older: positions.count == pageSize
                ? "/console/participants/\(Format.pathComponent(code))?before=\(positions.last!)#timeline" : nil,
            asOf: view.asOf)
        return page(
            "participant", title: "Participant \(view.code)", model: model, viewer: viewer,
            current: "/console/participants")
    }

    // MARK: - Adverse events

    func adverseEvents(_ viewer: ConsoleSessions.Session) async throws -> Response {
        let now = clock.now()
        let list = try await readModels.adverseEvents(openOnly: false)
        struct Model {
            let events: [AdverseEventRow]
            let asOf: Int64
        }
        let events = list.adverseEvents.sorted {
            ($0.open ? 0 : 1, $0.reportDueAt ?? $0.awareAt) < ($1.open ? 0 : 1, $1.reportDueAt ?? $1.awareAt)
        }
        return page(
            "adverse-events", title: "Adverse events",
            model: Model(events: events.map { AdverseEventRow($0, now: now) }, asOf: list.asOf), viewer: viewer,
            current: "/console/adverse-events")
    }

    // MARK: - Helpers

    static func queryValue(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }
}
