package import VigilModel
package import VigilStore

/// The controlled-substance ledger as CSV, for an inspector (21 CFR 1304; Part 11, 11.10(b)).
///
/// One row per receipt, dispense, waste, destruction, reported loss and count, in the order the activities happened (their
/// actual dates), each with the lot's running balance after it, the quantities, the participant, and every
/// signature: the printed name, key id and meaning (author or witness). A summary row per lot closes the file:
/// received − dispensed − wasted − destroyed − lost = on hand, over the whole log. A balance may go below zero:
/// the ledger shows what was recorded, and `inventory_negative` says so.
package enum LedgerExport {
    package static let header = [
        "occurred_at", "recorded_at", "position", "event_id", "activity", "lot", "substance", "quantity_mg",
        "balance_after_mg",
        "participant", "session", "details", "author_name", "author_keyid", "author_meaning", "witness_1_name",
        "witness_1_keyid",
        "witness_1_meaning", "witness_2_name", "witness_2_keyid", "witness_2_meaning", "witnesses_required",
        "witnesses_present",
    ]

    struct Row {
        var event: StoredEvent
        var activity: String
        var lot: String
        var quantity: Milligrams
        var details: String
    }

    /// The CSV for activities dated from `from` to `to` (inclusive, UTC dates), from a source of stored entries,
    /// decoded where `decoding` says (the daemon: beside the requests).
    package static func csv(
        from: CalendarDate, to: CalendarDate, anchors: [AnchorChange], decoding: LogReplay.Decoding = .everyCore,
        entries: (Int64) async throws -> [StoredEntry]
    ) async throws -> String {
        var names = SignerNames(anchors: LogReplay.anchors(anchors))
        var rows: [Row] = []
        var substances: [String: String] = [:]
        var position: Int64 = 0
        while true {
            let batch = try await entries(position)
            guard let last = batch.last else { break }
            position = last.position
            for event in await LogReplay.decode(batch, decoding) {
                guard let event else { continue }
                names.apply(event)
                switch event.payload.data {
                case .inventoryReceived(let body):
                    substances[body.lot] = substances[body.lot] ?? body.substance
                    rows.append(
                        Row(
                            event: event, activity: "received", lot: body.lot, quantity: body.quantity,
                            details: "supplier: \(body.supplier)"))
                case .doseDispensed(let body):
                    rows.append(
                        Row(
                            event: event, activity: "dispensed", lot: body.lot, quantity: body.dose,
                            details: "\(body.kind.rawValue) dose"))
                case .doseWasted(let body):
                    rows.append(
                        Row(
                            event: event, activity: "wasted", lot: body.lot, quantity: body.quantity,
                            details: "reason: \(body.reason)"))
                case .inventoryDestroyed(let body):
                    rows.append(
                        Row(
                            event: event, activity: "destroyed", lot: body.lot, quantity: body.quantity,
                            details: "method: \(body.method); DEA Form 41: \(body.form41)"
                        )
                    )
                case .inventoryLossReported(let body):
                    rows.append(
                        Row(
                            event: event, activity: "lost", lot: body.lot, quantity: body.quantity,
                            details:
                                "\(body.kind.rawValue), loss \(body.lossId), discovered \(body.discoveredAt.rfc3339)"))
                case .inventoryCounted(let body):
                    rows.append(
                        Row(
                            event: event, activity: "counted", lot: body.lot, quantity: body.counted,
                            details: ""))
                default:
                    break
                }
            }
        }
        rows.sort {
            ($0.event.payload.occurredAt, $0.event.position) < ($1.event.payload.occurredAt, $1.event.position)
        }

        var lines = [header.map(field).joined(separator: ",")]
        // Applied in the order the activities happened: each lot's on-hand is its running balance.
        var totals: [String: LotTotals] = [:]
        for row in rows {
            var details = row.details
            if case .inventoryCounted = row.event.payload.data {
                let balance = totals[row.lot]?.onHand ?? .zero
                details = "perpetual balance \(balance) mg; difference \(row.quantity - balance) mg"
            }
            totals[row.lot, default: LotTotals()].add(row.event.payload.data)
            let balance = totals[row.lot]!.onHand
            let day = CalendarDate(
                daysSinceEpoch: row.event.payload.occurredAt.microsecondsSinceEpoch.floorDivided(by: 86_400_000_000))
            guard day >= from && day <= to else { continue }
            let payload = row.event.payload
            let signers = row.event.signers
            var fields = [
                payload.occurredAt.rfc3339, row.event.recordedAt.rfc3339, String(row.event.position),
                payload.id.description, row.activity,
                row.lot, substances[row.lot] ?? "", row.quantity.description, balance.description,
                payload.participant ?? "",
                payload.session ?? "", details, names.name(of: signers[0]), signers[0].hex, "author",
            ]
            for index in 1...2 {
                if index < signers.count {
                    fields += [names.name(of: signers[index]), signers[index].hex, "witness"]
                } else {
                    fields += ["", "", ""]
                }
            }
            fields += [String(payload.type.requiredWitnesses), String(signers.count - 1)]
            lines.append(fields.map(field).joined(separator: ","))
        }
        for (lot, total) in totals.sorted(by: { $0.key < $1.key }) {
            var fields = [
                "", "", "", "", "summary", lot, substances[lot] ?? "", total.onHand.description,
                total.onHand.description, "", "",
            ]
            fields.append(total.equation)
            fields += Array(repeating: "", count: header.count - fields.count)
            lines.append(fields.map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// RFC 4180 quoting; a leading = + - @ is prefixed with ' so that spreadsheets do not run it as a formula.
    package static func field(_ text: String) -> String {
        var value = text
        if let first = value.first, "=+-@".contains(first), Double(value) == nil { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// A lot's totals from the events that move its stock, and the perpetual balance they give: one place for the
/// equation the ledger, the DEA record set and the views all state.
package struct LotTotals: Sendable {
    package var received = Milligrams.zero
    package var dispensed = Milligrams.zero
    package var wasted = Milligrams.zero
    package var destroyed = Milligrams.zero
    package var lost = Milligrams.zero

    package init() {}

    /// received − dispensed − wasted − destroyed − lost; below zero when more was taken than was on record.
    package var onHand: Milligrams { received - dispensed - wasted - destroyed - lost }

    /// "received … - dispensed … - wasted … - destroyed … - lost … = on hand … mg".
    package var equation: String {
        "received \(received) - dispensed \(dispensed) - wasted \(wasted) - destroyed \(destroyed) - lost \(lost) = on hand \(onHand) mg"
    }

    /// Adds an event's quantity to the total it moves (a count moves none).
    package mutating func add(_ data: EventData) {
        switch data {
        case .inventoryReceived(let body): received = received + body.quantity
        case .doseDispensed(let body): dispensed = dispensed + body.dose
        case .doseWasted(let body): wasted = wasted + body.quantity
        case .inventoryDestroyed(let body): destroyed = destroyed + body.quantity
        case .inventoryLossReported(let body): lost = lost + body.quantity
        default: break
        }
    }
}

/// The printed names of the log's signers as its events register them: bounded by the number of keys.
package struct SignerNames {
    private var names: [KeyID: String] = [:]

    package init(anchors: [TrustAnchor]) {
        for anchor in anchors { names[anchor.keyID] = anchor.name }
    }

    package mutating func apply(_ event: StoredEvent) {
        if case .keyRegistered(let body) = event.payload.data { names[body.keyID] = body.name }
    }

    package func name(of key: KeyID) -> String { names[key] ?? "unknown key \(key.short)" }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
