import Foundation
import Testing
import VigilModel
import VigilStore
import VigilTestSupport

@testable import VigilProjections

@Suite struct LedgerExportTests {
    /// Splits RFC 4180 CSV (quoted fields may hold commas and quotes).
    func parse(_ csv: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var characters = Array(csv)[...]
        while let character = characters.popFirst() {
            if quoted {
                if character == "\"" {
                    if characters.first == "\"" {
                        field.append("\"")
                        characters = characters.dropFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == "," {
                row.append(field)
                field = ""
            } else if character == "\r\n" || character == "\n" {
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            } else {
                field.append(character)
            }
        }
        return rows
    }

    @Test func theLedgerBalancesAndNamesEverySigner() async throws {
        try await withCourse { course, _, _, folder in
            let reader = try LogReader(path: folder + "/vigil.sqlite")
            defer { reader.close() }
            let csv = try await LedgerExport.csv(
                from: CalendarDate(iso8601: "2025-12-01")!, to: CalendarDate(iso8601: "2026-12-31")!,
                anchors: try reader.anchorHistory()
            ) { after in try reader.entries(after: after, limit: 100) }
            let rows = parse(csv)
            let header = rows[0]
            #expect(header == LedgerExport.header)
            func column(_ name: String, _ row: [String]) -> String { row[header.firstIndex(of: name)!] }
            let body = rows.dropFirst().filter { column("activity", $0) != "summary" }
            #expect(
                body.map { column("activity", $0) } == ["received"] + Array(repeating: "dispensed", count: 2) + [
                    "wasted"
                ] + Array(repeating: "dispensed", count: 4) + ["counted"])
            // In time order, with the lot's running balance.
            #expect(
                body.map { column("balance_after_mg", $0) } == [
                    "10000", "9920", "9880", "9877.5", "9757.5", "9697.5", "9577.5", "9517.5", "9517.5",
                ])
            let waste = body[3]
            #expect(column("author_name", waste) == "Phil Pharmacist")
            #expect(column("author_meaning", waste) == "author")
            #expect(column("witness_1_name", waste) == "Dr. Clare Clinician")
            #expect(column("witness_1_meaning", waste) == "witness")
            #expect(column("witness_1_keyid", waste) == course.keys.clinician.id.hex)
            #expect(column("participant", body[1]) == Course.participant)
            #expect(column("details", body.last!).contains("difference -2.5 mg"))
            // The summary: received − dispensed − wasted − destroyed = on hand, checked here from the rows.
            let summary = try #require(rows.first { column("activity", $0) == "summary" })
            #expect(column("quantity_mg", summary) == "9517.5")
            func total(_ activity: String) -> Int64 {
                body.filter { column("activity", $0) == activity }.compactMap {
                    JSONNumber.scaledInteger(column("quantity_mg", $0), decimalPlaces: 3)
                }.reduce(0, +)
            }
            #expect(total("received") - total("dispensed") - total("wasted") - total("destroyed") == 9_517_500)
        }
    }

    @Test func aDateRangeKeepsOnlyItsRowsButBalancesOverEverything() async throws {
        try await withCourse { _, _, _, folder in
            let reader = try LogReader(path: folder + "/vigil.sqlite")
            defer { reader.close() }
            // Session 2's day only.
            let csv = try await LedgerExport.csv(
                from: CalendarDate(iso8601: "2026-02-02")!, to: CalendarDate(iso8601: "2026-02-02")!,
                anchors: try reader.anchorHistory()
            ) { after in try reader.entries(after: after, limit: 100) }
            let rows = parse(csv).dropFirst().filter { $0[4] != "summary" }
            #expect(rows.count == 2)
            #expect(rows.map { $0[8] } == ["9757.5", "9697.5"])
        }
    }

    @Test func fieldsAreQuotedAndFormulasDefused() {
        #expect(LedgerExport.field("plain") == "plain")
        #expect(LedgerExport.field("a, b") == "\"a, b\"")
        #expect(LedgerExport.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(LedgerExport.field("=SUM(A1)") == "'=SUM(A1)")
        #expect(LedgerExport.field("-2.5") == "-2.5")
    }
}
