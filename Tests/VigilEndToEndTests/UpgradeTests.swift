import Foundation
import Testing
import VigilModel
import VigilTestSupport

/// A store and read models written by the previous release (Fixtures/release-0.9.0, made by
/// scripts/make-upgrade-fixture with the v0.9.0 build) open, migrate, serve and verify with this one.
@Suite struct UpgradeTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/release-0.9.0").path

    struct Expected: Decodable {
        var size: Int64
        var chainHash: String
    }

    @Test func aStoreFromTheLastReleaseOpensMigratesServesAndVerifies() async throws {
        try await withTemporaryDirectory { folder in
            let data = folder + "/data"
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            for file in ["vigil.sqlite", "vigil.projections.sqlite", "daemon.key"] {
                try FileManager.default.copyItem(atPath: Self.fixture + "/" + file, toPath: data + "/" + file)
            }
            let expected = try JSONDecoder().decode(
                Expected.self, from: Data(contentsOf: URL(fileURLWithPath: Self.fixture + "/expected.json")))
            let admin = try KeyFile.signingKey(
                pem: String(contentsOfFile: Self.fixture + "/admin.key", encoding: .utf8))

            let daemon = try await DaemonProcess.start(folder: folder, adminKey: admin)
            #expect(daemon.logText.contains("daemon key loaded"), "the release's own key, not a new one")
            let head = try await daemon.client.logHead(token: "e2e-auditor")
            #expect(head.size == expected.size && head.chainHash == expected.chainHash)
            // The read models the old release wrote answer: both alerts, the acknowledged one with its note.
            let alerts = try await daemon.client.get("/v1/alerts", token: "e2e-officer")
            #expect(alerts.status == 200)
            #expect(alerts.text.contains("\"rule\":\"hypertension\"") && alerts.text.contains("count_discrepancy"))
            #expect(alerts.text.contains("rechecked after 15 minutes"))
            // And it goes on: a key registered by the release's admin, and an event it signs, chained after.
            let device = SigningKey()
            let registration = Fixtures.envelope(
                Fixtures.registration(of: device, role: .device, name: "Monitor 9"), by: admin)
            #expect(try await daemon.client.post("/v1/events", registration).status == 201)
            let vitals = Fixtures.envelope(Fixtures.vitals(systolic: 124, diastolic: 80), by: device)
            #expect(try await daemon.client.post("/v1/events", vitals).status == 201)
            #expect(try await daemon.client.logHead(token: "e2e-auditor").size == expected.size + 2)
            #expect(try await daemon.stop() == 0)

            let verify = try await run(Binaries.vigilctl, ["verify", "--database", data + "/vigil.sqlite"])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        }
    }
}
