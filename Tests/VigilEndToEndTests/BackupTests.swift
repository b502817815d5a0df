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

/// A configuration file naming the store and daemon key that ``DaemonProcess`` uses in `folder`, as vigild
/// would read them with `--config` (absolute paths, as a restore needs).
func backupConfiguration(in folder: String) throws -> String {
    let path = folder + "/vigil.yaml"
    let text = """
        # The restore drill's configuration.
        database:
          path: \(folder)/data/vigil.sqlite
        daemon:
          keyPath: \(folder)/data/daemon.key

        """
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// A running vigild in `folder` that has accepted the test keys' registrations and `count` vital signs.
func daemonWithEvents(in folder: String, keys: TestKeys, count: Int = 40) async throws -> DaemonProcess {
    let daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
    #expect(try await daemon.client.post("/v1/events/batch", Fixtures.batch(keys.registrations())).status == 200)
    let vitals = Fixtures.batch((0..<count).map { _ in Fixtures.envelope(Fixtures.vitals(), by: keys.device) })
    #expect(try await daemon.client.post("/v1/events/batch", vitals).status == 200)
    return daemon
}

/// The SHA-256 of a file as sha256sum prints it: a check independent of vigilctl's own hashing.
func sha256sum(_ path: String) async throws -> String {
    let result = try await run("/usr/bin/sha256sum", [path])
    #expect(result.status == 0, "\(result.stderr)")
    return String(result.stdout.prefix { $0 != " " })
}

func posixMode(_ path: String) throws -> Int? {
    try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
}

@Suite struct BackupFolderTests {
    @Test func aBackupFolderHoldsTheStoreKeyAndConfigurationWithTheirSumsInAManifestWrittenLast() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let config = try backupConfiguration(in: folder)
            let daemon = try await daemonWithEvents(in: folder, keys: keys)
            let parent = folder + "/backups"
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: false)
            let backup = try await run(Binaries.vigilctl, ["backup", "--config", config, "--to-parent", parent])
            #expect(backup.status == 0, "\(backup.stdout)\(backup.stderr)")
            let head = try await daemon.client.logHead(token: "e2e-auditor")
            #expect(try await daemon.stop() == 0)

            // One new folder, named by the time in UTC (20261121T020000Z), mode 0700.
            let made = try FileManager.default.contentsOfDirectory(atPath: parent)
            #expect(made.count == 1)
            let name = try #require(made.first)
            #expect(name.count == 16 && name.hasSuffix("Z") && name.dropFirst(8).first == "T", "\(name)")
            let backupFolder = parent + "/" + name
            #expect(try posixMode(backupFolder) == 0o700)
            #expect(
                Set(try FileManager.default.contentsOfDirectory(atPath: backupFolder))
                    == ["vigil.sqlite", "daemon.key", "vigil.yaml", "manifest.json"])
            for file in ["vigil.sqlite", "daemon.key", "vigil.yaml", "manifest.json"] {
                #expect(try posixMode(backupFolder + "/" + file) == 0o600, "\(file)")
            }
            #expect(
                FileManager.default.contents(atPath: backupFolder + "/daemon.key")
                    == FileManager.default.contents(atPath: folder + "/data/daemon.key"))
            #expect(
                FileManager.default.contents(atPath: backupFolder + "/vigil.yaml")
                    == FileManager.default.contents(atPath: config))

            // The manifest lists each file with the size and SHA-256 sha256sum finds, and the copy's head.
            let data = try #require(FileManager.default.contents(atPath: backupFolder + "/manifest.json"))
            let manifest = try #require(try JSONParser.parse(Array(data)).objectValue)
            #expect(manifest["format"] == .string("vigil-backup/1"))
            guard case .array(let files)? = manifest["files"] else {
                Issue.record("no files in the manifest")
                return
            }
            #expect(files.count == 3)
            for file in files {
                let entry = try #require(file.objectValue)
                guard case .string(let fileName)? = entry["name"], case .string(let sum)? = entry["sha256"],
                    case .number(let size)? = entry["size"]
                else {
                    Issue.record("a file entry without name, sha256 or size: \(entry)")
                    continue
                }
                let path = backupFolder + "/" + fileName
                #expect(sum == (try await sha256sum(path)), "\(fileName)")
                let bytes = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
                #expect(size.integerValue.map(Int.init) == bytes, "\(fileName)")
            }
            let log = try #require(manifest["log"]?.objectValue)
            #expect(log["chainHash"] == .string(head.chainHash))
            guard case .number(let logSize)? = log["size"] else {
                Issue.record("no log size in the manifest")
                return
            }
            #expect(logSize.integerValue == head.size)

            // Without its manifest, or with one that never got its final name, it is an incomplete backup.
            try FileManager.default.moveItem(
                atPath: backupFolder + "/manifest.json", toPath: backupFolder + "/manifest.json.partial")
            try FileManager.default.removeItem(atPath: folder + "/data")
            let restore = try await run(Binaries.vigilctl, ["restore", "--from", backupFolder, "--config", config])
            #expect(restore.status == 1, "\(restore.stdout)\(restore.stderr)")
            #expect(restore.stderr.contains("no manifest.json: an incomplete backup"), "\(restore.stderr)")
            #expect(!FileManager.default.fileExists(atPath: folder + "/data"))
        }
    }

    @Test func aBackupIsNeverWrittenIntoAFolderThatHoldsFiles() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let config = try backupConfiguration(in: folder)
            let daemon = try await daemonWithEvents(in: folder, keys: keys, count: 1)
            let target = folder + "/backup"
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
            try "keep me".write(toFile: target + "/notes.txt", atomically: true, encoding: .utf8)
            let backup = try await run(Binaries.vigilctl, ["backup", "--config", config, "--to", target])
            #expect(try await daemon.stop() == 0)
            #expect(backup.status == 2, "\(backup.stdout)\(backup.stderr)")
            #expect(backup.stderr.contains("is not an empty folder"), "\(backup.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: target) == ["notes.txt"])
        }
    }
}
