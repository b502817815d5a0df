import Foundation
import Synchronization
import Testing
import VigilModel
import VigilTestSupport

/// `vigilctl witness serve` as a child process.
final class WitnessProcess: Sendable {
    let process: Process
    let port: Int
    let verifierKey: String
    private let output: LogBuffer

    var url: String { "http://127.0.0.1:\(port)" }

    static func start(folder: String, name: String, logKey: String) async throws -> WitnessProcess {
        let key = folder + "/\(name.replacingOccurrences(of: "/", with: "_")).key"
        #expect(try await run(Binaries.vigilctl, ["keygen", "--out", key]).status == 0)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Binaries.vigilctl)
        process.arguments = [
            "witness", "serve", "--key", key, "--name", name, "--log-key", logKey, "--state", key + ".state",
        ]
        let output = LogBuffer(capturing: process)
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, process.isRunning {
            let found = output.text.withLock { text -> (String, Int)? in
                guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("witness ") }),
                    let port = line.split(separator: " ").last.flatMap({ Int($0) })
                else { return nil }
                return (String(line.split(separator: " ")[1]), port)
            }
            if let (key, port) = found {
                return WitnessProcess(process: process, port: port, verifierKey: key, output: output)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw TestFailure("the witness did not start: \(output.text.withLock { $0 })")
    }

    private init(process: Process, port: Int, verifierKey: String, output: LogBuffer) {
        self.process = process
        self.port = port
        self.verifierKey = verifierKey
        self.output = output
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

@Suite struct WitnessTests {
    /// Two witnesses cosign vigild's checkpoints. The store is then put back to an earlier copy and grown
    /// with other events (a fork): both witnesses refuse it, vigild logs it as critical and turns degraded.
    @Test func witnessesCosignAndRefuseAForkedLog() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let origin = "clinic.example.org/vigil"
            let daemonKey = folder + "/data/daemon.key"
            try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
            try KeyFile.pem(privateKey: keys.daemon).write(toFile: daemonKey, atomically: true, encoding: .utf8)
            let logKey = try NoteKey(name: origin, publicKey: keys.daemon.verifyingKey).verifierKey
            let one = try await WitnessProcess.start(folder: folder, name: "witness.example.org/w1", logKey: logKey)
            let two = try await WitnessProcess.start(folder: folder, name: "witness.example.org/w2", logKey: logKey)
            let environment = [
                "VIGIL_TRANSPARENCY_ORIGIN": origin,
                "VIGIL_TRANSPARENCY_WITNESSES": "\(one.url) \(one.verifierKey),\(two.url) \(two.verifierKey)",
            ]
            let auditor = "e2e-auditor"

            var daemon = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin, extraEnvironment: environment)
            let registrations = Fixtures.batch(keys.registrations())
            #expect(try await daemon.client.post("/v1/events/batch", registrations).status == 200)
            let early = Fixtures.batch((0..<50).map { _ in Fixtures.envelope(Fixtures.vitals(), by: keys.device) })
            #expect(try await daemon.client.post("/v1/events/batch", early).status == 200)
            let backup = folder + "/early.sqlite"
            let copy = try await run(
                Binaries.vigilctl, ["backup", "--database", folder + "/data/vigil.sqlite", "--out", backup])
            #expect(copy.status == 0, "\(copy.stderr)")
            let later = Fixtures.batch((0..<50).map { _ in Fixtures.envelope(Fixtures.vitals(), by: keys.device) })
            #expect(try await daemon.client.post("/v1/events/batch", later).status == 200)
            let size = try await daemon.client.logHead(token: auditor).size
            #expect(try await daemon.client.send("POST", "/v1/checkpoint", token: auditor).status == 200)

            // Both witnesses cosign the checkpoint; it is served with their cosignatures.
            try await waitUntil("both witnesses cosigned size \(size)", on: daemon) {
                let health = try await daemon.client.get("/healthz").text
                return health.contains("witness.example.org/w1 cosigned \(size)")
                    && health.contains("witness.example.org/w2 cosigned \(size)")
            }
            let served = try await daemon.client.get("/v1/checkpoint")
            let note = try SignedNote(parsing: served.body)
            #expect(note.signatures.count == 3)
            try note.verify(by: NoteKey(verifierKey: logKey))
            try note.verify(by: NoteKey(verifierKey: one.verifierKey))
            try note.verify(by: NoteKey(verifierKey: two.verifierKey))
            #expect(try await daemon.stop() == 0)

            // The fork: the early copy put back, grown with other events past the cosigned size.
            for suffix in ["", "-wal", "-shm"] {
                try? FileManager.default.removeItem(atPath: folder + "/data/vigil.sqlite" + suffix)
            }
            for suffix in ["", "-wal", "-shm"] {
                try? FileManager.default.removeItem(atPath: folder + "/data/vigil.projections.sqlite" + suffix)
            }
            try FileManager.default.copyItem(atPath: backup, toPath: folder + "/data/vigil.sqlite")
            daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin, extraEnvironment: environment)
            let other = Fixtures.batch(
                (0..<120).map { _ in Fixtures.envelope(Fixtures.vitals(systolic: 131), by: keys.device) })
            #expect(try await daemon.client.post("/v1/events/batch", other).status == 200)
            #expect(try await daemon.client.logHead(token: auditor).size > size)
            #expect(try await daemon.client.send("POST", "/v1/checkpoint", token: auditor).status == 200)
            try await waitUntil("vigild reports the witnesses' refusal", on: daemon) {
                let health = try await daemon.client.get("/healthz")
                return health.status == 503 && health.text.contains("does not extend the checkpoint")
                    && health.text.contains("witness.example.org/w2")
            }
            #expect(daemon.logText.contains("critical"))
            #expect(daemon.logText.contains("a witness refused the log's checkpoint"))
            // The witnesses kept the size they cosigned: nothing was rolled back on their side.
            let served2 = try SignedNote(parsing: try await daemon.client.get("/v1/checkpoint").body)
            #expect(served2.signatures.count == 1, "the forked checkpoint carries no cosignature")
            _ = try await daemon.stop()
        }
    }

    /// Asks `condition` every 200 ms until it holds. The daemon submits to its witnesses every 5 s and gives each
    /// 10 s to answer, so a loaded machine may take several rounds; when even a minute is not enough, the failure
    /// shows what the daemon reported and logged.
    func waitUntil(
        _ what: String, on daemon: DaemonProcess, timeout: Duration = .seconds(60),
        _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        let health = (try? await daemon.client.get("/healthz").text) ?? "no answer"
        throw TestFailure(
            "timed out waiting until \(what)\n/healthz: \(health)\nthe end of vigild's log:\n\(daemon.logText.suffix(4000))"
        )
    }
}
