import Foundation
import Synchronization
import Testing
import VigilModel
import VigilPostgres
import VigilStore
import VigilTestSupport

/// Two vigild nodes on one PostgreSQL database, 32 submitters split across them, and the leader killed (SIGKILL)
/// under load: the other node takes the lead within 10 seconds, appends the alerts the dead one decided and did not
/// append, and signs checkpoints; every acknowledged event is in the log once at its position, every alert once,
/// none lost, and the log verifies.
@Suite(.serialized) struct SeveralNodesTests {
    /// What the submitters saw.
    final class Tally: Sendable {
        let acknowledged = Mutex(Acknowledged())
        /// The ids of acknowledged events whose blood pressure must raise an alert.
        let alarming = Mutex<Set<EventID>>([])
        let count = Atomic<Int>(0)
        let other = Mutex<[String]>([])
        let stop = Atomic<Bool>(false)
    }

    /// Posts vital signs to one node until told to stop or the node is gone; every tenth reading is high, each in
    /// a session of its own, so each must raise one alert.
    static func submit(to client: TestHTTPClient, index: Int, keys: TestKeys, tally: Tally) async {
        var sent = 0
        while !tally.stop.load(ordering: .relaxed) {
            sent += 1
            let high = sent % 10 == 0
            let payload = Fixtures.vitals(
                systolic: high ? 192 : Double.random(in: 100...130), heartRate: Double.random(in: 60...100),
                participant: "P-\(index)", session: high ? "P-\(index)-S\(sent)" : "P-\(index)-S0")
            let envelope = Fixtures.envelope(payload, by: keys.device)
            guard let answer = try? await client.post("/v1/events", envelope) else { return }  // the node is gone
            switch answer.status {
            case 201:
                tally.acknowledged.withLock { try? $0.record([envelope], answer: answer) }
                if high { tally.alarming.withLock { _ = $0.insert(payload.id) } }
                tally.count.add(1, ordering: .relaxed)
            case 503:
                try? await Task.sleep(for: .milliseconds(20))
            default:
                tally.other.withLock { $0.append("\(answer.status): \(answer.text)") }
            }
        }
    }

    static func health(_ client: TestHTTPClient) async throws -> String {
        try await client.get("/healthz").text
    }

    /// The size of the checkpoint a node serves.
    static func checkpointSize(_ client: TestHTTPClient) async throws -> Int64 {
        let lines = try await client.get("/v1/checkpoint").text.split(separator: "\n")
        return lines.count > 1 ? Int64(lines[1]) ?? 0 : 0
    }

