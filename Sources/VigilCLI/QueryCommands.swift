import ArgumentParser
import Foundation
import VigilModel

/// GETs a JSON read from the daemon; prints it with --json, otherwise hands it to `render`.
private func query(
    _ server: ServerOptions, _ path: String, json: Bool, render: (JSONObject) throws -> String
) async throws {
    let (status, body) = try await DaemonClient.send("GET", server.baseURL + path, token: server.bearer)
    guard status == 200 else {
        throw CLIFailure(DaemonClient.describeError(status: status, body: body), status: status == 404 ? 3 : 1)
    }
    if json {
        print(String(decoding: Files.trimmed(body), as: UTF8.self))
        return
    }
    guard case .object(let root)? = try? JSONParser.parse(body) else {
        throw CLIFailure("unexpected answer from the daemon")
    }
    print(try render(root))
}

/// Plain text of a JSON value for a table cell.
func cell(_ value: JSONValue?) -> String {
    switch value {
    case .string(let text)?: text
    case .number(let number)?: number.literal
    case .bool(let flag)?: flag ? "yes" : "no"
    case .array(let items)?: items.map { cell($0) }.joined(separator: ", ")
    case .object?: "…"
    case .null?, nil: ""
    }
}

func objects(_ value: JSONValue?) -> [JSONObject] {
    guard case .array(let items)? = value else { return [] }
    return items.compactMap { if case .object(let object) = $0 { object } else { nil } }
}

struct Alerts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List alerts (officer token).")

    @OptionGroup var server: ServerOptions

    @Option(help: "open, acknowledged or resolved.")
    var status: String?

    @Option(help: "Only this participant's alerts.")
    var participant: String?

    @Flag(help: "Print the daemon's JSON.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            var parameters: [String] = []
            if let status { parameters.append("status=\(status)") }
            if let participant { parameters.append("participant=\(participant)") }
            let path = "/v1/alerts" + (parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&"))
            try await query(server, path, json: json) { root in
                var rows = [["ALERT", "RAISED AT", "RULE", "SEVERITY", "PARTICIPANT", "STATUS", "MESSAGE"]]
                for alert in objects(root["alerts"]) {
                    rows.append([
                        String(cell(alert["alertId"]).prefix(13)), cell(alert["raisedAt"]), cell(alert["rule"]),
                        cell(alert["severity"]),
                        cell(alert["participant"]), cell(alert["status"]), cell(alert["message"]),
                    ])
                }
                return Table.render(rows)
            }
        }
    }
}

struct Participant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Show a participant: medications, sessions, latest vitals, open alerts, the follow-up grid (officer token)."
    )

    @OptionGroup var server: ServerOptions

    @Argument(help: "The participant's code.")
    var code: String

    @Flag(help: "Print the daemon's JSON.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            try await query(server, "/v1/participants/\(code)", json: json) { root in
                var lines = [
                    "participant \(cell(root["code"])), site \(cell(root["site"])), enrolled \(cell(root["enrolledAt"]))"
                ]
                let medications = objects(root["medications"]).map {
                    "\(cell($0["name"]))\($0["serotonergic"] == .bool(true) ? " (SEROTONERGIC)" : "")"
                }
                lines.append("medications: \(medications.isEmpty ? "none" : medications.joined(separator: ", "))")
                lines.append("sessions: \(cell(root["sessions"]))")
                if case .object(let vitals)? = root["latestVitals"] {
                    let values = ["systolic", "diastolic", "heartRate", "temperatureC", "spo2"].compactMap { key in
                        vitals[key].map { "\(key) \(cell($0))" }
                    }
                    lines.append("latest vitals (\(cell(vitals["at"]))): \(values.joined(separator: ", "))")
                }
                lines.append("open alerts: \(cell(root["openAlerts"]).isEmpty ? "none" : cell(root["openAlerts"]))")
                var rows = [["SESSION", "DAY 1", "DAY 2", "DAY 3", "DAY 4", "DAY 5", "DAY 6", "DAY 7"]]
                for grid in objects(root["followUp"]) {
                    rows.append([cell(grid["session"])] + objects(grid["days"]).map { cell($0["status"]) })
                }
                lines.append("follow-up:\n" + Table.render(rows))
                return lines.joined(separator: "\n")
            }
        }
    }
}

