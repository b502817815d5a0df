import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VigilHTTP
import VigilModel
import VigilProjections
import VigilStore

extension Console {
    // MARK: - Session

    /// A dosing session: the dose timeline, the vitals chart against minutes from the initial dose (with the
    /// configured thresholds and the alerts), and the readings as a table.
    func session(_ id: String, _ viewer: ConsoleSessions.Session) async throws -> Response {
        let now = clock.now()
        guard let session = try await readModels.session(id) else {
            throw APIError(.notFound, code: "not_found", "no session with that id")
        }
        let alerts = try await readModels.alerts(status: nil, participant: session.participant, limit: 500).alerts
            .filter { $0.session == id }
        struct Dose {
            let at: String
            let minutes: String
            let dose: String
            let kind: String
            let lot: String
            let total: String
        }
        struct Reading {
            let at: String
            let minutes: String
            let systolic: String
            let diastolic: String
            let heartRate: String
            let temperature: String
            let spo2: String
        }
        struct Model {
            let id: String
            let participant: String
            let participantHref: String
            let number: String
            let started: String
            let ended: String
            let total: String
            let doses: [Dose]
            let chart: String
            let readings: [Reading]
            let alerts: [AlertRow]
            let asOf: Int64
        }
        var alertsAt: [Int64: [AlertView]] = [:]
        for alert in alerts {
            for cause in alert.causes {
                if let position = try await store.position(of: cause) { alertsAt[position, default: []].append(alert) }
            }
        }
        let chart = VitalsChart(session: session, alertsAt: alertsAt, rules: rules.value)
        let model = Model(
            id: session.id, participant: session.participant,
            participantHref: "/console/participants/" + Format.pathComponent(session.participant),
            number: session.number.map(String.init) ?? "", started: Format.time(session.startedAt),
            ended: Format.time(session.endedAt), total: Format.mg(session.totalDoseMg),
            doses: session.doses.map {
                Dose(
                    at: Format.time($0.at), minutes: Format.number($0.minutesFromInitialDose),
                    dose: Format.mg($0.doseMg),
                    kind: $0.kind.rawValue, lot: $0.lot, total: Format.mg($0.runningTotalMg))
            },
            chart: chart.svg,
            readings: session.vitals.map { reading in
                // Readings before the initial dose count back from it (negative), as the chart draws them.
                let minutes =
                    reading.minutesFromInitialDose
                    ?? session.initialDoseAt.map {
                        (Double(reading.at.microsecondsSinceEpoch - $0.microsecondsSinceEpoch) / 6e6).rounded() / 10
                    }
                return Reading(
                    at: Format.time(reading.at), minutes: Format.number(minutes),
                    systolic: Format.number(reading.systolic), diastolic: Format.number(reading.diastolic),
                    heartRate: Format.number(reading.heartRate),
                    temperature: reading.temperatureC.map { Format.tenths($0) } ?? "",
                    spo2: Format.number(reading.spo2))
            },
            alerts: AlertRow.triage(alerts).map { AlertRow($0, now: now) }, asOf: session.asOf)
        return page(
            "session", title: "Session \(session.id)", model: model, viewer: viewer, current: "/console/participants")
    }

    // MARK: - Alerts

