package import VigilModel

/// The DEA record set as one printable HTML page, for an inspector who reads on paper (headless chromium prints
/// it to PDF: `vigilctl export dea --pdf`).
///
/// The same rows as the CSV files, every one with its log position, and the per-lot balance first. Everything
/// from the log is escaped; the page has no script and loads nothing.
package struct InspectionPack {
    /// What the pack covers, in words ("lot L-9", "1 March to 31 March 2026").
    package var scope: String
    package var registrant: String?
    package var generatedAt: Timestamp
    /// The log's size when the pack was made: every position in it is at or below.
    package var logSize: Int64
    private var rows: [String: [[String]]] = [:]

    package init(scope: String, registrant: String?, generatedAt: Timestamp, logSize: Int64) {
        self.scope = scope
        self.registrant = registrant
        self.generatedAt = generatedAt
        self.logSize = logSize
    }

    /// Adds one row of a record file (its header first), as ``DEARecords/run`` hands them out.
    package mutating func add(_ file: String, _ fields: [String]) {
        rows[file, default: []].append(fields)
    }

    static let sections: [(file: String, title: String)] = [
        ("summary.csv", "Balance of each lot: received − dispensed − wasted − destroyed − lost = on hand"),
        ("receipts.csv", "Receipts"),
        ("dispensing.csv", "Dispensing"),
        ("disposals.csv", "Waste, destruction, theft and loss"),
        ("form41.csv", "Destructions (DEA Form 41)"),
        ("inventory.csv", "Inventories (physical counts)"),
    ]

    /// Columns left out of the printed tables (key ids and event ids are in the CSV files).
    static let hidden: Set<String> = [
        "event_id", "received_by_keyid", "dispensed_by_keyid", "witness_keyid", "recorded_by_keyid", "witness_1_keyid",
        "witness_2_keyid", "counted_by_keyid",
    ]

    package var html: String {
        var page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <title>Controlled-substance records: \(scope.htmlEscaped)</title>
            <style>
            @page { size: A4 landscape; margin: 1.2cm; }
            body { font: 10pt/1.35 "DejaVu Sans", sans-serif; margin: 0; color: #000; }
            h1 { font-size: 15pt; margin: 0 0 .3em; } h2 { font-size: 12pt; margin: 1.4em 0 .4em; }
            table { border-collapse: collapse; width: 100%; page-break-inside: auto; }
            tr { page-break-inside: avoid; }
            th, td { border: 1px solid #777; padding: 2px 4px; text-align: left; vertical-align: top; font-size: 8.5pt; }
            th { background: #eee; } td.empty { color: #666; font-style: italic; }
            p.note { font-size: 8.5pt; color: #333; }
            </style></head><body>
            <h1>Controlled-substance records (21 CFR 1304): \(scope.htmlEscaped)</h1>

            """
        if let registrant { page += "<p>Registrant: \(registrant.htmlEscaped)</p>\n" }
        page += """
            <p class="note">Generated \(generatedAt.rfc3339.htmlEscaped) from Vigil's signed event log (\(logSize) \
            entries). Every row names the log position of the signed record it comes from; <code>vigilctl prove</code> \
            gives the proof that the record is in the log, and <code>vigilctl verify</code> checks the whole log. \
            Quantities are in mg.</p>

            """
        for (file, title) in Self.sections {
            let table = rows[file] ?? []
            page += "<h2>\(title.htmlEscaped)</h2>\n"
            guard let header = table.first else { continue }
            let shown = header.indices.filter { !Self.hidden.contains(header[$0]) }
            page += "<table><thead><tr>"
            for index in shown { page += "<th>\(header[index].replacingUnderscores.htmlEscaped)</th>" }
            page += "</tr></thead><tbody>\n"
            if table.count == 1 {
                page += "<tr><td class=\"empty\" colspan=\"\(shown.count)\">none</td></tr>\n"
            }
            for row in table.dropFirst() {
                page += "<tr>"
                for index in shown { page += "<td>\((index < row.count ? row[index] : "").htmlEscaped)</td>" }
                page += "</tr>\n"
            }
            page += "</tbody></table>\n"
        }
        return page + "</body></html>\n"
    }

}

extension String {
    fileprivate var replacingUnderscores: String {
        String(map { $0 == "_" ? " " : $0 })
    }
}
