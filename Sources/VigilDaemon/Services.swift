import Logging
import ServiceLifecycle
import VigilModel
import VigilProjections
import VigilStore

/// Owns the event store's lifetime inside the ServiceGroup: on graceful shutdown (after the HTTP server has
/// finished its requests) it waits for the appends under way, then closes the database.
struct StoreService: Service {
    let store: EventStore
    /// The store's lock (``StoreLock``), given up only once the store is closed.
    let lock: StoreLock

    func run() async throws {
        try? await gracefulShutdown()
        await store.close()
        lock.release()
    }
}

/// Signs the head of the log with the daemon's key at start and then at a fixed interval when it has grown,
/// as a signed head and as a checkpoint of the Merkle tree, so that a removed tail is detectable against a
/// head the daemon signed (see `vigilctl verify`) and followers of the log get a fresh checkpoint.
///
/// On a database several nodes share, only the leader signs.
struct HeadSigningService: Service {
    let store: EventStore
    let signer: LogSigner
    let leadership: Leadership
    let interval: Duration
    let metrics: SignedHeadMetrics
    let logger: Logger

    func run() async throws {
        var lastSigned: Int64 = -1
        // A checkpoint at start too, so that a fresh log (or one grown offline) has one to serve at once.
        await sign(lastSigned: &lastSigned)
        await repeatEvery(interval) { await sign(lastSigned: &lastSigned) }
        await sign(lastSigned: &lastSigned)
    }

    private func sign(lastSigned: inout Int64) async {
        let size = store.head.size
        guard size != lastSigned, size > 0, leadership.isLeading else { return }
        do {
            let record = try await store.signHead(with: signer)
            lastSigned = record.head.size
            metrics.record(record.head)
            logger.info("log head signed", metadata: ["log.size": "\(record.head.size)"])
        } catch {
            logger.warning("could not sign the log head", metadata: ["store.error": "\(type(of: error))"])
        }
    }
}

/// Runs the projection runner and closes the views' database when it stops (before the store closes).
struct ProjectionService: Service {
    let runner: ProjectionRunner
    let database: ProjectionDatabase

    func run() async throws {
        defer { try? database.close() }
        try await runner.run()
    }
}
