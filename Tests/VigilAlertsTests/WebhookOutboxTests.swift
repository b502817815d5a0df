import Foundation
import Logging
import MetricsTestKit
import ServiceLifecycle
import Testing
import VigilModel
import VigilStore
import VigilTestSupport

@testable import VigilAlerts

/// A store with the test cast registered, and a webhook outbox beside it, over a temporary folder.
struct OutboxFixture {
    let keys = TestKeys()
    let folder: String
    let store: EventStore
    var outboxPath: String { folder + "/vigil.outbox.sqlite" }

    static let quiet: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    init(folder: String) async throws {
        self.folder = folder
        store = try EventStore.open(path: folder + "/vigil.sqlite", anchors: keys.anchors, logger: Self.quiet)
        _ = await store.append(keys.verifiedRegistrations(at: Fixtures.now()))
    }

    /// Appends an `alert.raised` signed by the daemon; returns its alert id.
    @discardableResult
    func raise(_ severity: AlertSeverity, participant: String = "P-0001") async throws -> EventID {
        let now = Fixtures.now()
        let alert = AlertRaised(
            alertId: EventID.v7(at: now), rule: .hypertension, severity: severity, participant: participant,
            causes: [], message: "blood pressure above the threshold")
        let outcome = await store.append([keys.signed(.alertRaised(alert), at: now)])
        guard case .stored = outcome.first else { throw TestFailure("the alert was not stored: \(outcome)") }
        return alert.alertId
    }

    /// Appends vital signs from the device: entries that are not alerts.
    func record(vitals count: Int) async {
        _ = await store.append((0..<count).map { _ in Fixtures.verified(Fixtures.vitals(), by: keys.device) })
    }

    func notifier(
        receiver: RecordingServer, outbox: WebhookOutbox, severities: Set<AlertSeverity> = [.urgent, .critical],
        maxAttempts: Int = 8, retryDelay: Duration = .milliseconds(20), metrics: TestMetrics = TestMetrics()
    ) -> WebhookNotifier {
        WebhookNotifier(
            settings: .init(
                url: URL(string: "http://127.0.0.1:\(receiver.port)/hooks/vigil")!, severities: severities,
                maxAttempts: maxAttempts, retryDelay: retryDelay),
            outbox: outbox, store: store, logger: Self.quiet, metricsFactory: metrics)
    }

