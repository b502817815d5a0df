import Foundation
import Testing
import VigilModel
import VigilTestSupport

@Suite struct RestoreTests {
    /// The restore drill: backup, wipe, restore, start.
    @Test func aBackupRestoredIntoAWipedFolderStartsWithTheSameHeadAVerifiedLogAndTheSameDaemonKey() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let config = try backupConfiguration(in: folder)
            var daemon = try await daemonWithEvents(in: folder, keys: keys)
            let before = try await daemon.client.logHead(token: "e2e-auditor")
            let backup = try await run(Binaries.vigilctl, ["backup", "--config", config, "--to", folder + "/backup"])
            #expect(backup.status == 0, "\(backup.stdout)\(backup.stderr)")
            #expect(backup.stdout.contains("chainHash \(before.chainHash)"), "\(backup.stdout)")
            let after = try await daemon.client.logHead(token: "e2e-auditor")
            #expect(after.size == before.size && after.chainHash == before.chainHash, "the log moved during the drill")
            let key = try #require(FileManager.default.contents(atPath: folder + "/data/daemon.key"))
            #expect(try await daemon.stop() == 0)

            try FileManager.default.removeItem(atPath: folder + "/data")
            let restore = try await run(
                Binaries.vigilctl, ["restore", "--from", folder + "/backup", "--config", config])
            #expect(restore.status == 0, "\(restore.stdout)\(restore.stderr)")
            #expect(FileManager.default.contents(atPath: folder + "/data/daemon.key") == key)
            #expect(try posixMode(folder + "/data/daemon.key") == 0o600)
            #expect(try posixMode(folder + "/data/vigil.sqlite") == 0o600)
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: folder + "/data").sorted() == [
                    "daemon.key", "vigil.sqlite", "vigil.sqlite.lock",
                ])

            daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            #expect(daemon.logText.contains("daemon key loaded"), "\(daemon.logText)")
            #expect(!daemon.logText.contains("daemon key created"))
            let restored = try await daemon.client.logHead(token: "e2e-auditor")
            #expect(restored.size == before.size && restored.chainHash == before.chainHash)
            // No read models were restored: vigild builds them anew from the restored log.
            #expect(try await daemon.waitForLog("building them from the log"), "\(daemon.logText)")
            #expect(try await daemon.stop() == 0)
            let verify = try await run(Binaries.vigilctl, ["verify", "--database", folder + "/data/vigil.sqlite"])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        }
    }

    @Test func aBackupWithOneChangedByteIsRefusedNamingTheFileAndNothingIsWritten() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let (daemon, config) = try await backedUpDaemon(in: folder, keys: keys)
            #expect(try await daemon.stop() == 0)
            try FileManager.default.removeItem(atPath: folder + "/data")

            for file in ["vigil.sqlite", "daemon.key", "vigil.yaml"] {
                let path = folder + "/backup/" + file
                var bytes = try #require(FileManager.default.contents(atPath: path))
                let middle = bytes.count / 2
                bytes[middle] ^= 0x01
                try bytes.write(to: URL(fileURLWithPath: path))
                let restore = try await run(
                    Binaries.vigilctl, ["restore", "--from", folder + "/backup", "--config", config])
                #expect(restore.status == 1, "\(file): \(restore.stdout)\(restore.stderr)")
                #expect(restore.stderr.contains("\(path) does not match the manifest"), "\(restore.stderr)")
                #expect(!FileManager.default.fileExists(atPath: folder + "/data"), "restore wrote before checking")
                bytes[middle] ^= 0x01
                try bytes.write(to: URL(fileURLWithPath: path))
            }
            // Put back byte for byte, the backup restores.
            let restore = try await run(
                Binaries.vigilctl, ["restore", "--from", folder + "/backup", "--config", config])
            #expect(restore.status == 0, "\(restore.stdout)\(restore.stderr)")
        }
    }

    @Test func aRestoreIsRefusedWhileVigildRunsOnTheStoreAndASecondVigildRefusesToStart() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let (daemon, config) = try await backedUpDaemon(in: folder, keys: keys)
            let store = folder + "/data/vigil.sqlite"
            let before = try FileManager.default.contentsOfDirectory(atPath: folder + "/data").sorted()

            let restore = try await run(
                Binaries.vigilctl, ["restore", "--from", folder + "/backup", "--config", config, "--replace"])
            #expect(restore.status == 2, "\(restore.stdout)\(restore.stderr)")
            #expect(
                restore.stderr.contains("process \(daemon.pid) holds \(store).lock: a vigild is running on \(store)"),
                "\(restore.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/data").sorted() == before)

            // Two daemons on one store would each extend the chain from the head they saw.
            let second = try await run(Binaries.vigild, [], environment: daemonEnvironment(folder))
            #expect(second.status != 0)
            #expect(second.stderr.contains("process \(daemon.pid) holds \(store).lock"), "\(second.stderr)")
            #expect(try await daemon.client.get("/healthz").status == 200)
            #expect(try await daemon.stop() == 0)

            // Once it has stopped, the lock is free again (the file stays).
            #expect(FileManager.default.fileExists(atPath: store + ".lock"))
            let again = try await run(
                Binaries.vigilctl, ["restore", "--from", folder + "/backup", "--config", config, "--replace"])
            #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        }
    }

    @Test func anExistingStoreIsKeptUnlessReplaceWhichSetsItAsideWithTheReadModels() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let (running, config) = try await backedUpDaemon(in: folder, keys: keys)
            var daemon = running
            let backedUp = try await daemon.client.logHead(token: "e2e-auditor")
            // The store and its read models go on past the backup.
            let later = Fixtures.batch((0..<30).map { _ in Fixtures.envelope(Fixtures.vitals(), by: keys.device) })
            #expect(try await daemon.client.post("/v1/events/batch", later).status == 200)
            let grown = try await daemon.client.logHead(token: "e2e-auditor")
            #expect(grown.size > backedUp.size)
            #expect(try await daemon.stop() == 0)
            let store = folder + "/data/vigil.sqlite"
            let views = folder + "/data/vigil.projections.sqlite"
            let storeSum = try await sha256sum(store)

            let refused = try await run(
                Binaries.vigilctl, ["restore", "--from", folder + "/backup", "--config", config])
            #expect(refused.status == 2, "\(refused.stdout)\(refused.stderr)")
            #expect(refused.stderr.contains(store), "\(refused.stderr)")
            #expect(refused.stderr.contains("a restore does not overwrite a store or a daemon key: with --replace"))
            #expect(try await sha256sum(store) == storeSum)
            #expect(
                !(try FileManager.default.contentsOfDirectory(atPath: folder + "/data")).contains {
                    $0.contains("replaced")
                })

            let replaced = try await run(
                Binaries.vigilctl, ["restore", "--from", folder + "/backup", "--config", config, "--replace"])
            #expect(replaced.status == 0, "\(replaced.stdout)\(replaced.stderr)")
            let files = try FileManager.default.contentsOfDirectory(atPath: folder + "/data")
            let oldStore = try #require(files.first { $0.hasPrefix("vigil.sqlite.replaced-") })
            #expect(try await sha256sum(folder + "/data/" + oldStore) == storeSum, "the old store was not kept as is")
            #expect(files.contains { $0.hasPrefix("vigil.projections.sqlite.replaced-") }, "\(files)")
            #expect(!FileManager.default.fileExists(atPath: views))
            #expect(!files.contains { $0.hasSuffix(".restoring") })
            #expect(replaced.stdout.contains("set aside \(store) as \(folder)/data/\(oldStore)"), "\(replaced.stdout)")

            // vigild starts on the backup's log, with read models rebuilt from it rather than the later ones.
            daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            let restored = try await daemon.client.logHead(token: "e2e-auditor")
            #expect(restored.size == backedUp.size && restored.chainHash == backedUp.chainHash)
            #expect(try await daemon.waitForLog("building them from the log"), "\(daemon.logText)")
            #expect(try await daemon.stop() == 0)
        }
    }

    /// A running vigild in `folder` with events in its log, backed up with `vigilctl backup --config` into
    /// `folder/backup`; returns the daemon and the configuration file.
    private func backedUpDaemon(in folder: String, keys: TestKeys) async throws -> (DaemonProcess, String) {
        let config = try backupConfiguration(in: folder)
        let daemon = try await daemonWithEvents(in: folder, keys: keys)
        let backup = try await run(Binaries.vigilctl, ["backup", "--config", config, "--to", folder + "/backup"])
        #expect(backup.status == 0, "\(backup.stdout)\(backup.stderr)")
        return (daemon, config)
    }

    /// The variables ``DaemonProcess`` gives vigild for `folder`, for running it to completion with `run`.
    private func daemonEnvironment(_ folder: String) -> [String: String] {
        [
            "VIGIL_DATABASE_PATH": folder + "/data/vigil.sqlite", "VIGIL_DAEMON_KEYPATH": folder + "/data/daemon.key",
            "VIGIL_HTTP_PORT": "0",
        ]
    }
}
