import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VigilModel
import VigilProjections

/// Alerts as officers read them: most severe first, then the longest waiting.
func triaged(_ alerts: [AlertView]) -> [AlertView] {
    alerts.sorted {
        $0.severity != $1.severity
            ? $0.severity > $1.severity : ($0.raisedAt, $0.position) < ($1.raisedAt, $1.position)
    }
}

/// Every page of `GET /v1/alerts` with these query parameters.
func fetchAlerts(_ server: ServerOptions, parameters: [String]) async throws -> [AlertView] {
    var alerts: [AlertView] = []
    var after: Int64 = 0
    while true {
        let path = "/v1/alerts?" + (parameters + ["limit=1000", "after=\(after)"]).joined(separator: "&")
        let (status, body) = try await DaemonClient.send("GET", server.baseURL + path, token: server.bearer)
        guard status == 200 else { throw CLIFailure(DaemonClient.describeError(status: status, body: body)) }
        let page: AlertList
        do {
            page = try ViewCoding.decode(AlertList.self, from: Data(body))
        } catch {
            throw CLIFailure("unexpected answer from the daemon: \(error)")
        }
        alerts += page.alerts
        guard let next = page.next else { return alerts }
        after = next
    }
}

/// The rows of an alert table, full ids included (they are what `ack` and `resolve` take, or a prefix of them).
func alertRows(_ alerts: [AlertView]) -> [[String]] {
    [["ALERT", "RAISED AT", "SEVERITY", "RULE", "PARTICIPANT", "STATUS", "MESSAGE"]]
        + alerts.map {
            [
                $0.alertId.description, cell($0.raisedAt), $0.severity.rawValue, $0.rule.rawValue, cell($0.participant),
                $0.status.rawValue, $0.message,
            ]
        }
}

struct Alerts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List alerts, most severe first, then oldest first (officer token).",
        discussion: "Ids are printed in full; 'vigilctl ack' and 'vigilctl resolve' take them, or a unique prefix."
    )

    @OptionGroup var server: ServerOptions

    @Option(help: "open, acknowledged or resolved.")
    var status: String?

    @Option(help: "Only alerts of this severity or above: info, warn, urgent or critical.")
    var severity: String?

    @Option(help: "Only this rule's alerts, such as hypertension or inventory_negative.")
    var rule: String?

    @Option(help: "Only this participant's alerts.")
    var participant: String?

    @Option(help: "Only alerts raised at or after this time (RFC 3339) or date (YYYY-MM-DD, UTC).")
    var since: String?

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if let status, AlertView.Status(rawValue: status) == nil {
            throw ValidationError("--status must be open, acknowledged or resolved")
        }
        if let severity, AlertSeverity(rawValue: severity) == nil {
            throw ValidationError("--severity must be info, warn, urgent or critical")
        }
        if let rule, AlertRule(rawValue: rule) == nil {
            throw ValidationError(
                "--rule must be one of \(AlertRule.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let since, Timestamp(dateOrTime: since) == nil {
            throw ValidationError("--since must be an RFC 3339 time or a date (YYYY-MM-DD)")
        }
    }

    func run() async throws {
        try await reportingFailures {
            var parameters: [String] = []
            if let status { parameters.append("status=\(status)") }
            if let participant {
                parameters.append(
                    "participant=\(participant.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
            }
            var alerts = try await fetchAlerts(server, parameters: parameters)
            if let minimum = severity.flatMap(AlertSeverity.init(rawValue:)) {
                alerts.removeAll { $0.severity < minimum }
            }
            if let rule = rule.flatMap(AlertRule.init(rawValue:)) { alerts.removeAll { $0.rule != rule } }
            if let since = since.flatMap({ Timestamp(dateOrTime: $0) }) { alerts.removeAll { $0.raisedAt < since } }
            alerts = triaged(alerts)
            if json {
                print(String(decoding: try ViewCoding.encode(alerts), as: UTF8.self))
                return
            }
            print(Table.render(alertRows(alerts)))
        }
    }
}

/// `ack` and `resolve`: an officer's signed note on an alert named by its id or a unique prefix.
struct AlertDecision {
    var resolving: Bool