    /// Runs the notifier as the daemon does (a service), while `body` runs; then shuts it down gracefully.
    func running(_ notifier: WebhookNotifier, _ body: () async throws -> Void) async throws {
        let group = ServiceGroup(services: [notifier], gracefulShutdownSignals: [], logger: Self.quiet)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await body()
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Waits (at most 20 s: a bound for a busy machine) until `condition` holds.
func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(20)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// The alert ids the receiver was sent, in the order received, with the status it answered.
func alertIds(_ receiver: RecordingServer) throws -> [(id: EventID, status: Int)] {
    try receiver.requests.map { request in
        guard let header = request.header("Vigil-Alert-Id"), let id = EventID(header) else {
            throw TestFailure("a request without Vigil-Alert-Id: \(request.head)")
        }
        let body = try JSONParser.parse(Array(request.body.utf8))
        #expect(body["alert"]?["alertId"]?.literal == header, "the header names the alert of the body")
        return (id, request.status)
    }
}

@Suite struct WebhookOutboxTests {
    @Test func anOutboxCreatedOnALogWithHistoryStartsAtItsEndAndSendsOnlyNewAlerts() async throws {
        try await withTemporaryDirectory { folder in
            let fixture = try await OutboxFixture(folder: folder)
            try await fixture.raise(.urgent)
            let end = fixture.store.head.size
            #expect(WebhookOutbox.defaultPath(forStore: fixture.store.file!) == fixture.outboxPath)
            let outbox = try WebhookOutbox.open(path: fixture.outboxPath, logEnd: end)
            #expect(outbox.opening == .created(at: end))
            #expect(try await outbox.scannedThrough() == end)
            let receiver = try RecordingServer.start(statuses: [200])
            defer { receiver.stop() }
            let notifier = fixture.notifier(receiver: receiver, outbox: outbox)
            try await fixture.running(notifier) {
                let new = try await fixture.raise(.critical)
                notifier.alertsAppended()
                #expect(try await eventually { receiver.requests.count >= 1 })
                #expect(try await eventually { try await outbox.deliveries().isEmpty })
                #expect(try alertIds(receiver).map(\.id) == [new], "the alert raised before the outbox is not sent")
            }
        }
    }

    @Test func readingTheLogKeepsAlertsOfTheConfiguredSeveritiesAndMovesItsPositionWithThem() async throws {
        try await withTemporaryDirectory { folder in
            let fixture = try await OutboxFixture(folder: folder)
            let outbox = try WebhookOutbox.open(path: fixture.outboxPath, logEnd: fixture.store.head.size)
            defer { outbox.close() }
            let receiver = try RecordingServer.start(statuses: [200])
            defer { receiver.stop() }
            let notifier = fixture.notifier(receiver: receiver, outbox: outbox)
            let urgent = try await fixture.raise(.urgent)
            await fixture.record(vitals: 5)
            try await fixture.raise(.warn)
            let critical = try await fixture.raise(.critical, participant: "P-0002")

            #expect(try await notifier.scan() == 2)
            let held = try await outbox.deliveries()
            #expect(held.map(\.alertId) == [urgent, critical], "the warn alert and the vital signs are left out")
            #expect(held.allSatisfy { $0.attempts == 0 && $0.lastStatus == nil && $0.givenUpAt == nil })
            #expect(try await outbox.scannedThrough() == fixture.store.head.size)
            // The body is the alert as the read API shows it, and its envelope signed by the daemon's key.
            let body = try JSONParser.parse(held[1].body)
            #expect(body["alert"]?["alertId"]?.literal == critical.description)
            #expect(body["alert"]?["participant"]?.literal == "P-0002")
            #expect(body["alert"]?["position"]?.literal == "\(held[1].position)")
            let envelope = try Envelope.decode(try #require(body["envelope"]))
            try envelope.verifySignatures { $0 == fixture.keys.daemon.id ? fixture.keys.daemon.verifyingKey : nil }

            // Reading again finds nothing new; a new alert is found from where the last reading stopped.
            #expect(try await notifier.scan() == 0)
            let later = try await fixture.raise(.urgent)
            #expect(try await notifier.scan() == 1)
            #expect(try await outbox.deliveries().map(\.alertId) == [urgent, critical, later])
        }
    }

    @Test func theReceiverGetsEveryAlertOnceByIdAfterRefusingSome() async throws {
        try await withTemporaryDirectory { folder in
            let fixture = try await OutboxFixture(folder: folder)
            let outbox = try WebhookOutbox.open(path: fixture.outboxPath, logEnd: fixture.store.head.size)
            let receiver = try RecordingServer.start(statuses: [503, 500, 200])
            defer { receiver.stop() }
            let metrics = TestMetrics()
            let notifier = fixture.notifier(receiver: receiver, outbox: outbox, metrics: metrics)
            var raised: [EventID] = []
            try await fixture.running(notifier) {
                for _ in 0..<5 { raised.append(try await fixture.raise(.urgent)) }
                notifier.alertsAppended()
                #expect(try await eventually { try alertIds(receiver).filter { $0.status == 200 }.count >= 5 })
                #expect(try await eventually { try await outbox.counts() == .init(pending: 0, givenUp: 0) })
            }
            let answered = try alertIds(receiver)
            let delivered = answered.filter { $0.status == 200 }.map(\.id)
            #expect(Set(delivered) == Set(raised))
            #expect(delivered.count == raised.count, "each alert taken once")
            #expect(answered.count == raised.count + 2, "two refusals, then every alert once")
            #expect(try metrics.expectCounter("vigil_webhook_deliveries_total").totalValue == 5)
            #expect(try metrics.expectCounter("vigil_webhook_failures_total").totalValue == 2)
            #expect(try metrics.expectGauge("vigil_webhook_queue_depth").lastValue == 0)
        }
    }

    @Test func anAlertTheReceiverKeepsRefusingDoesNotHoldBackTheOthers() async throws {
        try await withTemporaryDirectory { folder in
            let fixture = try await OutboxFixture(folder: folder)
            let outbox = try WebhookOutbox.open(path: fixture.outboxPath, logEnd: fixture.store.head.size)
            let dead = try await fixture.raise(.urgent, participant: "P-0009")
            // The receiver refuses every request for the first alert; the retry delay is long enough that the
            // others, raised after it, could only arrive in time if they do not wait behind it.
            let receiver = try RecordingServer.start { _, request in
                request.header("Vigil-Alert-Id") == dead.description ? 422 : 200
            }
            defer { receiver.stop() }
            let notifier = fixture.notifier(receiver: receiver, outbox: outbox, retryDelay: .seconds(60))
            try await fixture.running(notifier) {
                notifier.alertsAppended()
                #expect(try await eventually { receiver.requests.count >= 1 })
                var others: [EventID] = []
                for _ in 0..<6 { others.append(try await fixture.raise(.critical)) }
                notifier.alertsAppended()
                #expect(
                    try await eventually {
                        try Set(alertIds(receiver).filter { $0.status == 200 }.map(\.id)) == Set(others)
                    })
                #expect(try await eventually { try await outbox.counts() == .init(pending: 1, givenUp: 0) })
                let row = try #require(try await outbox.deliveries().first)
                #expect(row.alertId == dead && row.attempts == 1 && row.lastStatus == 422 && row.givenUpAt == nil)
                let wait = row.nextAttemptAt.microsecondsSinceEpoch - Fixtures.now().microsecondsSinceEpoch
                #expect(wait > 30_000_000, "the next attempt waits the retry delay: \(wait) µs")
            }
        }
    }

    @Test func anAlertRefusedMaxAttemptsTimesIsKeptGivenUpAndSentAfterARestart() async throws {
        try await withTemporaryDirectory { folder in
            let fixture = try await OutboxFixture(folder: folder)
            let refusing = try RecordingServer.start(statuses: [503])
            let metrics = TestMetrics()
            let first = try WebhookOutbox.open(path: fixture.outboxPath, logEnd: fixture.store.head.size)
            let alert = try await fixture.raise(.critical)
            let notifier = fixture.notifier(receiver: refusing, outbox: first, maxAttempts: 3, metrics: metrics)
            var givenUp = false
            try await fixture.running(notifier) {
                givenUp = try await eventually { try await first.counts() == .init(pending: 0, givenUp: 1) }
            }
            #expect(givenUp)
            refusing.stop()
            #expect(refusing.requests.count == 3)
            #expect(try metrics.expectCounter("vigil_webhook_given_up_total").totalValue == 1)
            #expect(try metrics.expectCounter("vigil_webhook_failures_total").totalValue == 3)
            #expect(try metrics.expectGauge("vigil_webhook_queue_depth").lastValue == 0, "given up is not pending")

            // The row is still there after a restart, and is tried again at once with a fresh series of attempts.
            let second = try WebhookOutbox.open(path: fixture.outboxPath, logEnd: fixture.store.head.size)
            #expect(second.opening == .existing)
            let kept = try #require(try await second.deliveries().first)
            #expect(kept.alertId == alert && kept.attempts == 3 && kept.lastStatus == 503 && kept.givenUpAt != nil)
            let receiver = try RecordingServer.start(statuses: [200])
            defer { receiver.stop() }
            var emptied = false
            try await fixture.running(fixture.notifier(receiver: receiver, outbox: second, maxAttempts: 3)) {
                emptied = try await eventually { try await second.counts() == .init(pending: 0, givenUp: 0) }
            }
            #expect(emptied)
            #expect(try alertIds(receiver).map(\.id) == [alert])
        }
    }

    @Test func anOutboxThatReadFurtherThanTheLogGoesBackToItsEnd() async throws {
        try await withTemporaryDirectory { folder in
            let fixture = try await OutboxFixture(folder: folder)
            let created = try WebhookOutbox.open(path: fixture.outboxPath, logEnd: 40)
            #expect(created.opening == .created(at: 40))
            created.close()
            // The store was replaced by a copy of 6 entries: alerts appended from there on must be found.
            let reopened = try WebhookOutbox.open(path: fixture.outboxPath, logEnd: 6)
            defer { reopened.close() }
            #expect(reopened.opening == .rewound(from: 40, to: 6))
            #expect(try await reopened.scannedThrough() == 6)
        }
    }

    @Test func aFileThatIsNotAnOutboxIsRefusedNotEmptied() async throws {
        try await withTemporaryDirectory { folder in
            let fixture = try await OutboxFixture(folder: folder)
            let size = fixture.store.head.size
            #expect(throws: StoreError.self) { try WebhookOutbox.open(path: fixture.store.file!, logEnd: size) }
            #expect(try await fixture.store.entries(after: 0, limit: 100).count == Int(size))
        }
    }

    @Test func theWaitBeforeEachRetryDoublesUpToFiveMinutes() {
        let delays = (1...12).map { WebhookNotifier.retryDelay(after: $0, first: .seconds(1)) }
        #expect(delays.prefix(4) == [.seconds(1), .seconds(2), .seconds(4), .seconds(8)])
        #expect(delays.last == .seconds(300))
    }
}
