import Foundation
import GRDB
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import Testing
import VigilModel
import VigilProjections
import VigilStore
import VigilTestSupport

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
            let live = try await views.read { try ViewDigest.of($0.db) }
            try views.close()
            #expect(store.head.size == 100_000)
            await store.close()

            // A check replays the log beside the views and finds them equal, projection by projection.
            let check = try await ProjectionRebuild.check(storePath: storePath, projectionsPath: viewsPath)
            #expect(check.position == 100_000)
            #expect(check.mismatched.isEmpty, "\(check.differences)")
            // An offline rebuild from scratch: at the live checkpoint, every projection must match.
            let report = try await ProjectionRebuild.run(storePath: storePath, projectionsPath: viewsPath)
            #expect(report.position == 100_000)
            #expect(report.previousPosition == 100_000)
            #expect(report.mismatched.isEmpty, "\(report.differences)")
            #expect(report.undecodable.isEmpty)
            let rebuilt = try ProjectionDatabase.open(path: viewsPath)
            #expect(try await rebuilt.read { try ViewDigest.of($0.db) } == live)
            try rebuilt.close()
        }
    }

    @Test func aRestartAppliesOnlyTheEventsAfterTheCheckpoint() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let storePath = folder + "/vigil.sqlite"
            let viewsPath = folder + "/vigil.projections.sqlite"
            let log = await randomLog(keys: keys, count: 20_000, seed: 11)
            let store = try EventStore.open(path: storePath, anchors: keys.anchors, logger: Logger(label: "test"))
            _ = await store.append(Array(log[..<15_000]))
            var views = try ProjectionDatabase.open(path: viewsPath)
            let first = try await project(store, views: views, until: 15_000)
            #expect(first.currentStatus.applied == 15_000)
            try views.close()

            // While the daemon is down, more events arrive; the next start applies those alone.
            _ = await store.append(Array(log[15_000...]))
            views = try ProjectionDatabase.open(path: viewsPath)
            #expect(!views.createdEmpty)
            let second = try await project(store, views: views, until: 20_000)
            #expect(second.currentStatus.applied == 5_000, "only what came after the checkpoint")
            try views.close()
            await store.close()

            let check = try await ProjectionRebuild.check(storePath: storePath, projectionsPath: viewsPath)
            #expect(check.position == 20_000)
            #expect(check.mismatched.isEmpty, "\(check.differences)")
        }
    }

    @Test func anEditedViewRowIsReportedByTheCheckAndRepairedByARebuild() async throws {
        try await withCourse { _, _, models, folder in
            let storePath = folder + "/vigil.sqlite"
            let viewsPath = folder + "/vigil.projections.sqlite"
            // Someone edits a view: the inventory claims less was dispensed, so more on hand.
            let raw = try DatabaseQueue(path: viewsPath)
            try await raw.write { db in try db.execute(sql: "UPDATE lots SET dispensed = dispensed - 482000") }
            try raw.close()
            #expect(try json(await models.inventory())["lots"]?[0]?["onHandMg"]?.number == "9999.5")

            let check = try await ProjectionRebuild.check(storePath: storePath, projectionsPath: viewsPath)
            #expect(check.mismatched == [.inventory])
            #expect(check.differences == ["inventory: lots: row (L-9) has other values"])
            #expect(
                try json(await models.inventory())["lots"]?[0]?["onHandMg"]?.number == "9999.5",
                "a check changes nothing")
            // The daemon's periodic check, which decodes the log beside the requests (one thread at a lower
            // priority), finds the same.
            let besideRequests = try await {
                let (views, reader) = (try ProjectionDatabase.open(path: viewsPath), try LogReader(path: storePath))
                defer {
                    try? views.close()
                    reader.close()
                }
                return try await ProjectionRebuild.check(
                    log: reader, views: views, scratchPath: viewsPath + ".check", decoding: .besideRequests)
            }()
            #expect(besideRequests.mismatched == check.mismatched && besideRequests.differences == check.differences)

            // A rebuild reports the same difference and puts views equal to the log in place.
            let report = try await ProjectionRebuild.run(storePath: storePath, projectionsPath: viewsPath)
            #expect(report.mismatched == [.inventory])
            let views = try ProjectionDatabase.open(path: viewsPath)
            #expect(
                try json(await ReadModels(database: views).inventory())["lots"]?[0]?["onHandMg"]?.number == "9517.5")
            try views.close()
            let again = try await ProjectionRebuild.check(storePath: storePath, projectionsPath: viewsPath)
            #expect(again.mismatched.isEmpty)
        }
    }

    /// A views check reads the views' digests at its start and holds no reader on them while it replays the log,
    /// so their write-ahead log can start again meanwhile (held through the replay, it grew by tens of megabytes
    /// per check in the soak and was copied back in one burst after).
    @Test func aViewsCheckHoldsNoReaderOnTheViewsWhileItReplays() async throws {
        try await withCourse { _, _, _, folder in
            let storePath = folder + "/vigil.sqlite"
            let viewsPath = folder + "/vigil.projections.sqlite"
            let raw = try DatabaseQueue(path: viewsPath)
            defer { try? raw.close() }
            let views = try ProjectionDatabase.open(path: viewsPath)
            let reader = try LogReader(path: storePath)
            defer {
                try? views.close()
                reader.close()
            }
            // While the check replays, the views' log is emptied: impossible if the check held a snapshot.
            let log = ReplayProbe(reader) {
                try await raw.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
            }
            for decoding in [LogReplay.Decoding.everyCore, .besideRequests] {
                // A write the views' log holds (a flush would do the same), not yet in their file.
                try await raw.write { db in
                    try db.execute(sql: "UPDATE checkpoint SET updated_at = updated_at + 1 WHERE id = 1")
                }
                #expect(try fileSize(viewsPath + "-wal") > 0)
                let check = try await ProjectionRebuild.check(
                    log: log, views: views, scratchPath: viewsPath + ".check", decoding: decoding)
                #expect(check.mismatched.isEmpty, "\(check.differences)")
                #expect(log.probeErrors().isEmpty, "\(log.probeErrors())")
                #expect(try fileSize(viewsPath + "-wal") == 0)
            }
        }
    }

    @Test func theDigestChangesWhenRowsAreReorderedDuplicatedOrEdited() {
        func text(_ value: String) -> DatabaseValue { value.databaseValue }
        func integer(_ value: Int64) -> DatabaseValue { value.databaseValue }
        let a = [text("P-1"), integer(1), Data([1, 2]).databaseValue]
        let b = [text("P-2"), integer(2), DatabaseValue.null]
        let rows = ViewDigest.digest(rows: [a, b])
        #expect(rows == ViewDigest.digest(rows: [a, b]))
        #expect(rows != ViewDigest.digest(rows: [b, a]), "reordered")
        #expect(rows != ViewDigest.digest(rows: [a, b, b]), "duplicated")
        #expect(rows != ViewDigest.digest(rows: [a]), "removed")
        #expect(rows != ViewDigest.digest(rows: [a, [text("P-2"), integer(3), .null]]), "edited")
        // Values cannot be shifted across column or row boundaries without changing the digest.
        #expect(
            ViewDigest.digest(rows: [[text("ab"), text("c")]]) != ViewDigest.digest(rows: [[text("a"), text("bc")]]))
        #expect(
            ViewDigest.digest(rows: [[text("a")], [text("b")]]) != ViewDigest.digest(rows: [[text("a"), text("b")]]))
        #expect(ViewDigest.digest(rows: [[integer(1)]]) != ViewDigest.digest(rows: [[Double(1).databaseValue]]))
    }

    @Test func viewsOfAnotherVersionAreDroppedAndRebuilt() async throws {
        try await withCourse { course, _, _, folder in
            let viewsPath = folder + "/vigil.projections.sqlite"
            let raw = try DatabaseQueue(path: viewsPath)
            try await raw.write { db in try db.execute(sql: "PRAGMA user_version = 1") }
            try raw.close()
            let store = try EventStore.open(
                path: folder + "/vigil.sqlite", anchors: course.keys.anchors, logger: Logger(label: "test"))
            let views = try ProjectionDatabase.open(path: viewsPath)
            #expect(views.createdEmpty)
            let runner = try await project(store, views: views, until: store.head.size)
            #expect(runner.currentStatus.applied == store.head.size, "a full replay")
            #expect(
                try json(await ReadModels(database: views).inventory())["lots"]?[0]?["onHandMg"]?.number == "9517.5")
            try views.close()
            await store.close()
        }
    }
}

/// A log that runs `probe` at the first read of each replay, with what it threw kept for the test.
final class ReplayProbe<Source: LogSource>: LogSource, Sendable {
    let source: Source
    let probe: @Sendable () async throws -> Void
    private let errors = Mutex<[String]>([])

    init(_ source: Source, probe: @escaping @Sendable () async throws -> Void) {
        self.source = source
        self.probe = probe
    }

    func entries(after position: Int64, limit: Int) async throws -> [StoredEntry] {
        if position == 0 {
            do { try await probe() } catch { errors.withLock { $0.append("\(error)") } }
        }
        return try await source.entries(after: position, limit: limit)
    }

    func anchorHistory() async throws -> [AnchorChange] { try await source.anchorHistory() }

    func probeErrors() -> [String] { errors.withLock { $0 } }
}

private func fileSize(_ path: String) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
}