struct Session: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a session: doses with running totals, vitals and peaks (officer token).")

    @OptionGroup var server: ServerOptions

    @Argument(help: "The session id.")
    var id: String

    @Flag(help: "Print the daemon's JSON.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            try await query(server, "/v1/sessions/\(id)", json: json) { root in
                var lines = [
                    "session \(cell(root["id"])) of \(cell(root["participant"])), number \(cell(root["number"])); started \(cell(root["startedAt"])), ended \(cell(root["endedAt"]))",
                    "total dose: \(cell(root["totalDoseMg"])) mg",
                ]
                var doses = [["AT", "MIN FROM INITIAL", "KIND", "DOSE MG", "RUNNING TOTAL MG", "LOT"]]
                for dose in objects(root["doses"]) {
                    doses.append([
                        cell(dose["at"]), cell(dose["minutesFromInitialDose"]), cell(dose["kind"]),
                        cell(dose["doseMg"]),
                        cell(dose["runningTotalMg"]), cell(dose["lot"]),
                    ])
                }
                lines.append(Table.render(doses))
                var vitals = [["AT", "MIN FROM INITIAL", "SYSTOLIC", "DIASTOLIC", "HEART RATE", "TEMP C", "SPO2"]]
                for reading in objects(root["vitals"]) {
                    vitals.append([
                        cell(reading["at"]), cell(reading["minutesFromInitialDose"]), cell(reading["systolic"]),
                        cell(reading["diastolic"]),
                        cell(reading["heartRate"]), cell(reading["temperatureC"]), cell(reading["spo2"]),
                    ])
                }
                if case .object(let peaks)? = root["peaks"] {
                    vitals.append([
                        "peak", "", cell(peaks["systolic"]), cell(peaks["diastolic"]), cell(peaks["heartRate"]),
                        cell(peaks["temperatureC"]),
                        cell(peaks["spo2"]),
                    ])
                }
                lines.append(Table.render(vitals))
                lines.append(
                    "adverse events: \(cell(root["adverseEvents"]).isEmpty ? "none" : cell(root["adverseEvents"]))")
                return lines.joined(separator: "\n")
            }
        }
    }
}

struct Inventory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every lot's perpetual balance and last count (auditor or officer token).")

    @OptionGroup var server: ServerOptions

    @Flag(help: "Print the daemon's JSON.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            try await query(server, "/v1/inventory", json: json) { root in
                var rows = [
                    [
                        "LOT", "SUBSTANCE", "RECEIVED", "DISPENSED", "WASTED", "DESTROYED", "ON HAND", "LAST COUNT",
                        "DIFFERENCE",
                    ]
                ]
                for lot in objects(root["lots"]) {
                    var counted = "", difference = ""
                    if case .object(let count)? = lot["lastCount"] {
                        counted = "\(cell(count["countedMg"])) (\(cell(count["at"])))"
                        difference = cell(count["differenceMg"])
                    }
                    rows.append([
                        cell(lot["lot"]), cell(lot["substance"]), cell(lot["receivedMg"]), cell(lot["dispensedMg"]),
                        cell(lot["wastedMg"]),
                        cell(lot["destroyedMg"]), cell(lot["onHandMg"]), counted, difference,
                    ])
                }
                return Table.render(rows) + "\n(quantities in mg)"
            }
        }
    }
}

struct AdverseEvents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adverse-events", abstract: "The adverse-event register with regulatory due dates (officer token)."
    )

    @OptionGroup var server: ServerOptions

    @Flag(help: "Only events whose expedited report is due and not yet submitted.")
    var open = false

    @Flag(help: "Print the daemon's JSON.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            try await query(server, "/v1/adverse-events" + (open ? "?open=true" : ""), json: json) { root in
                var rows = [
                    [
                        "PARTICIPANT", "AE", "TERM", "GRADE", "SERIOUS", "EXPEDITED", "DAY 0", "DUE", "SUBMITTED",
                        "OUTCOME",
                    ]
                ]
                for event in objects(root["adverseEvents"]) {
                    rows.append([
                        cell(event["participant"]), cell(event["aeId"]), cell(event["term"]), cell(event["severity"]),
                        cell(event["serious"]),
                        cell(event["requiresExpeditedReport"]), cell(event["awareAt"]), cell(event["reportDueAt"]),
                        cell(event["submittedAt"]),
                        cell(event["outcome"]),
                    ])
                }
                return Table.render(rows)
            }
        }
    }
}
