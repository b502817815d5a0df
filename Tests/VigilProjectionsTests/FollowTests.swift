import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Testing
import VigilModel
import VigilProjections
import VigilStore
import VigilTestSupport

/// How the views follow a log that grows one commit at a time.
struct FollowTests {
    /// Under steady single appends the views follow in rounds, at most one per `followInterval`, each taking every
    /// commit since the last: issue 20 found a round per commit (a read of the log, a write of the views, the
    /// threads woken for each) cost more than the appends themselves.
    @Test func theViewsFollowSingleAppendsInRoundsNotOnePerCommit() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let store = try EventStore.open(
                path: folder + "/vigil.sqlite", anchors: keys.anchors, logger: Logger(label: "test"))
            let views = try ProjectionDatabase.open(path: folder + "/vigil.projections.sqlite")
            let log = await randomLog(keys: keys, count: 600, seed: 5)
            let runner = ProjectionRunner(
                store: store, database: views, logger: Logger(label: "test"),
                metricsFactory: NOOPMetricsHandler.instance)
            let group = ServiceGroup(services: [runner], gracefulShutdownSignals: [], logger: Logger(label: "test"))
            let elapsed = try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let started = ContinuousClock.now
                for event in log {
                    #expect(await store.append([event])[0].position != nil)
                }
                while runner.currentStatus.position < store.head.size { try await Task.sleep(for: .milliseconds(5)) }
                let elapsed = ContinuousClock.now - started
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return elapsed
            }
            let status = runner.currentStatus
            #expect(status.position == 600 && status.applied == 600)
            // One round at the start, then at most one per interval while the commits came.
            let allowed = Int64(elapsed / ProjectionRunner.followInterval) + 2
            #expect(status.flushes <= allowed, "\(status.flushes) flushes in \(elapsed)")
            #expect(status.flushes < 600)
            try views.close()
            await store.close()
        }
    }
}