    /// Alerts filtered by status, severity, rule and participant, a page at a time in log order.
    func alerts(_ request: Request, _ viewer: ConsoleSessions.Session) async throws -> Response {
        let now = clock.now()
        let query = request.uri.queryParameters
        func choice<T: RawRepresentable>(_ name: String, _: T.Type) throws -> T? where T.RawValue == String {
            guard let text = query[name[...]], !text.isEmpty else { return nil }
            guard let value = T(rawValue: String(text)) else {
                throw APIError(.badRequest, code: "invalid_query", "\(name) is not one of the choices offered")
            }
            return value
        }
        let status = try choice("status", AlertView.Status.self)
        let severity = try choice("severity", AlertSeverity.self)
        let rule = try choice("rule", AlertRule.self)
        let participant = query["participant"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let after = try VigilAPI.integerParameter(query["after"], name: "after", default: 0, range: 0...Int64.max)
        let list = try await readModels.alerts(
            status: status, participant: participant, rule: rule, severity: severity, after: after, limit: 100)
        struct Option {
            let value: String
            let label: String
            let selected: Bool
        }
        struct Model {
            let alerts: [AlertRow]
            let statuses: [Option]
            let severities: [Option]
            let rules: [Option]
            let participant: String
            let next: String?
            let asOf: Int64
        }
        func options(_ values: [(String, String)], selected: String?) -> [Option] {
            [Option(value: "", label: "any", selected: selected == nil)]
                + values.map { Option(value: $0.0, label: $0.1, selected: $0.0 == selected) }
        }
        var nextQuery = URLComponents()
        nextQuery.queryItems = [
            ("status", status?.rawValue), ("severity", severity?.rawValue), ("rule", rule?.rawValue),
            ("participant", participant), ("after", list.next.map(String.init)),
        ].compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
        let model = Model(
            alerts: list.alerts.map { AlertRow($0, now: now) },
            statuses: options(AlertView.Status.allCases.map { ($0.rawValue, $0.rawValue) }, selected: status?.rawValue),
            severities: options(
                AlertSeverity.allCases.reversed().map { ($0.rawValue, $0.rawValue) }, selected: severity?.rawValue),
            rules: options(AlertRule.allCases.map { ($0.rawValue, Format.rule($0)) }, selected: rule?.rawValue),
            participant: participant ?? "",
            next: list.next == nil ? nil : "/console/alerts" + (nextQuery.string ?? ""), asOf: list.asOf)
        return page("alerts", title: "Alerts", model: model, viewer: viewer, live: true, current: "/console/alerts")
    }

    /// One alert: what raised it (each cause with who signed it), its handling, and the signed actions.
    func alert(_ id: String, _ viewer: ConsoleSessions.Session) async throws -> Response {
        let now = clock.now()
        guard let alertId = EventID(id), let alert = try await readModels.alert(alertId) else {
            throw APIError(.notFound, code: "not_found", "no alert with that id")
        }
        struct Action {
            let verb: String
            let name: String
            let at: String
            let note: String
            let position: Int64
        }
        struct Model {
            let alert: AlertRow
            let causes: [EventRow]
            let actions: [Action]
            let canAcknowledge: Bool
            let canResolve: Bool
            let position: Int64
        }
        var positions: [Int64] = []
        var unknown: [String] = []
        for cause in alert.causes {
            if let position = try await store.position(of: cause) {
                positions.append(position)
            } else {
                unknown.append(cause.description)
            }
        }
        let causes = try await eventRows(at: positions) + unknown.map(EventRow.missing)
        let actions = [("Acknowledged", alert.acknowledged), ("Resolved", alert.resolved)].compactMap { verb, action in
            action.map {
                Action(verb: verb, name: $0.name, at: Format.time($0.at), note: $0.note, position: $0.position)
            }
        }
        let model = Model(
            alert: AlertRow(alert, now: now), causes: causes, actions: actions,
            canAcknowledge: alert.status == .open, canResolve: alert.status != .resolved, position: alert.position)
        return page(
            "alert", title: "Alert \(String(id.prefix(8)))", model: model, viewer: viewer, live: true,
            current: "/console/alerts")
    }

    /// An event as the log holds it: its type and time, its values, and who signed it (author, then witnesses,
    /// by printed name and role: 21 CFR 11.50).
    struct EventRow {
        let id: String
        let position: String
        let type: String
        let occurred: String
        let participant: String?
        let session: String?
        let sessionHref: String?
        let details: [Detail]
        let signers: [Signer]
        let found: Bool

        struct Detail {
            let name: String
            let value: String
        }

        struct Signer {
            let name: String
            let role: String
            let keyid: String
            let part: String
        }

        static func missing(_ id: String) -> EventRow {
            EventRow(
                id: id, position: "", type: "", occurred: "", participant: nil, session: nil, sessionHref: nil,
                details: [], signers: [], found: false)
        }
    }

    /// The events at these log positions, in the order given, their signers named in one read.
    func eventRows(at positions: [Int64]) async throws -> [EventRow] {
        let entries = try await store.entries(at: positions)
        let decoded = entries.map { entry -> (StoredEntry, Envelope, JSONObject)? in
            guard let envelope = try? Envelope.decode(entry.envelope),
                case .object(let payload)? = try? JSONParser.parse(envelope.payload)
            else { return nil }
            return (entry, envelope, payload)
        }
        let names = try await readModels.signers(
            Set(decoded.compactMap { $0?.1.signatures.map(\.keyID) }.joined()))
        return zip(entries, decoded).map { entry, decoded in
            guard let (entry, envelope, payload) = decoded else { return .missing(entry.eventID.description) }
            return Self.eventRow(entry, envelope: envelope, payload: payload, names: names)
        }
    }

    static func eventRow(
        _ entry: StoredEntry, envelope: Envelope, payload: JSONObject, names: [KeyID: SignerView?]
    ) -> EventRow {
        func text(_ value: JSONValue?) -> String? {
            switch value {
            case .string(let string)?: string
            case .number(let number)?: number.description
            case .bool(let bool)?: bool ? "yes" : "no"
            case .array(let items)?: items.compactMap { text($0) }.joined(separator: ", ")
            case .object(let object)?:
                object.keys.sorted().map { "\($0): \(text(object[$0]) ?? "")" }.joined(separator: ", ")
            default: nil
            }
        }
        var details: [EventRow.Detail] = []
        if case .object(let data)? = payload["data"] {
            details = data.keys.sorted().map { EventRow.Detail(name: $0, value: text(data[$0]) ?? "") }
        }
        let session = text(payload["session"])
        return EventRow(
            id: entry.eventID.description, position: String(entry.position), type: text(payload["type"]) ?? "",
            occurred: text(payload["occurredAt"]).flatMap(Timestamp.init(rfc3339:)).map(Format.time) ?? "",
            participant: text(payload["participant"]), session: session,
            sessionHref: session.map { "/console/sessions/" + Format.pathComponent($0) }, details: details,
            signers: envelope.signatures.enumerated().map { index, signature in
                let signer = names[signature.keyID] ?? nil
                return EventRow.Signer(
                    name: signer?.name ?? "unregistered key", role: signer?.role.rawValue ?? "",
                    keyid: signature.keyID.short, part: index == 0 ? "author" : "witness")
            }, found: true)
    }

    // MARK: - Inventory

    /// The lots with their balances and last counts, losses and their Form 106 reports, and the ledger as CSV.
    func inventory(_ request: Request, _ viewer: ConsoleSessions.Session) async throws -> Response {
        let list = try await readModels.inventory()
        struct Lot {
            let lot: String
            let href: String
            let substance: String
            let received: String
            let dispensed: String
            let wasted: String
            let destroyed: String
            let lost: String
            let onHand: String
            let negative: Bool
            let known: Bool
            let lastCount: String
            let difference: String
            let discrepancy: Bool
            let lastActivity: String
        }
        struct Loss {
            let lossId: String
            let lot: String
            let quantity: String
            let kind: String
            let discovered: String
            let reference: String?
            let filed: String
        }
        struct Model {
            let lots: [Lot]
            let losses: [Loss]
            let from: String
            let to: String
            let asOf: Int64
        }
        let today = CalendarDate(daysSinceEpoch: clock.now().microsecondsSinceEpoch.floorDivided(by: 86_400_000_000))
        let model = Model(
            lots: list.lots.map { lot in
                Lot(
                    lot: lot.lot, href: "/console/lots/" + Format.pathComponent(lot.lot),
                    substance: lot.substance ?? "", received: Format.mg(lot.receivedMg),
                    dispensed: Format.mg(lot.dispensedMg), wasted: Format.mg(lot.wastedMg),
                    destroyed: Format.mg(lot.destroyedMg), lost: Format.mg(lot.lostMg), onHand: Format.mg(lot.onHandMg),
                    negative: lot.onHandMg < Milligrams(0), known: lot.received,
                    lastCount: lot.lastCount.map { "\(Format.mg($0.countedMg)) on \(Format.time($0.at))" } ?? "never",
                    difference: lot.lastCount.map { Format.mg($0.differenceMg) } ?? "",
                    discrepancy: lot.lastCount.map { $0.differenceMg != Milligrams(0) } ?? false,
                    lastActivity: Format.time(lot.lastActivity))
            },
            losses: list.losses.map {
                Loss(
                    lossId: $0.lossId, lot: $0.lot, quantity: Format.mg($0.quantityMg), kind: $0.kind.rawValue,
                    discovered: Format.time($0.discoveredAt), reference: $0.reference, filed: Format.time($0.filedAt))
            },
            from: CalendarDate(daysSinceEpoch: today.daysSinceEpoch - 90).iso8601, to: today.iso8601,
            asOf: list.asOf)
        return page("inventory", title: "Inventory", model: model, viewer: viewer, current: "/console/inventory")
    }

    /// The controlled-substance ledger between two dates as CSV, with signers and witnesses (the same file as
    /// `GET /v1/exports/ledger`).
    func ledger(_ request: Request) async throws -> Response {
        try await VigilAPI.ledger(request, store: store)
    }

    // MARK: - Integrity

    struct IntegritySummary {
        struct Check {
            let name: String
            let ok: Bool
            let state: String
            let detail: String
        }

        let ok: Bool
        let state: String
        let size: Int64
        let chainHash: String
        /// The last checkpoint vigild signed, absent during its first interval.
        let checkpoint: SignedCheckpoint?
        let checks: [Check]
    }

    struct SignedCheckpoint {
        let size: Int64
        let seq: Int64
        /// The checkpoint's text exactly as signed.
        let note: String
    }

    func integritySummary() async throws -> IntegritySummary {
        let report = health()
        let head = store.head
        let checkpoint = try await store.latestCheckpoint()
        return IntegritySummary(
            ok: report.status == .ok, state: report.status == .ok ? "OK" : "DEGRADED", size: head.size,
            chainHash: Hex.encode(head.chainHash),
            checkpoint: checkpoint.map {
                SignedCheckpoint(size: $0.size, seq: $0.seq, note: String(decoding: $0.note, as: UTF8.self))
            },
            checks: report.checks.map {
                IntegritySummary.Check(name: $0.name, ok: $0.ok, state: $0.ok ? "OK" : "FAILING", detail: $0.detail)
            })
    }

    /// The log's size and head, the last signed checkpoint, and the last verification and its result.
    func integrity(_ viewer: ConsoleSessions.Session) async throws -> Response {
        struct Model {
            let summary: IntegritySummary
        }
        return page(
            "integrity", title: "Integrity", model: Model(summary: try await integritySummary()), viewer: viewer,
            current: "/console/integrity")
    }

    // MARK: - The officer's key

    func keyPage(_ viewer: ConsoleSessions.Session) -> Response {
        struct Model {}
        return page("key", title: "My signing key", model: Model(), viewer: viewer, current: "/console/key")
    }
}
