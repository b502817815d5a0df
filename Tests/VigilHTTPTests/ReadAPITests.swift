import Foundation
import Testing
import VigilModel
import VigilStore
import VigilTestSupport

extension LiveDaemon {
    /// Waits until the read models have projected the whole log.
    func waitForProjections() async throws {
        // Alerts the engine raises grow the log; wait until the views hold still at its end.
        var settled = 0
        for _ in 0..<500 {
            let health = try await client.get("/healthz")
            if let range = health.text.range(of: "at position "),
                let end = health.text[range.upperBound...].firstIndex(of: "\"")
            {
                let parts = health.text[range.upperBound..<end].split(separator: " ")
                if parts.count == 3, parts[0] == parts[2] {
                    settled += 1
                    if settled == 3 { return }
                } else {
                    settled = 0
                }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CLIError("the read models did not catch up: \(try await client.get("/healthz").text)")
    }

    func json(_ path: String, token: String = Tokens.officer) async throws -> JSONValue {
        let response = try await client.get(path, token: token)
        guard response.status == 200, let json = response.json else {
            throw CLIError("\(path): \(response.status) \(response.text)")
        }
        return json
    }
}

extension JSONValue {
    var arrayCount: Int? {
        if case .array(let items) = self { return items.count }
        return nil
    }
}

@Suite struct ReadAPITests {
    @Test func theReadModelsAnswerOverHTTP() async throws {
        let keys = TestKeys()
        try await LiveDaemon.run(keys: keys, registerKeys: false) { daemon in
            let course = Course(keys: keys)
            let envelopes = course.verified.map(\.envelopeBytes)
            let response = try await daemon.batch(envelopes)
            #expect(response.status == 200)
            try await daemon.waitForProjections()

            let inventory = try await daemon.json("/v1/inventory", token: Tokens.auditor)
            #expect(inventory["lots"]?[0]?["onHandMg"]?.literal == "9517.5")
            #expect(inventory["asOf"]?.literal == String(try await daemon.logSize()))
            let participant = try await daemon.json("/v1/participants/P-0007")
            #expect(participant["sessions"]?[2]?.literal == "P-0007-S3")
            #expect(participant["followUp"]?[0]?["days"]?[0]?["status"]?.literal == "checked")
            let session = try await daemon.json("/v1/sessions/P-0007-S2")
            #expect(session["totalDoseMg"]?.literal == "180")
            let alerts = try await daemon.json("/v1/alerts?status=resolved")
            #expect(alerts["alerts"]?[0]?["resolved"]?["name"]?.literal == "Sam Safety")
            // The engine raised what the course calls for: 104/min in session 1, the serious adverse event,
            // and the count 2.5 mg short.
            let open = try await daemon.json("/v1/alerts?status=open")
            var rules: [String] = []
            if case .array(let alerts)? = open["alerts"] { rules = alerts.compactMap { $0["rule"]?.literal }.sorted() }
            #expect(rules == ["count_discrepancy", "serious_adverse_event", "tachycardia"])
            #expect(open["next"] == nil, "everything fitted in one page")
            // Pages: two at a time, then the rest from where the first page ended.
            let first = try await daemon.json("/v1/alerts?status=open&limit=2")
            #expect(first["alerts"]?.arrayCount == 2)
            let next = try #require(first["next"]?.literal)
            #expect(next == first["alerts"]?[1]?["position"]?.literal)
            let rest = try await daemon.json("/v1/alerts?status=open&limit=2&after=\(next)")
            #expect(rest["alerts"]?.arrayCount == 1)
            #expect(rest["next"] == nil)
            #expect(
                try await daemon.client.get("/v1/alerts?limit=0", token: Tokens.officer).errorCode == "invalid_query")
            let register = try await daemon.json("/v1/adverse-events")
            #expect(register["adverseEvents"]?[0]?["reportDays"]?.literal == "15")
            #expect(try await daemon.json("/v1/adverse-events?open=true")["adverseEvents"] == .array([]))

            let ledger = try await daemon.client.get(
                "/v1/exports/ledger?from=2025-12-01&to=2026-12-31", token: Tokens.auditor)
            #expect(ledger.status == 200)
            #expect(ledger.headers["content-type"]?.hasPrefix("text/csv") == true)
            #expect(ledger.text.contains("on hand 9517.5 mg"))
        }
    }

    @Test func unknownCodesAnswer404AndRolesAreEnforced() async throws {
        try await LiveDaemon.run { daemon in
            let missing = try await daemon.client.get("/v1/participants/P-9999", token: Tokens.officer)
            #expect(missing.status == 404)
            #expect(missing.errorCode == "not_found")
            #expect(try await daemon.client.get("/v1/sessions/nope", token: Tokens.officer).status == 404)
            #expect(try await daemon.client.get("/v1/participants/P-1", token: Tokens.auditor).status == 403)
            #expect(try await daemon.client.get("/v1/alerts", token: Tokens.ops).status == 403)
            #expect(try await daemon.client.get("/v1/inventory", token: Tokens.auditor).status == 200)
            #expect(try await daemon.client.get("/v1/alerts?status=closed", token: Tokens.officer).status == 400)
            #expect(
                try await daemon.client.get("/v1/exports/ledger?from=2026-02-30&to=2026-03-01", token: Tokens.auditor)
                    .status == 400)
            #expect(try await daemon.client.get("/v1/participants/P-1").status == 401)
        }
    }

