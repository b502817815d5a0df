import Foundation
import Testing
import VigilModel
import VigilPostgres
import VigilTestSupport

/// A hot standby streaming from the database vigild writes to serves auditors' exports (docs/postgresql.md,
/// "A streaming replica"): the file exported from the standby while vigild runs is proven and verifies.
@Suite(.serialized) struct StreamingReplicaTests {
    @Test func anAuditorExportsAndVerifiesTheLogFromAHotStandby() async throws {
        try await withTemporaryDirectory { folder in
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder)
            let primaryFolder = folder + "/primary"
            let standbyFolder = folder + "/standby"
            try OwnCluster.run("start", primaryFolder)
            defer { try? OwnCluster.run("stop", primaryFolder) }
            let primary = try OwnCluster.url(primaryFolder)

            let keys = TestKeys()
            let daemon = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin, extraEnvironment: ["VIGIL_DATABASE_URL": primary])
            #expect(try await daemon.waitForLog("vigild ready"), "\(daemon.logText)")
            let client = daemon.client
            #expect(try await client.post("/v1/events/batch", Fixtures.batch(keys.registrations())).status == 200)

            try OwnCluster.run("replica", primaryFolder, standbyFolder)
            defer { try? OwnCluster.run("stop", standbyFolder) }
            let standby = try PostgresLocation(url: try OwnCluster.url(standbyFolder), environment: [:])

            // More events after the standby was made: they reach it by streaming.
            let readings = (0..<50).map { _ in Fixtures.envelope(Fixtures.vitals(), by: keys.device) }
            #expect(try await client.post("/v1/events/batch", Fixtures.batch(readings)).status == 200)
            let head = try await client.logHead(token: "e2e-auditor")
            var replayed: Int64 = -1
            for _ in 0..<150 where replayed < head.size {
                replayed = try await PostgresTestDatabase.integer(
                    "SELECT COALESCE(max(position), 0) FROM events", on: standby)
                if replayed < head.size { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(replayed >= head.size, "the standby has \(replayed) of \(head.size) entries")

            let exported = folder + "/audit.sqlite"
            let export = try await run(
                Binaries.vigilctl, ["export", "store", "--from", standby.description, "--to", exported])
            #expect(export.status == 0, "\(export.stdout)\(export.stderr)")
            let verify = try await run(Binaries.vigilctl, ["verify", "--database", exported])
            #expect(verify.status == 0 && verify.stdout.contains("OK: "), "\(verify.stdout)\(verify.stderr)")
            #expect(try await daemon.stop() == 0)
        }
    }
}
