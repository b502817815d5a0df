import ArgumentParser
import Foundation
import VigilModel
import VigilProjections

/// GETs a read model from the daemon; prints the daemon's JSON with --json, otherwise decodes it as `View` (its
/// one encoding, shared with the daemon) and hands it to `render`.
private func query<View: Decodable>(
    _ server: ServerOptions, _ path: String, as type: View.Type, json: Bool, render: (View) throws -> String
) async throws {
    let (status, body) = try await DaemonClient.send("GET", server.baseURL + path, token: server.bearer)
    guard status == 200 else {
        throw CLIFailure(DaemonClient.describeError(status: status, body: body), status: status == 404 ? 3 : 1)
    }
    if json {
        print(String(decoding: Files.trimmed(body), as: UTF8.self))
        return
    }
    let view: View
    do {
        view = try ViewCoding.decode(View.self, from: Data(body))
    } catch {
        throw CLIFailure("unexpected answer from the daemon: \(error)")
    }
    print(try render(view))
}

/// A table cell: the value's printed form, or empty when there is none.
func cell(_ value: (some CustomStringConvertible)?) -> String {
    value.map(\.description) ?? ""
}

func cell(_ flag: Bool?) -> String {
    flag.map { $0 ? "yes" : "no" } ?? ""
}

/// A number without a trailing ".0".
func cell(_ number: Double?) -> String {
    guard let number else { return "" }
    return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
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
            try await query(server, "/v1/participants/\(code)", as: ParticipantView.self, json: json) { view in
                var lines = ["participant \(view.code), site \(cell(view.site)), enrolled \(cell(view.enrolledAt))"]
                let medications = view.medications.map { "\($0.name)\($0.serotonergic ? " (SEROTONERGIC)" : "")" }
                lines.append("medications: \(medications.isEmpty ? "none" : medications.joined(separator: ", "))")
                lines.append("sessions: \(view.sessions.joined(separator: ", "))")
                if let vitals = view.latestVitals {
                    let values = [
                        ("systolic", vitals.systolic), ("diastolic", vitals.diastolic), ("heartRate", vitals.heartRate),
                        ("temperatureC", vitals.temperatureC), ("spo2", vitals.spo2),
                    ].compactMap { name, value in value.map { "\(name) \(cell($0))" } }
                    lines.append("latest vitals (\(vitals.at)): \(values.joined(separator: ", "))")
                }
                let open = view.openAlerts.map(\.description).joined(separator: ", ")
                lines.append("open alerts: \(open.isEmpty ? "none" : open)")
                let days = view.followUp.map(\.days.count).max() ?? 0
                var rows = [["SESSION"] + (0..<days).map { "DAY \($0 + 1)" }]
                for grid in view.followUp {
                    rows.append([grid.session] + grid.days.map(\.status.rawValue))
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
            try await query(server, "/v1/sessions/\(id)", as: SessionView.self, json: json) { view in
                var lines = [
                    "session \(view.id) of \(view.participant), number \(cell(view.number)); started \(cell(view.startedAt)), ended \(cell(view.endedAt))",
                    "total dose: \(view.totalDoseMg) mg",
                ]
                var doses = [["AT", "MIN FROM INITIAL", "KIND", "DOSE MG", "RUNNING TOTAL MG", "LOT"]]
                for dose in view.doses {
                    doses.append([
                        cell(dose.at), cell(dose.minutesFromInitialDose), dose.kind.rawValue, cell(dose.doseMg),
                        cell(dose.runningTotalMg), dose.lot,
                    ])
                }
                lines.append(Table.render(doses))
                var vitals = [["AT", "MIN FROM INITIAL", "SYSTOLIC", "DIASTOLIC", "HEART RATE", "TEMP C", "SPO2"]]
                for reading in view.vitals {
                    vitals.append([
                        cell(reading.at), cell(reading.minutesFromInitialDose), cell(reading.systolic),
                        cell(reading.diastolic), cell(reading.heartRate), cell(reading.temperatureC),
                        cell(reading.spo2),
                    ])
                }
                let peaks = view.peaks
                vitals.append([
                    "peak", "", cell(peaks.systolic), cell(peaks.diastolic), cell(peaks.heartRate),
                    cell(peaks.temperatureC), cell(peaks.spo2),
                ])
                lines.append(Table.render(vitals))
                let events = view.adverseEvents.joined(separator: ", ")
                lines.append("adverse events: \(events.isEmpty ? "none" : events)")
                return lines.joined(separator: "\n")
            }
        }
    }
}

struct Inventory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Show every lot's perpetual balance and last count, and reported losses (pharmacy, auditor or officer token)."
    )

    @OptionGroup var server: ServerOptions

    @Flag(help: "Print the daemon's JSON.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            try await query(server, "/v1/inventory", as: LotList.self, json: json) { list in
                var rows = [
                    [
                        "LOT", "SUBSTANCE", "RECEIVED", "DISPENSED", "WASTED", "DESTROYED", "LOST", "ON HAND",
                        "LAST COUNT", "DIFFERENCE",
                    ]
                ]
                for lot in list.lots {
                    rows.append([
                        lot.lot + (lot.received ? "" : " (NO RECEIPT)"), cell(lot.substance), cell(lot.receivedMg),
                        cell(lot.dispensedMg), cell(lot.wastedMg), cell(lot.destroyedMg), cell(lot.lostMg),
                        cell(lot.onHandMg) + (lot.onHandMg.micrograms < 0 ? " NEGATIVE" : ""),
                        lot.lastCount.map { "\($0.countedMg) (\($0.at))" } ?? "", cell(lot.lastCount?.differenceMg),
                    ])
                }
                var text = Table.render(rows) + "\n(quantities in mg)"
                if !list.losses.isEmpty {
                    var losses = [["LOSS", "LOT", "KIND", "MG", "DISCOVERED", "DEA FORM 106", "FILED"]]
                    for loss in list.losses {
                        losses.append([
                            loss.lossId, loss.lot, loss.kind.rawValue, cell(loss.quantityMg), cell(loss.discoveredAt),
                            loss.reference ?? "NOT FILED", cell(loss.filedAt),
                        ])
                    }
                    text += "\n\nlosses:\n" + Table.render(losses)
                }
                return text
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
            try await query(
                server, "/v1/adverse-events" + (open ? "?open=true" : ""), as: AdverseEventList.self, json: json
            ) { list in
                var rows = [
                    [
                        "PARTICIPANT", "AE", "TERM", "GRADE", "SERIOUS", "EXPEDITED", "DAY 0", "DUE", "SUBMITTED",
                        "OUTCOME",
                    ]
                ]
                for event in list.adverseEvents {
                    rows.append([
                        event.participant, event.aeId, event.term, String(event.severity), cell(event.serious),
                        cell(event.requiresExpeditedReport), cell(event.awareAt), cell(event.reportDueAt),
                        cell(event.submittedAt), cell(event.outcome?.rawValue),
                    ])
                }
                return Table.render(rows)
            }
        }
    }
}
