import Foundation
import GRDB
import Logging
import Testing
import VigilModel
import VigilStore
import VigilTestSupport

/// The read models on disk across crashes, edits and rebuilds, with the real daemon and vigilctl.
@Suite(.serialized) struct ReadModelRecoveryTests {
    /// A store of `count` random events with a head signed by the daemon's key, and that key where vigild looks.
    static func store(in folder: String, keys: TestKeys, count: Int) async throws -> String {
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        try KeyFile.pem(privateKey: keys.daemon).write(
            toFile: folder + "/data/daemon.key", atomically: true, encoding: .utf8)
        let path = folder + "/data/vigil.sqlite"
        let store = try EventStore.open(path: path, anchors: keys.anchors, logger: Logger(label: "test"))
        let log = await randomLog(keys: keys, count: count, seed: 3)
        for start in stride(from: 0, to: log.count, by: 5000) {
            _ = await store.append(Array(log[start..<min(log.count, start + 5000)]))
        }
        _ = try await store.signHead(with: LogSigner(key: keys.daemon, origin: "test.invalid/vigil"))
        await store.close()
        return path
    }

    /// The projections check of /healthz: its detail, the position it names and the log's size.
    static func projections(_ daemon: DaemonProcess) async throws -> (detail: String, position: Int64, size: Int64) {
        let health = try await daemon.client.get("/healthz")
        guard case .object(let root) = try JSONParser.parse(Array(health.text.utf8)),
            case .object(let checks)? = root["checks"], case .object(let check)? = checks["projections"],
            case .string(let detail)? = check["detail"],
            let position = detail.range(of: "at position "), let size = detail.range(of: " of ")
        else { throw TestFailure("no projections check in \(health.text)") }
        return (
            detail, Int64(detail[position.upperBound...].prefix { $0.isNumber }) ?? -1,
            Int64(detail[size.upperBound...].prefix { $0.isNumber }) ?? -1
        )
    }

    @Test func sigkillDuringAFlushLeavesViewsEqualToARebuild() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let count = 20_000
            let path = try await Self.store(in: folder, keys: keys, count: count)
            // The views are built from the log in flushes of thousands of events; kill the daemon in the middle,
            // twice, at different places.
            var killedAt: [Int64] = []
            for round in 0..<2 {
                // A kill that lands after the views are complete proves nothing (on a loaded machine this process
                // may look only once the daemon is done): the views are then removed and the round played again.
                for attempt in 1...3 {
                    let daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
                    var seen = try await Self.projections(daemon)
                    for _ in 0..<2000 {
                        seen = try await Self.projections(daemon)
                        if seen.position > Int64(round) * 8_000 + 1 { break }
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    _ = try await daemon.stop(signal: SIGKILL)
                    if seen.position < seen.size {
                        killedAt.append(seen.position)
                        break
                    }
                    #expect(attempt < 3, "round \(round): the views were built before the kill, \(attempt) times")
                    for suffix in ["", "-wal", "-shm"] {
                        try? FileManager.default.removeItem(atPath: folder + "/data/vigil.projections.sqlite" + suffix)
                    }
                }
            }
            try #require(killedAt.count == 2)
            // The next start resumes from the checkpoint the killed flush left, not from the start of the log.
            let daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            // Projecting raises the log's alerts as it goes; wait until the views hold still at its end.
            var resumed = try await Self.projections(daemon)
            var still = 0
            for _ in 0..<6000 where still < 20 {
                try await Task.sleep(for: .milliseconds(10))
                let now = try await Self.projections(daemon)
                still = now.detail.hasPrefix("following") && now.position == now.size && now == resumed ? still + 1 : 0
                resumed = now
            }
            #expect(resumed.position == resumed.size && resumed.size >= Int64(count), "\(resumed.detail)")
            #expect(daemon.logText.contains("read models resume from their checkpoint"))
            let resumedFrom = daemon.logText.components(separatedBy: "projection.position=").dropFirst().first
                .flatMap { Int64($0.prefix { $0.isNumber }) }
            #expect((resumedFrom ?? 0) >= killedAt.last!, "resumed from \(String(describing: resumedFrom))")
            #expect(try await daemon.stop() == 0)

            // Nothing applied twice or skipped: the views equal a replay of the log, table by table.
            let check = try await run(Binaries.vigilctl, ["rebuild", "--check", "--database", path])
            #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
            #expect(check.stdout.contains("at position \(resumed.size) every projection matches"))
        }
    }

    @Test func thePeriodicCheckReportsAnEditedRowAndARebuildRepairsIt() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let path = try await Self.store(in: folder, keys: keys, count: 3_000)
            let checking = ["VIGIL_INTEGRITY_VIEWSCHECKINTERVALSECONDS": "1"]
            var daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin, extraEnvironment: checking)
            #expect(try await daemon.waitForLog("read models checked against the log: equal"), "\(daemon.logText)")
            #expect(try await daemon.client.get("/healthz").status == 200)

            // Someone edits the views under the running daemon: a lot's balance.
            let views = try DatabaseQueue(path: folder + "/data/vigil.projections.sqlite")
            try await views.write { db in try db.execute(sql: "UPDATE lots SET received = received + 1000") }
            try views.close()
            #expect(try await daemon.waitForLog("read models differ from the log"), "\(daemon.logText)")
            let health = try await daemon.client.get("/healthz")
            #expect(health.status == 503)
            #expect(health.text.contains("inventory: lots: row"), "\(health.text)")
            #expect(try await daemon.stop() == 0)
            let check = try await run(Binaries.vigilctl, ["rebuild", "--check", "--database", path])
            #expect(check.status == 1)
            #expect(check.stdout.contains(": inventory"))

            // vigild --rebuild replays the log into the views at start; the next check finds them equal.
            daemon = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin, arguments: ["--rebuild"], extraEnvironment: checking)
            #expect(try await daemon.waitForLog("rebuilding the read models, as asked"), "\(daemon.logText)")
            #expect(try await daemon.waitForLog("read models checked against the log: equal"), "\(daemon.logText)")
            #expect(try await daemon.client.get("/healthz").status == 200)
            #expect(try await daemon.stop() == 0)
            let after = try await run(Binaries.vigilctl, ["rebuild", "--check", "--database", path])
            #expect(after.status == 0, "\(after.stdout)")
        }
    }
}
