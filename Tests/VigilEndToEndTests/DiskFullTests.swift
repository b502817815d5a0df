import Foundation
import Testing
import VigilModel
import VigilStore
import VigilTestSupport

/// The store on a small tmpfs that fills up: ingest answers 503 `unavailable` saying so, nothing acknowledged
/// is lost, the log stays valid, and ingest resumes by itself once space is freed.
///
/// vigild runs in a mount namespace of its own (`unshare -m`) with a 8 MiB tmpfs over its data folder; the test
/// reaches that folder through `/proc/PID/root` and `nsenter`. Mounting needs root.
@Suite(.serialized, .enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
struct DiskFullTests {
    @Test func aFullDiskRefusesWithUnavailableLosesNothingAndRecoversByItself() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let disk = folder + "/disk"
            try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
            let daemon = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin,
                extraEnvironment: ["VIGIL_DATABASE_PATH": disk + "/vigil.sqlite"],
                launcher: [
                    "/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                    "mount -t tmpfs -o size=8m tmpfs \"$0\" && exec \"$@\"", disk,
                ]
            )
            // The daemon's view of its folder: the tmpfs, which the test's own namespace does not see.
            let seen = "/proc/\(daemon.pid)/root" + disk
            #expect(FileManager.default.fileExists(atPath: seen + "/vigil.sqlite"))
            #expect(!FileManager.default.fileExists(atPath: disk + "/vigil.sqlite"))
            #expect(
                try await daemon.client.post("/v1/events/batch", Fixtures.batch(keys.registrations())).status == 200)

            var acknowledged = Acknowledged()
            func submit(_ count: Int) async throws -> TestHTTPClient.Response {
                let envelopes = (0..<count).map { _ in
                    Fixtures.envelope(Fixtures.vitals(heartRate: Double.random(in: 60...90)), by: keys.device)
                }
                let answer = try await daemon.client.post("/v1/events/batch", Fixtures.batch(envelopes))
                try acknowledged.record(envelopes, answer: answer)
                return answer
            }
            for _ in 0..<5 { #expect(try await submit(50).status == 200) }

            // Fill the disk, then keep writing until the store runs out of room (SQLite may still have space
            // inside its files for a while).
            let ballast = seen + "/ballast"
            Self.fill(ballast)
            var refusal: TestHTTPClient.Response?
            for _ in 0..<400 {
                let response = try await submit(50)
                if response.status != 200 {
                    refusal = response
                    break
                }
            }
            let refused = try #require(refusal, "the store never ran out of space")
            #expect(refused.status == 503, "\(refused.text)")
            #expect(refused.text.contains("\"code\":\"unavailable\""), "\(refused.text)")
            #expect(refused.text.contains("disk is full"), "\(refused.text)")
            #expect(refused.headers["retry-after"] != nil)
            // Single events meet the same answer once the room left inside the store's files is used: SQLite writes
            // its log again over the space it had once the log is copied into the file (beside the appends, at most
            // a second later), so a small event may still fit where a batch did not. Reads go on.
            var singleRefusal: TestHTTPClient.Response?
            for _ in 0..<1000 {
                let envelope = Fixtures.envelope(Fixtures.vitals(), by: keys.device)
                let answer = try await daemon.client.post("/v1/events", envelope)
                try acknowledged.record([envelope], answer: answer)
                if answer.status != 201 {
                    singleRefusal = answer
                    break
                }
            }
            let single = try #require(singleRefusal, "single events were still stored after 1000 on the full disk")
            #expect(single.status == 503, "\(single.text)")
            let head = try await daemon.client.get("/v1/log/head", token: "e2e-auditor")
            #expect(head.status == 200)
            let degraded = try await daemon.client.get("/healthz")
            #expect(degraded.status == 503 && degraded.text.contains("disk is full"), "\(degraded.text)")
            #expect(daemon.logText.contains("commit failed; nothing in this group was stored"))

            // Free the space: the next writes succeed with no restart.
            try FileManager.default.removeItem(atPath: ballast)
            var resumed = false
            for _ in 0..<100 where !resumed {
                resumed = try await submit(10).status == 200
                if !resumed { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(resumed, "ingest did not resume after space was freed")
            for _ in 0..<5 { #expect(try await submit(50).status == 200) }

            // Nothing acknowledged was lost, positions are gap-free and the chain verifies. SQLite resolves the
            // /proc/PID/root link back to this namespace, so an online backup taken inside the daemon's
            // namespace brings the store out, to the test's (shared) folder.
            let copy = folder + "/copy.sqlite"
            let backup = try await run(
                "/usr/bin/nsenter",
                [
                    "-t", "\(daemon.pid)", "-m", "--", Binaries.vigilctl, "backup", "--database",
                    disk + "/vigil.sqlite", "--out", copy,
                ])
            #expect(backup.status == 0, "\(backup.stderr)")
            try acknowledged.checkStore(at: copy)
            // The read models catch up too once they can write again.
            var healthy = false
            for _ in 0..<100 where !healthy {
                healthy = try await daemon.client.get("/healthz").status == 200
                if !healthy { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(healthy, "health did not recover")
            #expect(try await daemon.stop() == 0)
            // The write-ahead logs' movers fail on the full disk too, and say so once each, not once a second.
            for warning in [
                "the store's write-ahead log cannot be copied into its file",
                "the views' write-ahead log cannot be moved into their file",
            ] {
                let times = daemon.logText.components(separatedBy: warning).count - 1
                #expect(times <= 1, "\(warning): logged \(times) times")
            }
        }
    }

    /// Writes zeros to `path` until the file system refuses.
    static func fill(_ path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else {
            Issue.record("cannot create the ballast file \(path)")
            return
        }
        defer { close(descriptor) }
        let chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while chunk.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) > 0 {}
        let byte: [UInt8] = [0]
        while byte.withUnsafeBytes({ write(descriptor, $0.baseAddress, 1) }) > 0 {}
    }
}
