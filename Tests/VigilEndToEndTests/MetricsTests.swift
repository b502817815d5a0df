import Foundation
import Testing
import VigilModel
import VigilTestSupport

/// docs/metrics.md is what operators build dashboards and alerts on: every series it lists must be one a
/// running vigild exposes.
@Suite struct MetricsTests {
    static var documented: Set<String> {
        get throws {
            let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("docs/metrics.md")
            let text = try String(contentsOf: docs, encoding: .utf8)
            let names = try Regex(#"`(vigil_[a-z_]+)`"#)
            return Set(text.matches(of: names).compactMap { $0.output[1].substring.map(String.init) })
        }
    }

    @Test func everySeriesTheDocsListIsExposedByARunningDaemon() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let tokens =
                Hex.encode(sha256("e2e-auditor")) + ":auditor," + Hex.encode(sha256("e2e-officer")) + ":officer,"
                + Hex.encode(sha256("e2e-ops")) + ":ops"
            // The checks run every second, and the webhook answers 503 at once, so that every series has something
            // to say within a few seconds. (Not a port where nothing listens: the HTTP client tries a refused
            // connection again until the attempt's 10-second timeout.)
            let webhook = try RecordingServer.start(statuses: [503])
            defer { webhook.stop() }
            let daemon = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin,
                extraEnvironment: [
                    "VIGIL_AUTH_TOKENS": tokens, "VIGIL_INTEGRITY_VERIFYINTERVALSECONDS": "1",
                    "VIGIL_INTEGRITY_VIEWSCHECKINTERVALSECONDS": "1",
                    "VIGIL_ALERTS_WEBHOOK_URL": "http://127.0.0.1:\(webhook.port)/hook",
                    "VIGIL_ALERTS_WEBHOOK_MAXATTEMPTS": "1", "VIGIL_TRANSPARENCY_CHECKPOINTINTERVALSECONDS": "1",
                ])
            let client = daemon.client
            #expect(try await client.post("/v1/events/batch", Fixtures.batch(keys.registrations())).status == 200)
            let high = Fixtures.envelope(Fixtures.vitals(systolic: 175, diastolic: 104), by: keys.device)
            #expect(try await client.post("/v1/events", high).status == 201)
            #expect(
                try await client.post("/v1/events", Fixtures.envelope(Fixtures.vitals(), by: SigningKey())).status
                    == 403)
            #expect(try await daemon.waitForLog("webhook delivery given up"))
            #expect(try await daemon.waitForLog("event log verified from the last signed head"))
            try await Task.sleep(for: .seconds(1.5))
            let scrape = try await client.get("/metrics", token: "e2e-ops")
            #expect(scrape.status == 200)
            let exposed = Set(
                scrape.text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
                    line.split(whereSeparator: { $0 == "{" || $0 == " " }).first.map(String.init)
                }.map { name in
                    name.replacing(try! Regex("_(bucket|sum|count)$"), with: "")
                })
            let documented = try Self.documented
            #expect(documented.count >= 25)
            let missing = documented.subtracting(exposed).sorted()
            #expect(missing.isEmpty, "documented in docs/metrics.md but not exposed: \(missing)")
            // The memory gauges carry the process's own figures.
            for (series, least) in [("process_resident_memory_bytes", 10_000_000.0), ("vigil_sqlite_memory_bytes", 1)] {
                let value = sample(series, in: scrape.text) ?? 0
                #expect(value >= least, "\(series) is \(value)")
            }
            #expect(try await daemon.stop() == 0)
        }
    }
}
