import Foundation
import Testing
import VigilModel
import VigilStore
import VigilTestSupport

/// A regulator's path: the daemon's operator writes the bundle of one adverse event with `vigilctl prove`;
/// anyone checks it with `vigilctl verify-bundle`, holding nothing but the file and the log's verifier key.
@Suite struct ProofBundleCommandTests {
    @Test func proveWritesABundleThatVerifiesOfflineAndAChangedByteIsNamed() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let daemonKey = folder + "/data/daemon.key"
            try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
            try KeyFile.pem(privateKey: keys.daemon).write(toFile: daemonKey, atomically: true, encoding: .utf8)
            let daemon = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin,
                extraEnvironment: ["VIGIL_TRANSPARENCY_ORIGIN": "clinic.example.org/vigil"])
            let course = Course(keys: keys)
            #expect(
                try await daemon.client.post("/v1/events/batch", Fixtures.batch(course.verified.map(\.envelopeBytes)))
                    .status == 200)
            guard
                let report = course.verified.first(where: { $0.payload.type == .adverseEventReported })
            else {
                Issue.record("the course has no adverse event")
                return
            }
            let url = "http://127.0.0.1:\(daemon.port)"
            let bundle = folder + "/ae.json"
            let denied = try await run(
                Binaries.vigilctl, ["prove", "--url", url, "--event", "\(report.payload.id)", "--out", bundle])
            #expect(denied.status == 1 && denied.stderr.contains("unauthorized"))
            let prove = try await run(
                Binaries.vigilctl,
                ["prove", "--url", url, "--token", "e2e-auditor", "--event", "\(report.payload.id)", "--out", bundle])
            #expect(prove.status == 0, "\(prove.stderr)")
            #expect(try await daemon.stop() == 0)

            let logKey = try await run(
                Binaries.vigilctl, ["pubkey", "--key", daemonKey, "--note-name", "clinic.example.org/vigil"]
            ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(logKey.hasPrefix("clinic.example.org/vigil+"))
            let verify = try await run(Binaries.vigilctl, ["verify-bundle", bundle, "--log-key", logKey])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
            #expect(verify.stdout.contains("OK: event \(report.payload.id) (adverse_event.reported)"))
            #expect(verify.stdout.contains("Dr. Clare Clinician (clinician)"))

            // A changed digit of the event's position, and a changed letter of the checkpoint's note.
            let original = try String(contentsOfFile: bundle, encoding: .utf8)
            let tampered = folder + "/tampered.json"
            try original.replacingOccurrences(of: "\"position\":", with: "\"position\":1")
                .write(toFile: tampered, atomically: true, encoding: .utf8)
            let moved = try await run(Binaries.vigilctl, ["verify-bundle", tampered, "--log-key", logKey])
            #expect(moved.status == 1 && moved.stdout.hasPrefix("FAILED: event"), "\(moved.stdout)")
            try original.replacingOccurrences(of: "clinic.example.org/vigil\\n", with: "clinic.example.org/vigiL\\n")
                .write(toFile: tampered, atomically: true, encoding: .utf8)
            let renamed = try await run(Binaries.vigilctl, ["verify-bundle", tampered, "--log-key", logKey])
            #expect(renamed.status == 1 && renamed.stdout.hasPrefix("FAILED: checkpoint"), "\(renamed.stdout)")
            let witness = try await run(
                Binaries.vigilctl, ["verify-bundle", bundle, "--log-key", logKey, "--witness-key", logKey])
            #expect(witness.status == 64, "a log key is not a witness key")
        }
    }
}
