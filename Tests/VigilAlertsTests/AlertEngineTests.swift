import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import Testing
import VigilAlerts
import VigilModel
import VigilProjections
import VigilStore
import VigilTestSupport

/// A store, a projection runner with the alert engine as observer, over a temporary folder.
final class EngineFixture: Sendable {
    let keys: TestKeys
    let folder: String
    let store: EventStore
    let views: ProjectionDatabase
    let engine: AlertEngine
    let runner: ProjectionRunner

    init(
        folder: String, keys: TestKeys, settings: RuleSettings = RuleSettings(), leadership: Leadership = .sole()
    ) throws {
        self.keys = keys
        self.folder = folder
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        store = try EventStore.open(path: folder + "/vigil.sqlite", anchors: keys.anchors, logger: logger)
        views = try ProjectionDatabase.open(path: folder + "/vigil.projections.sqlite")
        let rules = Reloadable(settings)
        let engine = AlertEngine(
            store: store, database: views, key: keys.daemon, settings: rules, broadcaster: AlertBroadcaster(),
            webhook: nil, leadership: leadership, logger: logger, metricsFactory: NOOPMetricsHandler.instance
        )
        self.engine = engine
        runner = ProjectionRunner(
            store: store, database: views, settings: rules, reactor: engine, logger: logger,
            metricsFactory: NOOPMetricsHandler.instance
        )
    }

    /// Runs the runner while `body` appends, until the views hold still at the end of the log.
    func running(_ body: () async throws -> Void) async throws {
        let group = ServiceGroup(services: [runner], gracefulShutdownSignals: [], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await body()
            try await settle()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    func settle() async throws {
        var still = 0
        while still < 5 {
            try await Task.sleep(for: .milliseconds(20))
            still = runner.currentStatus.position == store.head.size ? still + 1 : 0
        }
    }

    func close() async throws {
        try views.close()
        await store.close()
    }

    /// Registers the test keys and starts session P-0001-S1 at `start`.
    func startSession(at start: Timestamp) async {
        _ = await store.append(
            keys.registrable.map {
                Fixtures.verified(Fixtures.registration(of: $0.key, role: $0.role, name: $0.name), by: keys.admin)
            })
        await append(
            Fixtures.payload(
                .sessionStarted(SessionStarted(number: 1)), participant: "P-0001", session: "P-0001-S1", at: start),
            by: keys.clinician)
    }

    func append(_ payload: EventPayload, by author: SigningKey, witnesses: [SigningKey] = []) async {
        let outcome = await store.append([Fixtures.verified(payload, by: author, witnesses: witnesses)]).first!
        precondition(outcome.position != nil, "\(outcome)")
    }

    /// The alert.raised events in the log.
    func raisedAlerts() async throws -> [AlertRaised] {
        var alerts: [AlertRaised] = []
        var after: Int64 = 0
        while true {
            let entries = try await store.entries(after: after, limit: 1000)
            if entries.isEmpty { break }
            for entry in entries {
                let envelope = try Envelope.decode(entry.envelope)
                if case .alertRaised(let body) = try EventPayload.decode(envelope.payload, context: .replay).data {
                    alerts.append(body)
                }
            }
            after = entries.last!.position
        }
        return alerts
    }
}

@Suite(.serialized) struct AlertEngineTests {
    func vitals(
        _ systolic: Double, _ diastolic: Double, session: String = "P-0001-S1", at time: Timestamp
    ) -> EventPayload {
        Fixtures.payload(
            .vitalsRecorded(VitalsRecorded(systolic: systolic, diastolic: diastolic)), participant: "P-0001",
            session: session, at: time)
    }

    @Test func alertsAreRaisedOnceEvenAcrossRestartsAndRebuilds() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let time = Fixtures.now().adding(seconds: -3600)
            var fixture = try EngineFixture(folder: folder, keys: keys)
            try await fixture.running {
                _ = await fixture.store.append(
                    keys.registrable.map {
                        Fixtures.verified(
                            Fixtures.registration(of: $0.key, role: $0.role, name: $0.name), by: keys.admin)
                    })
                await fixture.append(vitals(165, 95, at: time), by: keys.device)
                // Quiet: an urgent alert for the session is already open.
                await fixture.append(vitals(170, 102, at: time.adding(seconds: 60)), by: keys.device)
                await fixture.append(
                    vitals(120, 80, session: "P-0001-S2", at: time.adding(seconds: 120)), by: keys.device)
            }
            var raised = try await fixture.raisedAlerts()
            #expect(raised.map(\.rule) == [.hypertension], "one alert for the session while it is open")
            let size = fixture.store.head.size
            try await fixture.close()

            // A restart with the views thrown away replays every event through the engine: nothing new.
            try FileManager.default.removeItem(atPath: folder + "/vigil.projections.sqlite")
            fixture = try EngineFixture(folder: folder, keys: keys)
            try await fixture.running {}
            #expect(fixture.store.head.size == size)
            try await fixture.close()

            // An offline rebuild raises nothing either, and reproduces the views.
            let report = try await ProjectionRebuild.run(
                storePath: folder + "/vigil.sqlite", projectionsPath: folder + "/vigil.projections.sqlite")
            #expect(report.mismatched.isEmpty)

            // Once the officer resolves it, the next high reading raises a new alert.
            fixture = try EngineFixture(folder: folder, keys: keys)
            try await fixture.running {
                let alertId = raised[0].alertId
                await fixture.append(
                    Fixtures.payload(
                        .alertResolved(AlertResolved(alertId: alertId, note: "treated")), at: time.adding(seconds: 300)),
                    by: keys.officer)
                await fixture.append(vitals(168, 99, at: time.adding(seconds: 600)), by: keys.device)
            }
            raised = try await fixture.raisedAlerts()
            #expect(raised.map(\.rule) == [.hypertension, .hypertension])
            #expect(Set(raised.map(\.alertId)).count == 2)
            try await fixture.close()
        }
    }

