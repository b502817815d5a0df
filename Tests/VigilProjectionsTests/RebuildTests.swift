import Foundation
import GRDB
import Logging
import Metrics
import ServiceLifecycle
import Testing
import VigilModel
import VigilProjections
import VigilStore
import VigilTestSupport

/// A random but valid log: the cast's registrations, then `count` events in all, of every type, by signers
/// of the right roles. Built on every core; the same seed gives the same log.
func randomLog(keys: TestKeys, count: Int, seed: UInt64 = 7) async -> [VerifiedEvent] {
    let now = Timestamp(rfc3339: "2026-11-01T00:00:00Z")!
    let registrations: [VerifiedEvent] = keys.registrable.map {
        Fixtures.verified(Fixtures.registration(of: $0.key, role: $0.role, name: $0.name, at: now), by: keys.admin)
    }
    let chunks = 16
    let perChunk = (count - registrations.count + chunks - 1) / chunks
    let parts = await Parallel.map(Array(0..<chunks), minimumChunk: 1) { chunk in
        randomEvents(
            keys: keys, count: min(perChunk, count - registrations.count - chunk * perChunk),
            seed: seed &+ UInt64(chunk), now: now)
    }
    return registrations + parts.flatMap { $0 }
}

func randomEvents(keys: TestKeys, count: Int, seed: UInt64, now: Timestamp) -> [VerifiedEvent] {
    var rng = SplitMix(seed: seed)
    var events: [VerifiedEvent] = []
    events.reserveCapacity(max(0, count))
    let participants = (0..<200).map { "P-\(1000 + $0)" }
    while events.count < count {
        var payload = RandomEvents.payload(using: &rng, now: now)
        let author: SigningKey
        switch payload.type {
        case .keyRegistered, .keyRevoked: continue
        case .alertRaised: author = keys.daemon
        case .alertAcknowledged, .alertResolved, .adverseEventSubmitted, .adverseEventUpdated: author = keys.officer
        case .inventoryReceived, .doseDispensed, .doseWasted, .inventoryDestroyed, .inventoryCounted:
            author = keys.pharmacist
        case .vitalsRecorded: author = keys.device
        default: author = keys.clinician
        }
        // Few participants, sessions and lots, so views accumulate many events each.
        let participant = participants.randomElement(using: &rng)!
        if payload.participant != nil { payload.participant = participant }
        if payload.session != nil { payload.session = participant + "-S\(Int.random(in: 1...3, using: &rng))" }
        switch payload.data {
        case .doseDispensed(var body):
            body.lot = "L-\(Int.random(in: 1...5, using: &rng))"
            payload.data = .doseDispensed(body)
        case .inventoryReceived(var body):
            body.lot = "L-\(Int.random(in: 1...5, using: &rng))"
            payload.data = .inventoryReceived(body)
        default:
            break
        }
        let witnesses = Array([keys.clinician2, keys.pharmacist2].prefix(payload.type.requiredWitnesses))
        events.append(Fixtures.verified(payload, by: author, witnesses: witnesses))
    }
    return events
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Runs a projection runner over `store` until it has projected `position`, then stops it.
func project(_ store: EventStore, views: ProjectionDatabase, until position: Int64) async throws -> ProjectionRunner {
    let runner = ProjectionRunner(
        store: store, database: views, logger: Logger(label: "test"), metricsFactory: NOOPMetricsHandler.instance)
    let group = ServiceGroup(services: [runner], gracefulShutdownSignals: [], logger: Logger(label: "test"))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        while runner.currentStatus.position < position { try await Task.sleep(for: .milliseconds(20)) }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
    return runner
}

@Suite(.serialized) struct RebuildTests {
    @Test func aRebuildOfAHundredThousandEventsReproducesTheLiveViews() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let storePath = folder + "/vigil.sqlite"
            let viewsPath = folder + "/vigil.projections.sqlite"
            let store = try EventStore.open(path: storePath, anchors: keys.anchors, logger: Logger(label: "test"))
            let log = await randomLog(keys: keys, count: 100_000)
            // The live runner follows while the log is written in chunks, flushing views as it goes.
            let views = try ProjectionDatabase.open(path: viewsPath)
            let runner = ProjectionRunner(
                store: store, database: views, logger: Logger(label: "test"),
                metricsFactory: NOOPMetricsHandler.instance)
            let group = ServiceGroup(services: [runner], gracefulShutdownSignals: [], logger: Logger(label: "test"))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                for start in stride(from: 0, to: log.count, by: 5000) {
                    let outcomes = await store.append(Array(log[start..<min(log.count, start + 5000)]))
                    #expect(outcomes.allSatisfy { $0.position != nil })
                }
                while runner.currentStatus.position < store.head.size { try await Task.sleep(for: .milliseconds(20)) }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            try views.close()
            #expect(store.head.size == 100_000)
            await store.close()

            // Offline rebuild from scratch: at the live checkpoint, every digest must match.
            let report = try await ProjectionRebuild.run(storePath: storePath, projectionsPath: viewsPath)
            #expect(report.eventsReplayed == 100_000)
            #expect(report.previousPosition == 100_000)
            #expect(report.mismatched.isEmpty, "\(report.mismatched)")
            #expect(report.undecodable.isEmpty)
            // A second rebuild compares against the first.
            let again = try await ProjectionRebuild.run(storePath: storePath, projectionsPath: viewsPath)
            #expect(again.mismatched.isEmpty)
            #expect(again.digests.digests == report.digests.digests)
        }
    }

    @Test func theRunnerRepairsViewsThatDifferFromTheLog() async throws {
        try await withCourse { course, _, models, folder in
            let viewsPath = folder + "/vigil.projections.sqlite"
            // Someone edits a view: the inventory claims more on hand.
            let raw = try DatabaseQueue(path: viewsPath)
            try await raw.write { db in
                try db.execute(
                    sql: "UPDATE view_inventory SET doc = CAST(replace(CAST(doc AS TEXT), '9517.5', '9999') AS BLOB)")
            }
            try raw.close()
            #expect(try await models.inventory()["lots"]?[0]?["onHandMg"]?.number == "9999")

            // A runner starting over this store replays, finds the digest differs, and rewrites the views.
            let store = try EventStore.open(
                path: folder + "/vigil.sqlite", anchors: course.keys.anchors, logger: Logger(label: "test"))
            let views = try ProjectionDatabase.open(path: viewsPath)
            _ = try await project(store, views: views, until: store.head.size)
            try views.close()
            await store.close()
            #expect(try await models.inventory()["lots"]?[0]?["onHandMg"]?.number == "9517.5")
            let report = try await ProjectionRebuild.run(
                storePath: folder + "/vigil.sqlite", projectionsPath: viewsPath)
            #expect(report.mismatched.isEmpty)
        }
    }

    @Test func aTamperedCheckpointIsReportedByTheRebuild() async throws {
        try await withCourse { _, _, _, folder in
            let viewsPath = folder + "/vigil.projections.sqlite"
            let raw = try DatabaseQueue(path: viewsPath)
            try await raw.write { db in
                try db.execute(
                    sql: "UPDATE checkpoint SET digests = replace(digests, '\"inventory\":\"', '\"inventory\":\"00')")
            }
            try raw.close()
            let report = try await ProjectionRebuild.run(
                storePath: folder + "/vigil.sqlite", projectionsPath: viewsPath)
            #expect(report.mismatched == [.inventory])
        }
    }
}
