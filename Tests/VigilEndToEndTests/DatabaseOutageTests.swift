import Foundation
import Synchronization
import Testing
import VigilModel
import VigilTestSupport

/// The database under vigild stops as a crash would (`pg_ctl stop -m immediate`) while events keep coming, then
/// starts again: appends answer 503 while it is away, resume by themselves, and nothing acknowledged is lost.
///
/// On a cluster of its own (scripts/postgres-cluster), since stopping the suite's shared one would fail other tests.
@Suite(.serialized) struct DatabaseOutageTests {
    /// What the submitters saw.
    final class Tally: Sendable {
        let acknowledged = Mutex(Acknowledged())
        let unavailable = Atomic<Int>(0)
        let other = Mutex<[String]>([])
        let stop = Atomic<Bool>(false)
        let acknowledgedCount = Atomic<Int>(0)
    }

    static func submit(to client: TestHTTPClient, keys: TestKeys, tally: Tally) async {
        while !tally.stop.load(ordering: .relaxed) {
            let envelope = Fixtures.envelope(
                Fixtures.vitals(systolic: Double.random(in: 100...150), heartRate: Double.random(in: 60...100)),
                by: keys.device)
            guard let answer = try? await client.post("/v1/events", envelope) else {
                try? await Task.sleep(for: .milliseconds(20))
                continue
            }
            switch answer.status {
            case 201:
                tally.acknowledged.withLock { try? $0.record([envelope], answer: answer) }
                tally.acknowledgedCount.add(1, ordering: .relaxed)
            case 503:
                tally.unavailable.add(1, ordering: .relaxed)
                try? await Task.sleep(for: .milliseconds(20))
            default:
                tally.other.withLock { $0.append("\(answer.status): \(answer.text)") }
            }
        }
    }

    /// Waits until `condition` holds, for at most `seconds`.
    static func eventually(_ seconds: Double, _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    /// Waits until `condition` holds, for at most `seconds`; a condition that throws counts as not holding yet.
    static func eventuallyAsync(_ seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }

    @Test func appendsAnswer503WhileTheDatabaseIsAwayAndResumeWithNothingLost() async throws {
        try await withTemporaryDirectory { folder in
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder)
            let clusterFolder = folder + "/cluster"
            try OwnCluster.run("start", clusterFolder)
            defer { try? OwnCluster.run("stop", clusterFolder) }
            let url = try OwnCluster.url(clusterFolder)

            let keys = TestKeys()
            let daemon = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin, extraEnvironment: ["VIGIL_DATABASE_URL": url])
            #expect(try await daemon.waitForLog("vigild ready"), "\(daemon.logText)")
            let client = daemon.client
            #expect(try await client.post("/v1/events/batch", Fixtures.batch(keys.registrations())).status == 200)

            let tally = Tally()
            try await withThrowingTaskGroup(of: Void.self) { group in
                // However this ends (a failed step throws), the submitters stop with it.
                defer { tally.stop.store(true, ordering: .relaxed) }
                for _ in 0..<8 { group.addTask { await Self.submit(to: client, keys: keys, tally: tally) } }
                #expect(try await Self.eventually(30) { tally.acknowledgedCount.load(ordering: .relaxed) >= 100 })

                try OwnCluster.run("kill", clusterFolder)
                #expect(
                    try await Self.eventually(15) { tally.unavailable.load(ordering: .relaxed) >= 20 },
                    "no 503 while the database was away: \(daemon.logText.suffix(3000))")
                let health = try await client.get("/healthz")
                #expect(health.status == 503, "\(health.text)")
                // Reads wait for a connection for at most 10 seconds, then answer 503 too.
                let read = try await client.get("/v1/events?after=0&limit=10", token: "e2e-auditor")
                #expect(read.status == 503 && read.text.contains("unavailable"), "\(read.status) \(read.text)")
                let before = tally.acknowledgedCount.load(ordering: .relaxed)

                try OwnCluster.run("restart", clusterFolder)
                #expect(
                    try await Self.eventually(30) { tally.acknowledgedCount.load(ordering: .relaxed) >= before + 100 },
                    "appends did not resume after the database came back")
                tally.stop.store(true, ordering: .relaxed)
            }
            #expect(tally.other.withLock { $0 }.isEmpty, "\(tally.other.withLock { $0.prefix(3) })")
            var health = try await client.get("/healthz")
            for _ in 0..<100 where health.status != 200 {
                try await Task.sleep(for: .milliseconds(100))
                health = try await client.get("/healthz")
            }
            #expect(health.status == 200, "\(health.text)")
            #expect(try await daemon.stop() == 0)

            // Every acknowledged event is in the log, at its position, with its bytes; the log verifies.
            let exported = folder + "/audit.sqlite"
            let export = try await run(Binaries.vigilctl, ["export", "store", "--from", url, "--to", exported])
            #expect(export.status == 0, "\(export.stdout)\(export.stderr)")
            let acknowledged = tally.acknowledged.withLock { $0 }
            let stored = try acknowledged.checkStore(at: exported)
            print(
                "database outage: \(acknowledged.entries.count) acknowledged, "
                    + "\(tally.unavailable.load(ordering: .relaxed)) answered 503, \(stored) stored")
        }
    }
}

/// scripts/postgres-cluster, for the tests that need a cluster of their own (stopping or replicating the suite's
/// shared one would disturb the other tests).
enum OwnCluster {
    static let script =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/scripts/postgres-cluster"

    /// Runs the script, its output discarded. Spawned and reaped here: Foundation's Process waits for every copy of
    /// a descriptor it hands the child to close, and the server the script starts keeps its copies.
    static func run(_ arguments: String...) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let words: [String] = [script] + arguments
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let spawned = posix_spawn(&pid, script, &actions, nil, argv, environ)
        guard spawned == 0 else { throw TestFailure("cannot run postgres-cluster: \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else { throw TestFailure("postgres-cluster \(arguments) failed (status \(status))") }
    }

    /// The URL the script wrote for the cluster in `folder`.
    static func url(_ folder: String) throws -> String {
        try String(contentsOfFile: folder + "/url", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
