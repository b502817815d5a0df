import Foundation
import Testing
import VigilModel
import VigilTestSupport

/// The webhook's outbox across restarts of the real vigild: alerts raised while the receiver is down reach it
/// once it is up, after a SIGTERM or a SIGKILL in between.
@Suite(.serialized) struct WebhookRestartTests {
    static let alerts = 4

    /// The webhook settings: quick retries, and enough attempts that nothing is given up within the test.
    static func environment(port: Int) -> [String: String] {
        [
            "VIGIL_ALERTS_WEBHOOK_URL": "http://127.0.0.1:\(port)/hooks/vigil",
            "VIGIL_ALERTS_WEBHOOK_RETRYSECONDS": "0.05",
            "VIGIL_ALERTS_WEBHOOK_MAXATTEMPTS": "100",
        ]
    }

    /// Registers the cast, then submits vital signs that raise one urgent hypertension alert for each of
    /// `alerts` participants.
    static func raiseAlerts(_ daemon: DaemonProcess, keys: TestKeys) async throws {
        #expect(try await daemon.client.post("/v1/events/batch", Fixtures.batch(keys.registrations())).status == 200)
        for index in 1...alerts {
            let vitals = Fixtures.vitals(
                systolic: 172, diastolic: 104, participant: "P-000\(index)", session: "P-000\(index)-S1")
            #expect(
                try await daemon.client.post("/v1/events", Fixtures.envelope(vitals, by: keys.device)).status == 201)
        }
    }

    /// The alerts of the webhook's severities (urgent, critical) that the daemon's views list, once all
    /// `alerts` are there: the alerts in the log that the webhook must deliver.
    static func alertIds(in daemon: DaemonProcess) async throws -> Set<String> {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let response = try await daemon.client.get("/v1/alerts", token: "e2e-officer")
            if case .array(let alerts)? = try JSONParser.parse(response.body)["alerts"] {
                let ids = alerts.filter { ["urgent", "critical"].contains($0["severity"]?.literal) }
                    .compactMap { $0["alertId"]?.literal }
                if ids.count >= Self.alerts { return Set(ids) }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("the daemon did not list \(alerts) alerts")
    }

    /// The alert ids the receiver took (answered 2xx), each with how many times it took it.
    static func taken(by receiver: RecordingServer) -> [String: Int] {
        var counts: [String: Int] = [:]
        for request in receiver.requests where (200..<300).contains(request.status) {
            counts[request.header("Vigil-Alert-Id") ?? "none", default: 0] += 1
        }
        return counts
    }

    /// Waits (at most 30 s) until the receiver has taken `count` distinct alerts.
    static func waitUntil(_ receiver: RecordingServer, took count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while taken(by: receiver).count < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test func aReceiverDownAcrossARestartGetsEveryAlertOnceById() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            // Down: the receiver answers 503 to everything while the alerts are raised.
            let down = try RecordingServer.start(statuses: [503])
            let port = down.port
            let first = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin, extraEnvironment: Self.environment(port: port))
            try await Self.raiseAlerts(first, keys: keys)
            let raised = try await Self.alertIds(in: first)
            #expect(raised.count == Self.alerts)
            // Every alert was tried and refused before the restart.
            let deadline = ContinuousClock.now + .seconds(30)
            while Set(down.requests.compactMap { $0.header("Vigil-Alert-Id") }).count < Self.alerts,
                ContinuousClock.now < deadline
            {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(Set(down.requests.compactMap { $0.header("Vigil-Alert-Id") }) == raised)
            #expect(try await first.stop(signal: SIGTERM) == 0, "\(first.logText)")
            down.stop()
            #expect(FileManager.default.fileExists(atPath: folder + "/data/vigil.outbox.sqlite"))

            // Up, on the same address: the restarted daemon delivers every alert, each once.
            let up = try RecordingServer.start(port: port, statuses: [200])
            defer { up.stop() }
            let second = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin, extraEnvironment: Self.environment(port: port))
            try await Self.waitUntil(up, took: Self.alerts)
            // A moment more, so that a duplicate would have arrived.
            try await Task.sleep(for: .seconds(1))
            #expect(try await second.stop(signal: SIGTERM) == 0, "\(second.logText)")
            let taken = Self.taken(by: up)
            #expect(Set(taken.keys) == raised, "every alert raised while the receiver was down")
            #expect(taken.values.allSatisfy { $0 == 1 }, "each alert once: \(taken)")
            #expect(second.logText.contains("webhook delivery resumed"), "\(second.logText)")
        }
    }

    @Test func anAlertCommittedBeforeASigkillIsDeliveredAfterTheRestart() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            // A port with nothing listening: every attempt is refused.
            let reserved = try RecordingServer.start(statuses: [200])
            let port = reserved.port
            reserved.stop()
            // The outbox where alerts.webhook.outboxPath says.
            let outboxPath = folder + "/data/alerts-outbox.sqlite"
            let environment = Self.environment(port: port).merging(["VIGIL_ALERTS_WEBHOOK_OUTBOXPATH": outboxPath]) {
                $1
            }
            let first = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin, extraEnvironment: environment)
            try await Self.raiseAlerts(first, keys: keys)
            // The alerts are in the log (registrations, vital signs, alerts): kill the daemon at once.
            let expected = Int64(keys.registrable.count + 2 * Self.alerts)
            let deadline = ContinuousClock.now + .seconds(30)
            while try await first.client.logHead(token: "e2e-auditor").size < expected, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            _ = try await first.stop(signal: SIGKILL)
            #expect(FileManager.default.fileExists(atPath: outboxPath))

            let up = try RecordingServer.start(port: port, statuses: [200])
            defer { up.stop() }
            let second = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin, extraEnvironment: environment)
            let raised = try await Self.alertIds(in: second)
            #expect(raised.count == Self.alerts)
            try await Self.waitUntil(up, took: Self.alerts)
            #expect(try await second.stop(signal: SIGTERM) == 0, "\(second.logText)")
            let taken = Self.taken(by: up)
            #expect(Set(taken.keys) == raised, "every alert in the log, each at least once: \(taken)")
        }
    }
}
