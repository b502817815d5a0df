import Foundation
import Testing
import VigilModel
import VigilTestSupport

/// The pharmacy's and the officer's one-step commands, run as a user runs them, against a real vigild.
@Suite struct PharmacyCommandTests {
    /// A daemon with the cast registered, and the cast's private keys as PEM files.
    struct Clinic {
        let folder: String
        let keys = TestKeys()
        let daemon: DaemonProcess

        init(folder: String) async throws {
            self.folder = folder
            daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            for (name, key) in [
                ("pharmacist", keys.pharmacist), ("pharmacist2", keys.pharmacist2), ("nurse", keys.clinician),
                ("officer", keys.officer),
            ] {
                try KeyFile.pem(privateKey: key).write(
                    toFile: "\(folder)/\(name).key", atomically: true, encoding: .utf8)
            }
            let response = try await daemon.client.post("/v1/events/batch", Fixtures.batch(keys.registrations()))
            #expect(response.status == 200)
        }

        var url: [String] { ["--url", "http://127.0.0.1:\(daemon.port)"] }

        /// Runs vigilctl with the daemon's URL and the given token.
        func vigilctl(_ arguments: [String], token: String = "e2e-pharmacy") async throws -> CommandResult {
            try await run(Binaries.vigilctl, arguments + url + ["--token", token])
        }

        func key(_ name: String) -> String { "\(folder)/\(name).key" }

