import Foundation
import GRDB
import Logging
import Testing
import VigilModel
import VigilStore
import VigilTestSupport

@Suite struct ReadModelCommandTests {
    @Test func rebuildProvesItReproducedTheViews() async throws {
        try await withTemporaryDirectory { folder in
            let course = Course(keys: TestKeys())
            let path = folder + "/vigil.sqlite"
            let store = try EventStore.open(path: path, anchors: course.keys.anchors, logger: Logger(label: "test"))
            _ = await store.append(course.verified)
            await store.close()

            let first = try await run(Binaries.vigilctl, ["rebuild", "--database", path])
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            #expect(first.stdout.contains("no earlier read models"))
            #expect(FileManager.default.fileExists(atPath: folder + "/vigil.projections.sqlite"))
            let second = try await run(Binaries.vigilctl, ["rebuild", "--database", path])
            #expect(second.status == 0)
            #expect(second.stdout.contains("every projection matches a replay of the log"))

            // Someone edits an alert's message in the views: the check names the row, changes nothing.
            let views = try DatabaseQueue(path: folder + "/vigil.projections.sqlite")
            try await views.write { db in try db.execute(sql: "UPDATE alerts SET message = 'nothing to see'") }
            try views.close()
            let check = try await run(Binaries.vigilctl, ["rebuild", "--check", "--database", path])
            #expect(check.status == 1)
            #expect(check.stdout.contains("MISMATCH at position \(course.verified.count): alerts"))
            #expect(check.stdout.contains("alerts: alerts: row (\(Hex.encode(course.alertId.bytes))) has other values"))
            let third = try await run(Binaries.vigilctl, ["rebuild", "--database", path])
            #expect(third.status == 1, "the rebuild reports what it found, and repairs it")
            #expect(third.stdout.contains("MISMATCH at position \(course.verified.count): alerts"))
            let after = try await run(Binaries.vigilctl, ["rebuild", "--check", "--database", path])
            #expect(after.status == 0, "\(after.stdout)")

            let csv = folder + "/ledger.csv"
            let export = try await run(
                Binaries.vigilctl,
                ["export", "ledger", "--database", path, "--from", "2026-01-01", "--to", "2026-03-31", "--out", csv])
            #expect(export.status == 0, "\(export.stderr)")
            let text = try String(contentsOfFile: csv, encoding: .utf8)
            #expect(text.hasPrefix("occurred_at,recorded_at,position,event_id,activity,lot"))
            #expect(text.contains("on hand 9517.5 mg"))
        }
    }

    @Test func queryCommandsPrintTables() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let daemonKey = folder + "/data/daemon.key"
            try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
            try KeyFile.pem(privateKey: keys.daemon).write(toFile: daemonKey, atomically: true, encoding: .utf8)
            let daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            let course = Course(keys: keys)
            let body = Fixtures.batch(course.verified.map(\.envelopeBytes))
            #expect(try await daemon.client.post("/v1/events/batch", body).status == 200)
            let url = "http://127.0.0.1:\(daemon.port)"
            // The views follow within moments; ask until they show the last event.
            var inventory = CommandResult(status: 1, stdout: "", stderr: "")
            for _ in 0..<100 {
                inventory = try await run(Binaries.vigilctl, ["inventory", "--url", url, "--token", "e2e-auditor"])
                if inventory.stdout.contains("9515") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(inventory.status == 0, "\(inventory.stderr)")
            #expect(inventory.stdout.contains("L-9"))
            #expect(inventory.stdout.contains("9517.5"))
            let officer = ["--url", url, "--token", "e2e-officer"]
            let participant = try await run(Binaries.vigilctl, ["participant", Course.participant] + officer)
            #expect(participant.stdout.contains("propranolol"))
            #expect(participant.stdout.contains("P-0007-S1"))
            let session = try await run(Binaries.vigilctl, ["session", "P-0007-S1"] + officer)
            #expect(session.stdout.contains("supplemental"))
            #expect(session.stdout.contains("peak"))
            let alerts = try await run(Binaries.vigilctl, ["alerts", "--status", "resolved"] + officer)
            #expect(alerts.stdout.contains("hypertension"))
            let events = try await run(Binaries.vigilctl, ["adverse-events"] + officer)
            #expect(events.stdout.contains("AE-1"))
            let missing = try await run(Binaries.vigilctl, ["participant", "P-9999"] + officer)
            #expect(missing.status == 3)
            #expect(missing.stderr.contains("not_found"))
            #expect(try await daemon.stop() == 0)
        }
    }
}
