import Foundation
import Testing
import VigilModel
import VigilTestSupport

/// The daemon's key belongs to its store: vigild never quietly replaces it.
@Suite struct DaemonKeyTests {
    @Test func aKeyThatIsNotTheStoresIsRefusedAndARotationIsRecorded() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let keyPath = folder + "/data/daemon.key"
            var daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            #expect(daemon.logText.contains("daemon key created"))
            #expect(
                try await daemon.client.post("/v1/events/batch", Fixtures.batch(keys.registrations())).status == 200)
            #expect(try await daemon.stop() == 0)
            let original = try Data(contentsOf: URL(fileURLWithPath: keyPath))
            let environment = DaemonProcess.environment(folder: folder, adminKey: keys.admin)

            // Another key in the file: refused, and the file is left as it is.
            try FileManager.default.removeItem(atPath: keyPath)
            try Data(KeyFile.pem(privateKey: SigningKey()).utf8).write(to: URL(fileURLWithPath: keyPath))
            let other = try await run(Binaries.vigild, [], environment: environment)
            #expect(other.status == 78, "\(other.stdout)\(other.stderr)")
            #expect((other.stdout + other.stderr).contains("is not the key the store"))

            // No key at all: refused, and no new key is made.
            try FileManager.default.removeItem(atPath: keyPath)
            let missing = try await run(Binaries.vigild, [], environment: environment)
            #expect(missing.status == 78, "\(missing.stdout)\(missing.stderr)")
            #expect((missing.stdout + missing.stderr).contains("is missing"))
            #expect(!FileManager.default.fileExists(atPath: keyPath))

            // The store's own key back: it starts as before.
            try original.write(to: URL(fileURLWithPath: keyPath))
            daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            #expect(daemon.logText.contains("daemon key loaded"))
            #expect(try await daemon.stop() == 0)

            // A rotation on purpose: a new key, recorded; the log verifies across it, and the old key is no
            // longer the store's.
            try FileManager.default.removeItem(atPath: keyPath)
            daemon = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin, arguments: ["--new-daemon-key"])
            #expect(try await daemon.waitForLog("daemon key rotated"))
            #expect(
                try await daemon.client.post(
                    "/v1/events", Fixtures.envelope(Fixtures.vitals(systolic: 172), by: keys.device)
                ).status == 201)
            #expect(try await daemon.stop() == 0)
            #expect(try Data(contentsOf: URL(fileURLWithPath: keyPath)) != original)
            let verify = try await run(Binaries.vigilctl, ["verify", "--database", folder + "/data/vigil.sqlite"])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
            try FileManager.default.removeItem(atPath: keyPath)
            try original.write(to: URL(fileURLWithPath: keyPath))
            let old = try await run(Binaries.vigild, [], environment: environment)
            #expect(old.status == 78, "\(old.stdout)\(old.stderr)")
        }
    }
}