        /// The ledger CSV's rows for a lot, once the views have caught up with the log.
        func ledger(expecting rows: Int) async throws -> [[String]] {
            var lines: [[String]] = []
            for _ in 0..<200 {
                let response = try await daemon.client.get(
                    "/v1/exports/ledger?from=2000-01-01&to=2100-01-01", token: "e2e-pharmacy")
                lines = response.text.split(separator: "\r\n").map {
                    $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                }
                if lines.count - 1 >= rows { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            return lines
        }

        /// Polls a vigilctl command until its output contains `text`.
        func eventually(_ arguments: [String], token: String, contains text: String) async throws -> CommandResult {
            var result = CommandResult(status: 1, stdout: "", stderr: "")
            for _ in 0..<200 {
                result = try await vigilctl(arguments, token: token)
                if result.stdout.contains(text) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            return result
        }
    }

    @Test func eachPharmacyCommandStoresItsEventWithItsWitnesses() async throws {
        try await withTemporaryDirectory { folder in
            let clinic = try await Clinic(folder: folder)
            let pharmacist = ["--key", clinic.key("pharmacist")]
            let receive = try await clinic.vigilctl(
                ["receive", "--lot", "L-100", "--mg", "1000", "--supplier", "Acme Pharma"] + pharmacist)
            #expect(receive.status == 0, "\(receive.stdout)\(receive.stderr)")
            #expect(receive.stdout.contains("inventory.received") && receive.stdout.contains("stored at position"))

            // A dose the regimen does not know: the check stops it until it is confirmed.
            let dispense = [
                "dispense", "--lot", "L-100", "--participant", "P-0001", "--session", "P-0001-S1", "--kind",
                "initial",
            ]
            let stopped = try await clinic.vigilctl(dispense + ["--mg", "100"] + pharmacist)
            #expect(stopped.status == 1)
            #expect(stopped.stdout.contains("dose check: dose_regimen (warn) would fire"))
            #expect(stopped.stderr.contains("nothing was recorded"))
            let dispensed = try await clinic.vigilctl(
                dispense + ["--mg", "120", "--witness-key", clinic.key("nurse")] + pharmacist)
            #expect(dispensed.status == 0, "\(dispensed.stdout)\(dispensed.stderr)")
            #expect(dispensed.stdout.contains("witness \(clinic.keys.clinician.id.short)"))

            let waste = try await clinic.vigilctl(
                [
                    "waste", "--lot", "L-100", "--mg", "2.5", "--reason", "partial capsule", "--witness-key",
                    clinic.key("nurse"),
                ] + pharmacist)
            #expect(waste.status == 0, "\(waste.stderr)")
            let count = try await clinic.vigilctl(
                ["count", "--lot", "L-100", "--mg", "877.5", "--witness-key", clinic.key("pharmacist2")] + pharmacist)
            #expect(count.status == 0, "\(count.stderr)")

            // A destruction whose second witness is on another machine: pending file, countersign, submit.
            let pending = folder + "/destroy.dsse.json"
            let destroy = try await clinic.vigilctl(
                [
                    "destroy", "--lot", "L-100", "--mg", "100", "--method", "incineration", "--form41", "F41-7",
                    "--witness-key", clinic.key("pharmacist2"), "--pending", pending,
                ] + pharmacist)
            #expect(destroy.status == 0, "\(destroy.stderr)")
            #expect(destroy.stdout.contains("not submitted"))
            let countersign = try await run(
                Binaries.vigilctl, ["countersign", "--key", clinic.key("nurse"), "--in-place", pending])
            #expect(countersign.status == 0, "\(countersign.stderr)")
            let submit = try await run(Binaries.vigilctl, ["submit", pending] + clinic.url)
            #expect(submit.status == 0 && submit.stdout.contains("stored at position"), "\(submit.stdout)")

            let loss = try await clinic.vigilctl(
                [
                    "loss", "--loss-id", "LOSS-1", "--lot", "L-100", "--mg", "7.5", "--kind", "theft", "--witness-key",
                    clinic.key("nurse"),
                ] + pharmacist)
            #expect(loss.status == 0, "\(loss.stderr)")
            let filed = try await clinic.vigilctl(
                ["loss-filed", "--loss-id", "LOSS-1", "--reference", "DEA-106-77", "--key", clinic.key("officer")])
            #expect(filed.status == 0, "\(filed.stderr)")

            // The ledger: one row per activity, with its signers and the running balance.
            let rows = try await clinic.ledger(expecting: 6)
            let header = rows[0]
            func column(_ name: String, _ row: [String]) -> String { row[header.firstIndex(of: name)!] }
            let activities = rows.dropFirst().filter { column("activity", $0) != "summary" }
            #expect(
                activities.map { column("activity", $0) } == [
                    "received", "dispensed", "wasted", "counted", "destroyed", "lost",
                ])
            #expect(
                activities.map { column("balance_after_mg", $0) } == ["1000", "880", "877.5", "877.5", "777.5", "770"])
            let dispenseRow = activities[1]
            #expect(column("author_name", dispenseRow) == "Phil Pharmacist")
            #expect(column("witness_1_name", dispenseRow) == "Dr. Clare Clinician")
            let destroyRow = activities[4]
            #expect(column("witness_1_name", destroyRow) == "Pia Pharmacist")
            #expect(column("witness_2_name", destroyRow) == "Dr. Clare Clinician")
            #expect(column("witnesses_present", destroyRow) == "2")

            // The pharmacy's own view of its stock, with the loss and its Form 106.
            let inventory = try await clinic.eventually(
                ["inventory"], token: "e2e-pharmacy", contains: "DEA-106-77")
            #expect(inventory.stdout.contains("770"), "\(inventory.stdout)")
            #expect(inventory.stdout.contains("LOSS-1"))
            // Refusals print their code and the field, and store nothing.
            let typo = try await clinic.vigilctl(
                ["loss", "--loss-id", "LOSS-2", "--lot", "L-100", "--mg", "1", "--kind", "misplaced"] + pharmacist)
            #expect(typo.status == 65)
            #expect(typo.stderr.contains("invalid_event") && typo.stderr.contains("data.kind"), "\(typo.stderr)")
            let wrongRole = try await clinic.vigilctl(
                ["receive", "--lot", "L-1", "--mg", "5", "--supplier", "X", "--key", clinic.key("nurse")])
            #expect(wrongRole.status == 1 && wrongRole.stderr.contains("refused forbidden_type"), "\(wrongRole.stderr)")
            _ = try await clinic.daemon.stop()
        }
    }

