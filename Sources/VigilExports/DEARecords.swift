package import VigilModel
import VigilProjections
package import VigilStore

/// The DEA record set of 21 CFR 1304 from the signed log, as CSV files an inspector opens in any spreadsheet.
///
/// - `receipts.csv`: every quantity received (date, lot, substance, quantity, supplier, who received it);
/// - `dispensing.csv`: every dispense (date, quantity, participant code, who dispensed, who witnessed);
/// - `disposals.csv`: waste, destruction and reported theft or loss, with the reason or method, the Form 41 or
///   Form 106 reference and the witnesses by name;
/// - `form41.csv`: the destructions alone, as DEA Form 41 asks: substance, quantity, method, two witnesses;
/// - `inventory.csv`: every physical count (the biennial inventory and the others): lot, substance, exact count,
///   the perpetual balance then, the counters' names, and whether it was taken at the opening (before noon in the
///   clinic's zone) or the close of business;
/// - `summary.csv`: per lot, received − dispensed − wasted − destroyed − lost = on hand, over the whole log.
///
/// Every row carries the log position and event id, so it can be checked against the signed log. Rows come in
/// log order, each dated with when it happened. Free text is quoted, and a cell that would start a formula is
/// prefixed with `'`.
package enum DEARecords {
    package enum Selection: Sendable {
        /// One lot's records, whenever they happened.
        case lot(String)
        /// Every lot's records that happened in the range (both ends included).
        case period(from: Timestamp, to: Timestamp)
    }

    package static let files: [(name: String, header: [String])] = [
        (
            "receipts.csv",
            [
                "occurred_at", "position", "event_id", "lot", "substance", "quantity_mg", "supplier", "received_by",
                "received_by_keyid",
            ]
        ),
        (
            "dispensing.csv",
            [
                "occurred_at", "position", "event_id", "lot", "substance", "quantity_mg", "participant", "session",
                "kind",
                "dispensed_by", "dispensed_by_keyid", "witness", "witness_keyid",
            ]
        ),
        (
            "disposals.csv",
            [
                "occurred_at", "position", "event_id", "lot", "substance", "activity", "quantity_mg",
                "reason_or_method",
                "dea_form", "reference", "recorded_by", "recorded_by_keyid", "witness_1", "witness_1_keyid",
                "witness_2",
                "witness_2_keyid",
            ]
        ),
        (
            "form41.csv",
            [
                "occurred_at", "position", "event_id", "lot", "substance", "quantity_mg", "method", "form41",
                "destroyed_by", "witness_1", "witness_2",
            ]
        ),
        (
            "inventory.csv",
            [
                "occurred_at", "business", "position", "event_id", "lot", "substance", "counted_mg", "perpetual_mg",
                "difference_mg", "counted_by", "counted_by_keyid", "witness", "witness_keyid",
            ]
        ),
        (
            "summary.csv",
            ["lot", "substance", "received_mg", "dispensed_mg", "wasted_mg", "destroyed_mg", "lost_mg", "on_hand_mg"]
        ),
    ]

    /// Reads the log through `fetch` and hands each file's rows to `write(file, fields)` as they are made, after
    /// each file's header; the summary comes last. Memory holds one total per lot and the signers' names.
    package static func run(
        _ selection: Selection, zone: CivilZone, anchors: [AnchorChange],
        fetch: @escaping @Sendable (Int64, Int) async throws -> [StoredEntry],
        write: (_ file: String, _ fields: [String]) throws -> Void
    ) async throws {
        for file in files { try write(file.name, file.header) }
        var names = SignerNames(anchors: LogReplay.anchors(anchors))
        var lots: [String: LotTotals] = [:]
        var substances: [String: String] = [:]
        try await LogReplay.stream(after: 0, fetch: fetch) { chunk in
            for case let (_, event?) in chunk {
                names.apply(event)
                guard let lot = lotName(of: event.payload.data) else { continue }
                let balance = lots[lot]?.onHand ?? .zero
                lots[lot, default: LotTotals()].add(event.payload.data)
                if case .inventoryReceived(let body) = event.payload.data, substances[lot] == nil {
                    substances[lot] = body.substance
                }
                let substance = substances[lot] ?? ""
                guard selects(event, lot: lot, selection) else { continue }
                let signer = { (index: Int) -> (String, String) in
                    index < event.signers.count
                        ? (names.name(of: event.signers[index]), event.signers[index].hex) : ("", "")
                }
                let common = [
                    event.payload.occurredAt.rfc3339, String(event.position), event.payload.id.description, lot,
                ]
                let (author, authorKey) = signer(0)
                let (witness1, witness1Key) = signer(1)
                let (witness2, witness2Key) = signer(2)
                switch event.payload.data {
                case .inventoryReceived(let body):
                    try write(
                        "receipts.csv",
                        (common + [body.substance, "\(body.quantity)", body.supplier, author, authorKey]))
                case .doseDispensed(let body):
                    try write(
                        "dispensing.csv",
                        (common + [
                            substance, "\(body.dose)", event.payload.participant ?? "",
                            event.payload.session ?? "", body.kind.rawValue, author, authorKey, witness1,
                            witness1Key,
                        ]))
                case .doseWasted(let body):
                    try write(
                        "disposals.csv",
                        (common + [
                            substance, "wasted", "\(body.quantity)", body.reason, "", "", author, authorKey,
                            witness1, witness1Key, witness2, witness2Key,
                        ]))
                case .inventoryDestroyed(let body):
                    try write(
                        "disposals.csv",
                        (common + [
                            substance, "destroyed", "\(body.quantity)", body.method, "41", body.form41,
                            author,
                            authorKey, witness1, witness1Key, witness2, witness2Key,
                        ]))
                    try write(
                        "form41.csv",
                        (common + [
                            substance, "\(body.quantity)", body.method, body.form41, author, witness1,
                            witness2,
                        ]))
                case .inventoryLossReported(let body):
                    try write(
                        "disposals.csv",
                        (common + [
                            substance, body.kind.rawValue, "\(body.quantity)",
                            "loss \(body.lossId), discovered \(body.discoveredAt.rfc3339)", "106", "", author,
                            authorKey,
                            witness1, witness1Key, witness2, witness2Key,
                        ]))
                case .inventoryCounted(let body):
                    let hour =
                        (event.payload.occurredAt.microsecondsSinceEpoch
                            - zone.start(of: zone.date(of: event.payload.occurredAt)).microsecondsSinceEpoch)
                        / 3_600_000_000
                    try write(
                        "inventory.csv",
                        ([event.payload.occurredAt.rfc3339, hour < 12 ? "opening" : "close"]
                            + Array(common.dropFirst()) + [
                                substance, "\(body.counted)", "\(balance)", "\(body.counted - balance)",
                                author, authorKey, witness1, witness1Key,
                            ]))
                default:
                    break
                }
            }
        }
        for (lot, totals) in lots.sorted(by: { $0.key < $1.key }) {
            if case .lot(let wanted) = selection, wanted != lot { continue }
            try write(
                "summary.csv",
                [
                    lot, substances[lot] ?? "", "\(totals.received)", "\(totals.dispensed)", "\(totals.wasted)",
                    "\(totals.destroyed)", "\(totals.lost)", "\(totals.onHand)",
                ])
        }
    }

    static func lotName(of data: EventData) -> String? {
        switch data {
        case .inventoryReceived(let body): body.lot
        case .doseDispensed(let body): body.lot
        case .doseWasted(let body): body.lot
        case .inventoryDestroyed(let body): body.lot
        case .inventoryCounted(let body): body.lot
        case .inventoryLossReported(let body): body.lot
        default: nil
        }
    }

    static func selects(_ event: StoredEvent, lot: String, _ selection: Selection) -> Bool {
        switch selection {
        case .lot(let wanted): lot == wanted
        case .period(let from, let to): event.payload.occurredAt >= from && event.payload.occurredAt <= to
        }
    }

    /// One CSV line (RFC 4180, CRLF), formula-safe.
    package static func line(_ fields: [String]) -> String {
        fields.map(LedgerExport.field).joined(separator: ",") + "\r\n"
    }
}