    @Test func aWorseningRaisesANewAlertAndTheRecordNamesItsCause() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let time = Fixtures.now().adding(seconds: -3600)
            let fixture = try EngineFixture(folder: folder, keys: keys)
            let fever = Fixtures.payload(
                .vitalsRecorded(VitalsRecorded(temperatureC: 38.2)), participant: "P-0001", session: "P-0001-S1",
                at: time)
            let higher = Fixtures.payload(
                .vitalsRecorded(VitalsRecorded(temperatureC: 39.5)), participant: "P-0001", session: "P-0001-S1",
                at: time.adding(seconds: 60))
            let highest = Fixtures.payload(
                .vitalsRecorded(VitalsRecorded(temperatureC: 40.3)), participant: "P-0001", session: "P-0001-S1",
                at: time.adding(seconds: 120))
            try await fixture.running {
                _ = await fixture.store.append(
                    keys.registrable.map {
                        Fixtures.verified(
                            Fixtures.registration(of: $0.key, role: $0.role, name: $0.name), by: keys.admin)
                    })
                for payload in [fever, higher, highest] { await fixture.append(payload, by: keys.device) }
            }
            let raised = try await fixture.raisedAlerts()
            #expect(raised.map(\.severity) == [.warn, .urgent, .critical])
            #expect(raised.map(\.causes) == [[fever.id], [higher.id], [highest.id]])
            #expect(raised.allSatisfy { $0.participant == "P-0001" })
            // Signed by the daemon's key, and the log still verifies.
            try await fixture.close()
            let report = try LogVerifier.verify(path: folder + "/vigil.sqlite")
            #expect(report.isValid, "\(String(describing: report.failure))")
        }
    }

    @Test func deadlinesAreRaisedOnceWithATestClock() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let fixture = try EngineFixture(folder: folder, keys: keys)
            let start = Timestamp(rfc3339: "2026-06-01T09:00:00Z")!
            try await fixture.running {
                await fixture.startSession(at: start)
            }
            // Day 3 ends on June 5th: days 1-3 are missed.
            try await fixture.engine.checkDeadlines(now: Timestamp(rfc3339: "2026-06-05T00:00:00Z")!)
            try await fixture.engine.checkDeadlines(now: Timestamp(rfc3339: "2026-06-05T00:00:01Z")!)
            var raised = try await fixture.raisedAlerts()
            #expect(raised.map(\.rule) == [.missedFollowUp, .missedFollowUp, .missedFollowUp])
            // A later tick, after a restart of the engine (fresh memory), adds only what is new.
            let again = AlertEngine(
                store: fixture.store, database: fixture.views, key: keys.daemon, settings: Reloadable(RuleSettings()),
                broadcaster: AlertBroadcaster(), webhook: nil, logger: Logger(label: "test"),
                metricsFactory: NOOPMetricsHandler.instance
            )
            try await again.checkDeadlines(now: Timestamp(rfc3339: "2026-06-06T00:00:00Z")!)
            raised = try await fixture.raisedAlerts()
            #expect(raised.count == 4, "day 4 only")
            try await fixture.close()
        }
    }

    /// A node that does not lead (several nodes on one database) decides alerts from what it projects but appends
    /// none and raises no deadline; once it takes the lead it appends what it decided and runs the deadlines.
    @Test func aFollowerDecidesAndAppendsOnlyOnceItLeads() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let leadership = Leadership(leading: false)
            let fixture = try EngineFixture(folder: folder, keys: keys, leadership: leadership)
            let scheduler = AlertScheduler(
                engine: fixture.engine, runner: fixture.runner, clock: SystemWallClock(), logger: Logger(label: "test"))
            let start = Timestamp(rfc3339: "2026-06-01T09:00:00Z")!
            let fever = Fixtures.payload(
                .vitalsRecorded(VitalsRecorded(temperatureC: 39.5)), participant: "P-0001", session: "P-0001-S1",
                at: start.adding(seconds: 60))
            try await fixture.running {
                await fixture.startSession(at: start)
                await fixture.append(fever, by: keys.device)
                try await fixture.settle()
                await scheduler.tick()
                #expect(try await fixture.raisedAlerts().isEmpty, "a follower appended an alert")
                #expect(try await fixture.views.read { try $0.unsentAlerts() }.count == 1)

                #expect(leadership.update(leading: true) != nil)
                await fixture.engine.takeOver()
                await scheduler.tick()
            }
            let raised = try await fixture.raisedAlerts()
            #expect(raised.first?.causes == [fever.id])
            // The days since June 1st are long past: the missed follow-ups come with the lead.
            #expect(raised.dropFirst().allSatisfy { $0.rule == .missedFollowUp } && raised.count > 1, "\(raised)")
            try await fixture.close()
        }
    }

    @Test func theDryRunStoresNothing() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let fixture = try EngineFixture(folder: folder, keys: keys)
            let start = Fixtures.now().adding(seconds: -7200)
            try await fixture.running {
                _ = await fixture.store.append(
                    keys.registrable.map {
                        Fixtures.verified(
                            Fixtures.registration(of: $0.key, role: $0.role, name: $0.name), by: keys.admin)
                    })
                await fixture.append(
                    Fixtures.payload(
                        .participantEnrolled(
                            ParticipantEnrolled(
                                site: "S", medications: [Medication(name: "fluoxetine", serotonergic: true)])),
                        participant: "P-0001", at: start),
                    by: keys.clinician
                )
                await fixture.append(
                    Fixtures.payload(
                        .sessionStarted(SessionStarted(number: 1)), participant: "P-0001", session: "P-0001-S1",
                        at: start), by: keys.clinician)
            }
            let size = fixture.store.head.size
            let before = try await fixture.views.read { try ViewDigest.of($0.db) }
            let fired = try await DoseCheck.evaluate(
                DoseCheck.Request(
                    participant: "P-0001", session: "P-0001-S1", lot: "L-1", dose: Milligrams(100), kind: .initial),
                engine: fixture.engine, now: Fixtures.now()
            ).candidates
            #expect(
                Set(fired.map(\.rule)) == [.doseRegimen, .serotonergicComedication, .inventoryNegative],
                "lot L-1 was never received, and the check says so")
            #expect(fixture.store.head.size == size)
            #expect(try await fixture.views.read { try ViewDigest.of($0.db) } == before, "the views are unchanged")
            try await fixture.close()
        }
    }
}