    func record(alert: String, note: String, signing: SigningOptions, server: ServerOptions) async throws {
        guard alert.allSatisfy({ $0.isHexDigit || $0 == "-" }) else {
            throw CLIFailure("an alert id is a UUID or a prefix of one (hexadecimal digits and dashes)", status: 64)
        }
        let path = "/v1/alerts/" + alert
        let (status, body) = try await DaemonClient.send("GET", server.baseURL + path, token: server.bearer)
        guard status == 200 else {
            throw CLIFailure(DaemonClient.describeError(status: status, body: body), status: status == 404 ? 3 : 1)
        }
        let view: AlertView
        do {
            view = try ViewCoding.decode(AlertView.self, from: Data(body))
        } catch {
            throw CLIFailure("unexpected answer from the daemon: \(error)")
        }
        if resolving && view.status == .resolved || !resolving && view.status != .open {
            print("alert \(view.alertId) is already \(view.status.rawValue); recording the note all the same")
        }
        print("alert \(view.alertId): \(view.severity.rawValue) \(view.rule.rawValue), \(view.message)")
        try await Recording(
            type: resolving ? .alertResolved : .alertAcknowledged,
            data: JSONObject(["alertId": .string(view.alertId.description), "note": .string(note)])
        ).record(signing: signing, server: server)
    }
}

struct Acknowledge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ack",
        abstract: "Acknowledge an alert with a signed note (alert.acknowledged, safety officer key; officer token).",
        discussion: "Example: vigilctl ack 3f2a9c --note 'called the site; BP rechecked' --key officer.key"
    )

    @OptionGroup var server: ServerOptions
    @OptionGroup var signing: SigningOptions

    @Argument(help: "The alert's id, or a unique prefix of it (at least 4 hex digits).") var alert: String
    @Option(help: "What was done or decided.") var note: String

    func run() async throws {
        try await reportingFailures {
            try await AlertDecision(resolving: false).record(alert: alert, note: note, signing: signing, server: server)
        }
    }
}

struct Resolve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Resolve an alert with a signed note (alert.resolved, safety officer key; officer token).",
        discussion: "Example: vigilctl resolve 3f2a9c --note 'BP back to 128/82 at 14:10' --key officer.key"
    )

    @OptionGroup var server: ServerOptions
    @OptionGroup var signing: SigningOptions

    @Argument(help: "The alert's id, or a unique prefix of it (at least 4 hex digits).") var alert: String
    @Option(help: "How it was resolved.") var note: String

    func run() async throws {
        try await reportingFailures {
            try await AlertDecision(resolving: true).record(alert: alert, note: note, signing: signing, server: server)
        }
    }
}

struct Follow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print alerts as they are raised, acknowledged and resolved, until interrupted (officer token).",
        discussion: "With --after N, alerts raised after log position N are printed first."
    )

    @OptionGroup var server: ServerOptions

    @Option(help: "Replay alerts raised after this log position first.")
    var after: Int64?

    @Flag(help: "Print each alert as a line of JSON.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            var request = HTTPClientRequest(url: server.baseURL + "/v1/alerts/stream")
            if let token = server.bearer { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            if let after { request.headers.add(name: "Last-Event-ID", value: String(after)) }
            let response: HTTPClientResponse
            do {
                response = try await HTTPClient.shared.execute(request, deadline: .distantFuture)
            } catch {
                throw CLIFailure("cannot reach the daemon at \(server.baseURL): \(error)", status: 69)
            }
            guard response.status == .ok else {
                let body = try await response.body.collect(upTo: 1 << 16)
                throw CLIFailure(
                    DaemonClient.describeError(status: Int(response.status.code), body: Array(buffer: body)))
            }
            var pending: [UInt8] = []
            var event = "", data: [UInt8] = []
            for try await chunk in response.body {
                pending += chunk.readableBytesView
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = Array(pending[..<newline])
                    pending.removeSubrange(...newline)
                    if line.isEmpty {
                        if !data.isEmpty { try show(event: event, data: data) }
                        event = ""
                        data = []
                    } else if line.starts(with: Array("event: ".utf8)) {
                        event = String(decoding: line.dropFirst(7), as: UTF8.self)
                    } else if line.starts(with: Array("data: ".utf8)) {
                        data = Array(line.dropFirst(6))
                    }
                }
            }
            throw CLIFailure("the daemon closed the stream", status: 1)
        }
    }

    /// One line per alert, written at once (unbuffered), so that a pipe sees each alert as it comes.
    private func show(event: String, data: [UInt8]) throws {
        var line: String
        if json {
            line = String(decoding: data, as: UTF8.self)
        } else if let alert = try? ViewCoding.decode(AlertView.self, from: Data(data)) {
            let what = event == "alert-updated" ? alert.status.rawValue.uppercased() : "RAISED"
            line =
                "\(alert.raisedAt) \(what) \(alert.severity.rawValue) \(alert.rule.rawValue) \(alert.alertId) \(cell(alert.participant)): \(alert.message)"
        } else {
            return
        }
        line += "\n"
        FileHandle.standardOutput.write(Data(line.utf8))
    }
}