    @Test func stockThatGoesNegativeIsStoredAndRaisedOnce() async throws {
        try await withTemporaryDirectory { folder in
            let clinic = try await Clinic(folder: folder)
            let pharmacist = ["--key", clinic.key("pharmacist")]
            #expect(
                try await clinic.vigilctl(
                    ["receive", "--lot", "L-7", "--mg", "100", "--supplier", "Acme"] + pharmacist
                ).status == 0)
            let dispense = ["dispense", "--participant", "P-0002", "--session", "P-0002-S1", "--mg", "120"]
            let beyond = try await clinic.vigilctl(dispense + ["--lot", "L-7", "--kind", "initial"] + pharmacist)
            #expect(beyond.status == 1, "the check warns first")
            #expect(beyond.stdout.contains("inventory_negative (critical)"), "\(beyond.stdout)")
            let confirmed = try await clinic.vigilctl(
                dispense + ["--lot", "L-7", "--kind", "initial", "--confirm"] + pharmacist)
            #expect(confirmed.status == 0, "\(confirmed.stderr)")
            let unknown = try await clinic.vigilctl(
                dispense + ["--mg", "60", "--lot", "L-404", "--kind", "supplemental", "--confirm"] + pharmacist)
            #expect(unknown.status == 0, "\(unknown.stderr)")

            let alerts = try await clinic.eventually(
                ["alerts", "--rule", "inventory_negative", "--json"], token: "e2e-officer", contains: "L-404")
            let raised = try JSONParser.parse(Array(alerts.stdout.utf8))
            guard case .array(let list) = raised else { Issue.record("not a list: \(alerts.stdout)"); return }
            #expect(list.count == 2, "one alert per event: \(alerts.stdout)")
            #expect(alerts.stdout.contains("exceeds its perpetual balance of 100 mg by 20 mg"))
            #expect(alerts.stdout.contains("names lot L-404, which has no receipt on record"))
            let rows = try await clinic.ledger(expecting: 3)
            #expect(rows.contains { $0.contains("dispensed") && $0.contains("-20") }, "the ledger shows -20 mg")
            _ = try await clinic.daemon.stop()
        }
    }

    @Test func officersAcknowledgeAndResolveByAUniquePrefix() async throws {
        try await withTemporaryDirectory { folder in
            let clinic = try await Clinic(folder: folder)
            // A count that does not match raises count_discrepancy (urgent).
            let pharmacist = ["--key", clinic.key("pharmacist"), "--witness-key", clinic.key("nurse")]
            _ = try await clinic.vigilctl(["receive", "--lot", "L-3", "--mg", "50", "--supplier", "A"] + pharmacist)
            _ = try await clinic.vigilctl(["count", "--lot", "L-3", "--mg", "45"] + pharmacist)
            let listed = try await clinic.eventually(["alerts"], token: "e2e-officer", contains: "count_discrepancy")
            #expect(listed.stdout.contains("ALERT"))
            let line = try #require(listed.stdout.split(separator: "\n").first { $0.contains("count_discrepancy") })
            let id = String(line.prefix(36))
            #expect(EventID(id) != nil, "the table shows the full id: \(line)")

            let officer = ["--key", clinic.key("officer")]
            let ack = try await clinic.vigilctl(
                ["ack", String(id.prefix(8)), "--note", "recounting with a witness"] + officer, token: "e2e-officer")
            #expect(ack.status == 0, "\(ack.stdout)\(ack.stderr)")
            #expect(ack.stdout.contains("alert.acknowledged") && ack.stdout.contains(id))
            let acknowledged = try await clinic.eventually(
                ["alerts", "--status", "acknowledged"], token: "e2e-officer", contains: id)
            #expect(acknowledged.status == 0)
            let resolve = try await clinic.vigilctl(
                ["resolve", id.uppercased(), "--note", "recount matched 50 mg"] + officer, token: "e2e-officer")
            #expect(resolve.status == 0, "\(resolve.stderr)")
            let resolved = try await clinic.eventually(
                ["alerts", "--status", "resolved", "--json"], token: "e2e-officer", contains: "recount matched")
            #expect(resolved.stdout.contains("Sam Safety"))
            let today = try await clinic.vigilctl(["today"], token: "e2e-officer")
            #expect(today.status == 0 && today.stdout.contains("Unresolved alerts:"), "\(today.stdout)")

            let missing = try await clinic.vigilctl(["ack", "0000ffff", "--note", "x"] + officer, token: "e2e-officer")
            #expect(missing.status == 3 && missing.stderr.contains("not_found"))
            let pharmacyToken = try await clinic.vigilctl(["ack", id, "--note", "x"] + officer)
            #expect(pharmacyToken.status == 1 && pharmacyToken.stderr.contains("forbidden"))
            _ = try await clinic.daemon.stop()
        }
    }
}
