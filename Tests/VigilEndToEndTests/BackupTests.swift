import Foundation
import Synchronization
import Testing
import VigilModel
import VigilTestSupport

@Suite struct BackupTests {
    @Test func aBackupTakenUnderLoadVerifies() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            let client = daemon.client
            #expect(try await client.post("/v1/events/batch", Fixtures.batch(keys.registrations())).status == 200)
            let load = LoadState()
            let writers = (0..<4).map { _ in
                Task {
                    while !load.stopped.load(ordering: .relaxed) {
                        _ = try await client.post(
                            "/v1/events", Fixtures.envelope(Fixtures.vitals(heartRate: 70), by: keys.device))
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(500))
            let copy = folder + "/backup.sqlite"
            let backup = try await run(
                Binaries.vigilctl, ["backup", "--database", folder + "/data/vigil.sqlite", "--out", copy])
            load.stopped.store(true, ordering: .relaxed)
            for writer in writers { try await writer.value }
            #expect(backup.status == 0, "\(backup.stdout)\(backup.stderr)")
            #expect(backup.stdout.contains("verified"))
            let attributes = try FileManager.default.attributesOfItem(atPath: copy)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            let verify = try await run(Binaries.vigilctl, ["verify", "--database", copy])
            #expect(verify.status == 0, "\(verify.stdout)")
            let again = try await run(
                Binaries.vigilctl, ["backup", "--database", folder + "/data/vigil.sqlite", "--out", copy])
            #expect(again.status == 2)
            #expect(again.stderr.contains("never overwrites"))
            #expect(try await daemon.stop() == 0)
        }
    }
}
