import Foundation
import Testing
import VigilModel
import VigilStore
import VigilTestSupport

@Suite struct ExportCommandTests {
    @Test func fhirExportsFromTheDaemonAndOfflineValidate() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            let body = Fixtures.batch(Course(keys: keys).verified.map(\.envelopeBytes))
            #expect(try await daemon.client.post("/v1/events/batch", body).status == 200)
            let url = ["--url", "http://127.0.0.1:\(daemon.port)"]

            let bundle = folder + "/P-0007.json"
            let online = try await run(
                Binaries.vigilctl,
                ["export", "fhir", "--participant", Course.participant, "--out", bundle, "--token", "e2e-officer"] + url
            )
            #expect(online.status == 0, "\(online.stderr)")
            let report = try await FHIRValidator.check(bundle)
            #expect(report.valid, "\(report.problems)")
            #expect(report.counts["Observation"] ?? 0 >= 6 && report.counts["AdverseEvent"] == 1)

            let refused = try await run(
                Binaries.vigilctl,
                ["export", "fhir", "--participant", Course.participant, "--token", "e2e-pharmacy"] + url)
            #expect(refused.status == 1 && refused.stderr.contains("forbidden"), "clinical records need an officer")
            _ = try await daemon.stop()

            let ndjson = folder + "/course.ndjson"
            let offline = try await run(
                Binaries.vigilctl,
                [
                    "export", "fhir", "--from", "2025-01-01", "--to", "2026-12-31", "--ndjson", "--out", ndjson,
                    "--database", folder + "/data/vigil.sqlite",
                ])
            #expect(offline.status == 0, "\(offline.stderr)")
            let lines = try await FHIRValidator.check(ndjson)
            #expect(lines.valid, "\(lines.problems)")
            #expect(lines.counts == report.counts, "the same records, online or offline")
        }
    }

    @Test func theDEARecordSetIsWrittenFromAStoreFile() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            let body = Fixtures.batch(Course(keys: keys).verified.map(\.envelopeBytes))
            #expect(try await daemon.client.post("/v1/events/batch", body).status == 200)
            _ = try await daemon.stop()
            let out = folder + "/dea"
            let result = try await run(
                Binaries.vigilctl,
                [
                    "export", "dea", "--lot", "L-9", "--database", folder + "/data/vigil.sqlite", "--out", out,
                    "--time-zone", "Europe/Oslo", "--registrant", "Test Clinic, DEA RT0000000", "--pdf",
                ])
            #expect(result.status == 0, "\(result.stderr)")
            for name in ["receipts", "dispensing", "disposals", "form41", "inventory", "summary"] {
                #expect(FileManager.default.fileExists(atPath: "\(out)/\(name).csv"), "\(name).csv")
            }
            let summary = try String(contentsOfFile: out + "/summary.csv", encoding: .utf8)
            #expect(summary.contains("L-9,MDMA HCl,10000,480,2.5,0,0,9517.5"), "\(summary)")
            let dispensing = try String(contentsOfFile: out + "/dispensing.csv", encoding: .utf8)
            #expect(dispensing.split(separator: "\r\n").count == 7, "six dispenses and the header")
            // The inspection pack prints: the PDF's text has the balance and the registrant.
            let text = try await run("/usr/bin/pdftotext", ["-layout", out + "/inspection-pack.pdf", "-"])
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stdout.contains("9517.5") && text.stdout.contains("Test Clinic, DEA RT0000000"))
            #expect(text.stdout.contains("Dispensing") && text.stdout.contains("Phil Pharmacist"))
            let refused = try await run(
                Binaries.vigilctl, ["export", "dea", "--database", folder + "/data/vigil.sqlite", "--out", out])
            #expect(refused.status == 64, "a lot or a period is required")
        }
    }
}
