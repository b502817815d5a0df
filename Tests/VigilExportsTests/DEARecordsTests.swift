import Foundation
import Logging
import Testing
import VigilExports
import VigilModel
import VigilProjections
import VigilStore
import VigilTestSupport

@Suite struct DEARecordsTests {
    @Test func aLotsRecordsBalanceAndMatchTheLedger() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let start = Timestamp(rfc3339: "2026-03-02T09:00:00Z")!
            func at(_ minutes: Int64) -> Timestamp { start.adding(seconds: minutes * 60) }
            func event(
                _ data: EventData, _ time: Timestamp, participant: String? = nil, session: String? = nil
            ) -> VerifiedEvent {
                keys.signed(data, participant: participant, session: session, at: time)
            }
            let registrations = keys.verifiedRegistrations(at: start)
            let events =
                registrations + [
                    event(
                        .inventoryReceived(
                            InventoryReceived(
                                lot: "L-1", substance: "MDMA HCl", quantity: Milligrams(1000), supplier: "Acme")),
                        at(0)),
                    event(
                        .doseDispensed(DoseDispensed(lot: "L-1", dose: Milligrams(120), kind: .initial)), at(60),
                        participant: "P-1", session: "P-1-S1"),
                    event(
                        .doseDispensed(DoseDispensed(lot: "L-1", dose: Milligrams(60), kind: .supplemental)), at(160),
                        participant: "P-1", session: "P-1-S1"),
                    event(
                        .doseWasted(
                            DoseWasted(lot: "L-1", quantity: Milligrams(micrograms: 2_500), reason: "=HYPERLINK(\"x\")")
                        ),
                        at(170)),
                    // Counted 5 mg short, in the afternoon: the close of business.
                    event(
                        .inventoryCounted(InventoryCounted(lot: "L-1", counted: Milligrams(micrograms: 812_500))),
                        at(300)),
                    event(
                        .inventoryDestroyed(
                            InventoryDestroyed(
                                lot: "L-1", quantity: Milligrams(100), method: "incineration", form41: "F41-9")),
                        at(400)),
                    event(
                        .inventoryLossReported(
                            InventoryLossReported(
                                lossId: "LOSS-1", lot: "L-1", quantity: Milligrams(5), kind: .loss,
                                discoveredAt: at(410))),
                        at(410)),
                    event(
                        .inventoryReceived(
                            InventoryReceived(
                                lot: "L-2", substance: "MDMA HCl", quantity: Milligrams(50), supplier: "Acme")),
                        at(420)),
                ]
            let store = try EventStore.open(
                path: folder + "/vigil.sqlite", anchors: keys.anchors, logger: Logger(label: "t"))
            _ = await store.append(events)
            var files: [String: [[String]]] = [:]
            var raw = ""
            var pack = InspectionPack(
                scope: "lot L-1", registrant: "Clinic <Test> & Co", generatedAt: start, logSize: Int64(events.count))
            try await DEARecords.run(
                .lot("L-1"), zone: .utc, anchors: try await store.anchorHistory(),
                fetch: { try await store.entries(after: $0, limit: $1) }
            ) { file, fields in
                raw += DEARecords.line(fields)
                files[file, default: []].append(fields)
                pack.add(file, fields)
            }
            let ledger = try await LedgerExport.csv(
                from: CalendarDate(iso8601: "2026-01-01")!, to: CalendarDate(iso8601: "2026-12-31")!,
                anchors: try await store.anchorHistory()
            ) { try await store.entries(after: $0, limit: 100) }
            await store.close()

            func column(_ file: String, _ name: String, row: Int = 1) -> String? {
                guard let rows = files[file], let index = rows[0].firstIndex(of: name), rows.count > row else {
                    return nil
                }
                return rows[row][index]
            }
            #expect(files["receipts.csv"]?.count == 2, "the header and L-1's receipt; L-2 is another lot")
            #expect(files["dispensing.csv"]?.count == 3)
            #expect(column("dispensing.csv", "participant") == "P-1")
            #expect(column("dispensing.csv", "dispensed_by") == "Phil Pharmacist")
            #expect(column("disposals.csv", "activity", row: 1) == "wasted")
            #expect(column("disposals.csv", "witness_1", row: 1) == "Dr. Colin Clinician")
            #expect(column("disposals.csv", "activity", row: 3) == "loss")
            #expect(column("form41.csv", "form41") == "F41-9")
            #expect(column("form41.csv", "witness_1") == "Dr. Colin Clinician")
            #expect(column("form41.csv", "witness_2") == "Pia Pharmacist")
            #expect(column("inventory.csv", "business") == "close")
            #expect(column("inventory.csv", "perpetual_mg") == "817.5")
            #expect(column("inventory.csv", "difference_mg") == "-5")
            #expect(column("inventory.csv", "counted_by") == "Phil Pharmacist")
            // The numbers balance, and equal the ledger's.
            #expect(files["summary.csv"]?.count == 2)
            #expect(column("summary.csv", "on_hand_mg") == "712.5")
            #expect(ledger.contains("- lost 5 = on hand 712.5 mg"))
            // Free text never becomes a formula.
            #expect(raw.contains("\"'=HYPERLINK(\"\"x\"\")\""))
            #expect(!raw.contains(",=HYPERLINK"))
            // The printable pack: every record, escaped, no script.
            let html = pack.html
            #expect(html.contains("Clinic &lt;Test&gt; &amp; Co"))
            #expect(html.contains("=HYPERLINK(&quot;x&quot;)"), "the text as written, escaped")
            #expect(!html.contains("<script") && !html.contains("HYPERLINK(\"x"))
            #expect(html.contains("<td>712.5</td>") && html.contains("<td>F41-9</td>"))
            // Every row names its log position, which holds the event it names.
            for rows in files.values where rows[0].contains("position") {
                let position = rows[0].firstIndex(of: "position")!
                for row in rows.dropFirst() { #expect(Int(row[position]) ?? 0 > 0) }
            }
        }
    }
}
