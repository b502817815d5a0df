import Foundation
import GRDB
import Logging
import Testing
import VigilModel
@_spi(Verification) import VigilStore
import VigilTestSupport

/// Drops the triggers and runs SQL, as an attacker with the file would.
func tamperWith(_ path: String, _ sql: String) async throws {
    let raw = try DatabaseQueue(path: path)
    try await raw.write { db in
        for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'") {
            try db.execute(sql: "DROP TRIGGER \(trigger)")
        }
        try db.execute(sql: sql)
    }
    try raw.close()
}

@Suite(.serialized) struct IntegrityTests {
    /// A daemon's store with the cast registered, some vitals, and the daemon stopped (which signs the head).
    func populatedStore(folder: String, keys: TestKeys) async throws {
        let daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
        let body = Fixtures.batch(
            keys.registrations()
                + (0..<10).map { _ in Fixtures.envelope(Fixtures.vitals(heartRate: 70), by: keys.device) })
        #expect(try await daemon.client.post("/v1/events/batch", body).status == 200)
        #expect(try await daemon.stop() == 0)
    }

    @Test func aTamperedLogHoldsWritesKeepsReadsAndRaisesIntegrityFailure() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            try await populatedStore(folder: folder, keys: keys)
            let path = folder + "/data/vigil.sqlite"
            // A new entry appended behind the daemon's back, with correct hashes but no valid signature.
            // The anchors as vigild records them, so that opening the store changes nothing else.
            let daemonKey = try KeyFile.signingKey(
                pem: String(contentsOfFile: folder + "/data/daemon.key", encoding: .utf8))
            let anchors = [
                TrustAnchor(publicKey: keys.admin.publicKey, role: .admin, name: "trust anchor \(keys.admin.id.short)"),
                TrustAnchor(publicKey: daemonKey.publicKey, role: .daemon, name: "vigild"),
            ]
            let store = try EventStore.open(path: path, anchors: anchors, logger: Logger(label: "test"))
            let forged = Fixtures.verified(Fixtures.vitals(systolic: 90, diastolic: 60), by: keys.device)
            var envelope = forged.envelope
            envelope.signatures[0].signature[0] ^= 1
            _ = await store.append([
                VerifiedEvent(
                    envelopeBytes: envelope.jsonBytes, envelope: envelope, payload: forged.payload,
                    sealedBy: VerifierSeal())
            ])
            await store.close()

            let daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            let refused = try await daemon.client.post(
                "/v1/events", Fixtures.envelope(Fixtures.vitals(), by: keys.device))
            #expect(refused.status == 503)
            #expect(refused.text.contains("\"code\":\"unavailable\""))
            #expect(refused.text.contains("failed verification at position 17"))
            #expect(
                try await daemon.client.get("/v1/events?after=0&limit=5", token: "e2e-auditor").status == 200,
                "reads go on")
            let health = try await daemon.client.get("/healthz")
            #expect(health.status == 503)
            #expect(health.text.contains("integrity"))
            #expect(try await daemon.waitForLog("event log integrity failure"))
            // The alert is in the log, raised once even across a restart.
            var found = false
            for _ in 0..<100 where !found {
                let alerts = try await daemon.client.get("/v1/alerts", token: "e2e-officer")
                found = alerts.text.contains("\"rule\":\"integrity_failure\"")
                if !found { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(found)
            #expect(try await daemon.stop() == 0)
            let again = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            try await Task.sleep(for: .seconds(1))
            let alerts = try await again.client.get("/v1/alerts", token: "e2e-officer")
            #expect(alerts.text.components(separatedBy: "\"rule\":\"integrity_failure\"").count - 1 == 1)
            #expect(try await again.stop() == 0)
        }
    }

    @Test func theFullCheckFindsAChangeBeforeTheLastHead() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            try await populatedStore(folder: folder, keys: keys)
            let path = folder + "/data/vigil.sqlite"
            try await tamperWith(
                path,
                "UPDATE events SET envelope = CAST(replace(CAST(envelope AS TEXT), 'eyJ', 'eyK') AS BLOB) WHERE position = 8"
            )
            // The quick check trusts the signed head for entry 8 ...
            let quick = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            #expect(
                try await quick.client.post("/v1/events", Fixtures.envelope(Fixtures.vitals(), by: keys.device)).status
                    == 201)
            #expect(try await quick.stop() == 0)
            // ... the full check does not.
            let full = try await DaemonProcess.start(folder: folder, adminKey: keys.admin, arguments: ["--verify-full"])
            let refused = try await full.client.post(
                "/v1/events", Fixtures.envelope(Fixtures.vitals(), by: keys.device))
            #expect(refused.status == 503)
            #expect(refused.text.contains("position 8"))
            #expect(try await full.stop() == 0)
        }
    }

    @Test func thePeriodicCheckCatchesTamperingWhileLoadRuns() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            try await populatedStore(folder: folder, keys: keys)
            let daemon = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin, extraEnvironment: ["VIGIL_INTEGRITY_VERIFYINTERVALSECONDS": "2"]
            )
            #expect(
                try await daemon.client.post("/v1/events", Fixtures.envelope(Fixtures.vitals(), by: keys.device)).status
                    == 201)
            let tampered = try await daemon.client.logHead(token: "e2e-auditor").size
            try await tamperWith(
                folder + "/data/vigil.sqlite",
                "UPDATE events SET envelope = CAST(replace(CAST(envelope AS TEXT), 'eyJ', 'eyK') AS BLOB) WHERE position = \(tampered)"
            )
            // Then load goes on while the paced check runs; the change is found within an interval or two.
            let load = Task {
                var status = 201
                while status == 201 || status == 200, !Task.isCancelled {
                    status = try await daemon.client.post(
                        "/v1/events", Fixtures.envelope(Fixtures.vitals(heartRate: 70), by: keys.device)
                    ).status
                    try await Task.sleep(for: .milliseconds(20))
                }
                return status
            }
            let tamperedAt = Date()
            var status = 201
            for _ in 0..<100 where status != 503 {
                try await Task.sleep(for: .milliseconds(100))
                status = try await daemon.client.post(
                    "/v1/events", Fixtures.envelope(Fixtures.vitals(), by: keys.device)
                ).status
            }
            #expect(status == 503)
            // When the daemon found it, by its own account (the failed check's end, in its metrics): this test's
            // own requests may be held back on a busy machine, the daemon's check is what is judged.
            let scrape = try await daemon.client.get("/metrics", token: "e2e-auditor").text
            #expect(sample("vigil_integrity_last_check_ok", in: scrape) == 0)
            let foundAfter =
                (sample("vigil_integrity_last_check_timestamp_seconds", in: scrape) ?? .infinity)
                - tamperedAt.timeIntervalSince1970
            let passes = daemon.logText.split(separator: "\n").filter { $0.contains("integrity.busy") }
                .joined(separator: "\n")
            #expect(foundAfter < 6, "found within about two intervals; the passes before:\n\(passes)")
            #expect(try await load.value == 503, "the load ran until writes were held")
            #expect(daemon.logText.contains("integrity.position=\(tampered)"), "\(daemon.logText)")
            #expect(try await daemon.stop() == 0)
        }
    }
}