struct Today: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "What needs attention now: open alerts, expedited reports with days left, missed follow-ups, stock (officer token)."
    )

    @OptionGroup var server: ServerOptions

    func run() async throws {
        try await reportingFailures {
            let now = SystemWallClock().now()
            let unresolved = triaged(
                try await fetchAlerts(server, parameters: ["status=open"])
                    + (try await fetchAlerts(server, parameters: ["status=acknowledged"])))
            var lines: [String] = []
            let counts = AlertSeverity.allCases.reversed().compactMap { severity -> String? in
                let count = unresolved.filter { $0.severity == severity }.count
                return count == 0 ? nil : "\(count) \(severity.rawValue)"
            }
            lines.append(
                "Unresolved alerts: \(counts.isEmpty ? "none" : counts.joined(separator: ", "))"
                    + " (\(unresolved.filter { $0.status == .open }.count) not yet acknowledged)")
            let pressing = unresolved.filter { $0.severity >= .urgent }
            if !pressing.isEmpty { lines.append(Table.render(alertRows(pressing))) }

            let (status, body) = try await DaemonClient.send(
                "GET", server.baseURL + "/v1/adverse-events?open=true", token: server.bearer)
            guard status == 200, let register = try? ViewCoding.decode(AdverseEventList.self, from: Data(body)) else {
                throw CLIFailure(DaemonClient.describeError(status: status, body: body))
            }
            let reports = register.adverseEvents.filter { $0.reportDueAt != nil }
                .sorted { ($0.reportDueAt ?? now) < ($1.reportDueAt ?? now) }
            lines.append("")
            lines.append("Expedited safety reports due: \(reports.isEmpty ? "none" : String(reports.count))")
            if !reports.isEmpty {
                var rows = [["PARTICIPANT", "AE", "TERM", "DAY 0", "DUE", "DAYS LEFT"]]
                for report in reports {
                    let due = report.reportDueAt ?? now
                    let seconds = (due.microsecondsSinceEpoch - now.microsecondsSinceEpoch) / 1_000_000
                    let left =
                        seconds < 0 ? "OVERDUE by \(Self.days(-seconds))" : Self.days(seconds)
                    rows.append([report.participant, report.aeId, report.term, cell(report.awareAt), cell(due), left])
                }
                lines.append(Table.render(rows))
            }

            let missed = unresolved.filter { $0.rule == .missedFollowUp }
            lines.append("")
            lines.append("Missed follow-ups: \(missed.isEmpty ? "none" : String(missed.count))")
            for alert in missed { lines.append("  \(cell(alert.participant)): \(alert.message)") }

            let stockRules: Set<AlertRule> = [
                .countDiscrepancy, .inventoryNegative, .lossReportDue, .missingWitness, .inventoryOverdue,
            ]
            let stock = unresolved.filter { stockRules.contains($0.rule) }
            lines.append("")
            lines.append("Controlled-substance records: \(stock.isEmpty ? "nothing open" : String(stock.count))")
            for alert in stock { lines.append("  \(alert.severity.rawValue) \(alert.rule.rawValue): \(alert.message)") }
            print(lines.joined(separator: "\n"))
        }
    }

    /// "2.5 days", "6 hours".
    static func days(_ seconds: Int64) -> String {
        seconds >= 86_400
            ? "\((Double(seconds) / 8_640).rounded() / 10) days" : "\(max(1, seconds / 3600)) hours"
    }
}