    @Test func twoNodesShareALogAndTheSecondTakesOverWhenTheLeaderIsKilled() async throws {
        try await withTemporaryDirectory { folder in
            try await PostgresTestDatabase.with { database in
                let keys = TestKeys()
                // The nodes share the daemon's key (docs/postgresql.md); each has its own folder for its views.
                let environment = [
                    "VIGIL_DATABASE_URL": database.description, "VIGIL_DAEMON_KEYPATH": folder + "/daemon.key",
                    "VIGIL_TRANSPARENCY_CHECKPOINTINTERVALSECONDS": "1",
                ]
                let first = try await DaemonProcess.start(
                    folder: folder + "/a", adminKey: keys.admin, extraEnvironment: environment)
                #expect(try await first.waitForLog("vigild ready"), "\(first.logText)")
                let second = try await DaemonProcess.start(
                    folder: folder + "/b", adminKey: keys.admin, extraEnvironment: environment)
                #expect(try await second.waitForLog("vigild ready"), "\(second.logText)")
                #expect(try await Self.health(first.client).contains("leads: appends"))
                #expect(try await Self.health(second.client).contains("follows:"))

                #expect(
                    try await first.client.post("/v1/events/batch", Fixtures.batch(keys.registrations())).status == 200)
                // A key registered through one node signs events the other accepts at once: a node that does not
                // know a signer reads the shared head before it refuses.
                let reading = Fixtures.envelope(
                    Fixtures.vitals(participant: "P-99", session: "P-99-S1"), by: keys.device)
                let accepted = try await second.client.post("/v1/events", reading)
                #expect(accepted.status == 201, "\(accepted.text)")
                // In a batch too, and only the items refused for a signer it did not know are tried again: one
                // signed by nobody registered stays refused.
                let monitor = SigningKey()
                let registered = try await first.client.post(
                    "/v1/events",
                    Fixtures.envelope(
                        Fixtures.registration(of: monitor, role: .device, name: "Monitor"), by: keys.admin))
                #expect(registered.status == 201, "\(registered.text)")
                let mixed = try await second.client.post(
                    "/v1/events/batch",
                    Fixtures.batch(
                        [monitor, keys.device, SigningKey()].map {
                            Fixtures.envelope(Fixtures.vitals(participant: "P-98", session: "P-98-S1"), by: $0)
                        }))
                let results = try JSONParser.parse(mixed.body)["results"]
                #expect(results?[0]?["position"] != nil && results?[1]?["position"] != nil, "\(mixed.text)")
                #expect(results?[2]?["error"]?["code"]?.literal == "unknown_key", "\(mixed.text)")

                let tally = Tally()
                var killedAt: Int64 = 0
                var takeover: Duration = .zero
                try await withThrowingTaskGroup(of: Void.self) { group in
                    defer { tally.stop.store(true, ordering: .relaxed) }
                    for index in 0..<32 {
                        let client = index % 2 == 0 ? first.client : second.client
                        group.addTask { await Self.submit(to: client, index: index, keys: keys, tally: tally) }
                    }
                    #expect(
                        try await DatabaseOutageTests.eventually(60) { tally.count.load(ordering: .relaxed) >= 600 })

                    // The leader dies as in a crash: whatever it decided and had not appended is left behind.
                    kill(first.pid, SIGKILL)
                    // The last checkpoint the dead leader signed: the next, larger one can only be the survivor's.
                    killedAt = try await Self.checkpointSize(second.client)
                    let killed = ContinuousClock.now
                    #expect(
                        try await DatabaseOutageTests.eventuallyAsync(10) {
                            try await Self.health(second.client).contains("leads: appends")
                        }, "no takeover: \(second.logText.suffix(2000))")
                    takeover = ContinuousClock.now - killed
                    let before = tally.count.load(ordering: .relaxed)
                    #expect(
                        try await DatabaseOutageTests.eventually(30) {
                            tally.count.load(ordering: .relaxed) >= before + 200
                        })
                    tally.stop.store(true, ordering: .relaxed)
                }
                #expect(tally.other.withLock { $0 }.isEmpty, "\(tally.other.withLock { $0.prefix(3) })")
                // The new leader signs checkpoints of the log as it grows.
                #expect(
                    try await DatabaseOutageTests.eventuallyAsync(10) {
                        try await Self.checkpointSize(second.client) > killedAt
                    })

                // Every alarming event has its alert, appended by whichever node led: wait until the survivor's views
                // show an alert caused by each (the log is checked below).
                let alarming = tally.alarming.withLock { $0 }
                let expected = Set(alarming.map { "\($0)" })
                #expect(
                    try await DatabaseOutageTests.eventuallyAsync(30) {
                        let open = try await PostgresDaemonTests.openAlerts(second.client, limit: 1000)
                        let causes = open.flatMap { alert -> [String] in
                            guard case .array(let causes)? = alert.objectValue?["causes"] else { return [] }
                            return causes.compactMap { if case .string(let id) = $0 { id } else { nil } }
                        }
                        return expected.isSubset(of: Set(causes))
                    }, "alerts missing in the survivor's views")
                if let line = second.logText.split(separator: "\n").first(where: {
                    $0.contains("taking over the alerts")
                }) {
                    print("two nodes: \(line)")
                }
                #expect(try await second.stop() == 0)

                let exported = folder + "/audit.sqlite"
                let export = try await run(
                    Binaries.vigilctl, ["export", "store", "--from", database.description, "--to", exported])
                #expect(export.status == 0, "\(export.stdout)\(export.stderr)")
                let acknowledged = tally.acknowledged.withLock { $0 }
                let stored = try acknowledged.checkStore(at: exported)
                let verify = try await run(Binaries.vigilctl, ["verify", "--database", exported])
                #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")

                // Each alarming event raised one alert, no more and no less.
                var alerts: [EventID: Int] = [:]
                let reader = try LogReader(path: exported)
                defer { reader.close() }
                var after: Int64 = 0
                while case let page = try reader.entries(after: after, limit: 4096), let last = page.last {
                    for entry in page {
                        let envelope = try Envelope.decode(entry.envelope)
                        guard
                            case .alertRaised(let body) = try EventPayload.decode(envelope.payload, context: .replay)
                                .data,
                            body.rule == .hypertension
                        else { continue }
                        for cause in body.causes { alerts[cause, default: 0] += 1 }
                    }
                    after = last.position
                }
                let missing = alarming.filter { alerts[$0] == nil }
                let doubled = alerts.filter { $0.value > 1 }
                #expect(missing.isEmpty, "\(missing.count) alarming events raised no alert")
                #expect(doubled.isEmpty, "\(doubled.count) events raised more than one alert")
                print(
                    "two nodes: \(acknowledged.entries.count) acknowledged, \(stored) stored, "
                        + "\(alarming.count) alarming, takeover after \(takeover)")
            }
        }
    }
}
