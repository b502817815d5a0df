public import VigilModel
public import VigilStore

/// The controlled-substance ledger as CSV, for an inspector (21 CFR 1304; Part 11, 11.10(b)).
///
/// One row per receipt, dispense, waste, destruction, reported loss and count, in the order the activities happened (their
/// actual dates), each with the lot's running balance after it, the quantities, the participant, and every
/// signature: the printed name, key id and meaning (author or witness). A summary row per lot closes the file:
/// received − dispensed − wasted − destroyed − lost = on hand, over the whole log. A balance may go below zero:
/// the ledger shows what was recorded, and `inventory_negative` says so.
public enum LedgerExport {
    public static let header = [
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
        /// +1 adds to the balance, −1 takes from it, 0 leaves it (a count).
        var sign: Int64
        var details: String
    }

    /// The CSV for activities dated from `from` to `to` (inclusive, UTC dates), from a source of stored entries.
    public static func csv(
        from: CalendarDate, to: CalendarDate, anchors: [AnchorChange], entries: (Int64) async throws -> [StoredEntry]
    ) async throws -> String {
        var names = SignerNames(anchors: LogReplay.anchors(anchors))
        var rows: [Row] = []
        var substances: [String: String] = [:]
        var position: Int64 = 0
        while true {
            let batch = try await entries(position)
            guard let last = batch.last else { break }
            position = last.position
            for event in await LogReplay.decode(batch) {
                guard let event else { continue }
                names.apply(event)
                switch event.payload.data {
                case .inventoryReceived(let body):
                    substances[body.lot] = substances[body.lot] ?? body.substance
                    rows.append(
                        Row(
                            event: event, activity: "received", lot: body.lot, quantity: body.quantity, sign: 1,
                            details: "supplier: \(body.supplier)"))
                case .doseDispensed(let body):
                    rows.append(
                        Row(
                            event: event, activity: "dispensed", lot: body.lot, quantity: body.dose, sign: -1,
                            details: "\(body.kind.rawValue) dose"))
                case .doseWasted(let body):
                    rows.append(
                        Row(
                            event: event, activity: "wasted", lot: body.lot, quantity: body.quantity, sign: -1,
                            details: "reason: \(body.reason)"))
                case .inventoryDestroyed(let body):
                    rows.append(
                        Row(
                            event: event, activity: "destroyed", lot: body.lot, quantity: body.quantity, sign: -1,
                            details: "method: \(body.method); DEA Form 41: \(body.form41)"
                        )
                    )
                case .inventoryLossReported(let body):
                    rows.append(
                        Row(
                            event: event, activity: "lost", lot: body.lot, quantity: body.quantity, sign: -1,
                            details:
                                "\(body.kind.rawValue), loss \(body.lossId), discovered \(body.discoveredAt.rfc3339)"))
                case .inventoryCounted(let body):
                    rows.append(
                        Row(
                            event: event, activity: "counted", lot: body.lot, quantity: body.counted, sign: 0,
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
        var balances: [String: Milligrams] = [:]
        var totals:
            [String: (
                received: Milligrams, dispensed: Milligrams, wasted: Milligrams, destroyed: Milligrams, lost: Milligrams
            )] =
                [:]
        for row in rows {
            var balance = balances[row.lot] ?? .zero
            var details = row.details
            switch row.sign {
            case 1: balance = balance + row.quantity
            case -1: balance = balance - row.quantity
            default: details = "perpetual balance \(balance) mg; difference \(row.quantity - balance) mg"
            }
            balances[row.lot] = balance
            var total = totals[row.lot] ?? (.zero, .zero, .zero, .zero, .zero)
            switch row.activity {
            case "received": total.received = total.received + row.quantity
            case "dispensed": total.dispensed = total.dispensed + row.quantity
            case "wasted": total.wasted = total.wasted + row.quantity
            case "destroyed": total.destroyed = total.destroyed + row.quantity
            case "lost": total.lost = total.lost + row.quantity
            default: break
            }
            totals[row.lot] = total
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
        for lot in totals.keys.sorted() {
            let total = totals[lot]!
            let onHand = total.received - total.dispensed - total.wasted - total.destroyed - total.lost
            var fields = [
                "", "", "", "", "summary", lot, substances[lot] ?? "", onHand.description, onHand.description, "", "",
            ]
            fields.append(
                "received \(total.received) - dispensed \(total.dispensed) - wasted \(total.wasted) - destroyed \(total.destroyed) - lost \(total.lost) = on hand \(onHand) mg"
            )
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