    @Test func thePharmacyReadsStockTheLedgerAndTheDoseCheckAndNothingClinical() async throws {
        let keys = TestKeys()
        try await LiveDaemon.run(keys: keys, registerKeys: false) { daemon in
            #expect(try await daemon.batch(Course(keys: keys).verified.map(\.envelopeBytes)).status == 200)
            try await daemon.waitForProjections()
            let inventory = try await daemon.json("/v1/inventory", token: Tokens.pharmacy)
            #expect(inventory["lots"]?[0]?["onHandMg"]?.literal == "9517.5")
            let ledger = try await daemon.client.get(
                "/v1/exports/ledger?from=2025-12-01&to=2026-12-31", token: Tokens.pharmacy)
            #expect(ledger.status == 200 && ledger.text.contains("on hand 9517.5 mg"))
            for path in [
                "/v1/events", "/v1/log/head", "/v1/participants/P-0007", "/v1/sessions/P-0007-S1", "/v1/alerts",
                "/v1/alerts/stream", "/v1/adverse-events",
            ] {
                let refused = try await daemon.client.get(path, token: Tokens.pharmacy)
                #expect(refused.status == 403 && refused.errorCode == "forbidden", "\(path): \(refused.status)")
            }
            // The dose check names the rules that would fire, but not the clinical facts behind them.
            let body = Array(
                #"{"participant": "P-0007", "session": "P-0007-S9", "lot": "L-9", "doseMg": 100, "kind": "initial"}"#
                    .utf8)
            let check = try await daemon.client.send("POST", "/v1/checks/dose", body: body, token: Tokens.pharmacy)
            #expect(check.status == 200)
            #expect(check.text.contains("dose_regimen"))
            #expect(!check.text.contains("100 mg"), "the officer's message stays with the officer: \(check.text)")
            let officers = try await daemon.client.send("POST", "/v1/checks/dose", body: body, token: Tokens.officer)
            #expect(officers.text.contains("initial dose 100 mg is not in the regimen"))
            let auditors = try await daemon.client.send("POST", "/v1/checks/dose", body: body, token: Tokens.auditor)
            #expect(auditors.status == 403)
        }
    }

    @Test func anAlertIsFoundByAUniquePrefixOfItsId() async throws {
        let keys = TestKeys()
        try await LiveDaemon.run(keys: keys, registerKeys: false) { daemon in
            #expect(try await daemon.batch(Course(keys: keys).verified.map(\.envelopeBytes)).status == 200)
            try await daemon.waitForProjections()
            var ids: [String] = []
            if case .array(let alerts)? = try await daemon.json("/v1/alerts")["alerts"] {
                ids = alerts.compactMap { $0["alertId"]?.literal }
            }
            #expect(ids.count >= 4)
            for id in ids {
                // The shortest prefix no other id shares (at least 4 digits), typed in upper case.
                let hex = id.replacingOccurrences(of: "-", with: "")
                let length = (4...32).first { n in
                    ids.filter { $0.replacingOccurrences(of: "-", with: "").hasPrefix(hex.prefix(n)) }.count == 1
                }!
                let found = try await daemon.json("/v1/alerts/\(hex.prefix(length).uppercased())")
                #expect(found["alertId"]?.literal == id)
                #expect(try await daemon.json("/v1/alerts/\(id)")["alertId"]?.literal == id)
            }
            let none = try await daemon.client.get("/v1/alerts/0000", token: Tokens.officer)
            #expect(none.status == 404 && none.errorCode == "not_found")
            #expect(try await daemon.client.get("/v1/alerts/zz", token: Tokens.officer).errorCode == "invalid_query")
            #expect(try await daemon.client.get("/v1/alerts/\(ids[0])", token: Tokens.auditor).status == 403)
        }
    }

    @Test func anAmbiguousPrefixIsRefusedWithTheCandidates() async throws {
        let keys = TestKeys()
        try await LiveDaemon.run(keys: keys, registerKeys: false) { daemon in
            // Two alerts (signed by the daemon's key, as the engine signs them) whose ids share 8 digits.
            let ids = ["abcdef01-0000-8000-8000-000000000001", "abcdef01-0000-8000-8000-000000000002"]
                .map { EventID($0)! }
            let envelopes = ids.map { id in
                Fixtures.verified(
                    Fixtures.payload(
                        .alertRaised(
                            AlertRaised(
                                alertId: id, rule: .countDiscrepancy, severity: .urgent, participant: nil, causes: [],
                                message: "lot L-1: counted 10 mg, perpetual balance 12 mg")), id: id),
                    by: keys.daemon
                ).envelopeBytes
            }
            #expect(try await daemon.batch(envelopes).status == 200)
            try await daemon.waitForProjections()
            let refused = try await daemon.client.get("/v1/alerts/ABCDEF01", token: Tokens.officer)
            #expect(refused.status == 409 && refused.errorCode == "ambiguous_id")
            #expect(refused.text.contains(ids[0].description) && refused.text.contains(ids[1].description))
            let unique = try await daemon.json("/v1/alerts/abcdef01000080008000000000000002")
            #expect(unique["alertId"]?.literal == ids[1].description)
        }
    }
}
