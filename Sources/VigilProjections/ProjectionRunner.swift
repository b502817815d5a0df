public import Logging
public import Metrics
public import ServiceLifecycle
import Synchronization
public import VigilModel
public import VigilStore

/// Keeps the read models up to date with the log.
///
/// At start it replays the log in memory up to the views' checkpoint and compares digests: equal, the views
/// on disk are the log's; different (or from another schema version), they are rewritten. Then it follows
/// each commit: new entries are applied and the changed views and the checkpoint written in one transaction.
/// Ingest never waits for it. If writing fails (say the disk is full), health turns degraded, the error is
/// logged and counted, and it retries with the changes kept, so nothing is skipped.
public final class ProjectionRunner: Service, Sendable {
    public struct Status: Sendable, Equatable {
        /// The position every written view reflects.
        public var position: Int64 = 0
        /// Whether the views have caught up with the log at least once since start.
        public var caughtUp = false
        /// The last failure, while failing; nil when healthy.
        public var failure: String?
    }

    /// Something that wants every event after it is projected (the alert engine). Called for every event after
    /// the checkpoint, before the checkpoint passes it; what it does must therefore be idempotent.
    public typealias Observer = @Sendable (_ event: StoredEvent, _ state: ProjectionState) async -> Void

    let store: EventStore
    let database: ProjectionDatabase
    let clock: any WallClock
    let logger: Logger
    let observer: Observer?
    private let status = Mutex(Status())
    /// The state after the last batch applied, for readers that need more than the views (the alert scheduler).
    private let published = Mutex<ProjectionState?>(nil)
    private let positionGauge: Gauge
    private let failures: Counter
    private let undecodable: Counter
    static let batchSize = 2048

    public init(
        store: EventStore, database: ProjectionDatabase, clock: any WallClock = SystemWallClock(), logger: Logger,
        metricsFactory: any MetricsFactory, observer: Observer? = nil
    ) {
        self.store = store
        self.database = database
        self.clock = clock
        self.logger = logger
        self.observer = observer
        positionGauge = Gauge(label: "vigil_projection_position", factory: metricsFactory)
        failures = Counter(label: "vigil_projection_failures_total", factory: metricsFactory)
        undecodable = Counter(label: "vigil_projection_undecodable_total", factory: metricsFactory)
    }

    public var currentStatus: Status { status.withLock { $0 } }

    /// The read models' state as of the last batch, nil before the first one.
    public var state: ProjectionState? { published.withLock { $0 } }

    public func run() async throws {
        let heads = store.heads()
        var state = LogReplay.initialState(anchors: try await store.anchorHistory())
        var digests = ProjectionDigests()
        var pending: [ProjectionState.Projection: Set<String>] = [:]

        // Start: rebuild the state in memory up to the checkpoint and check the views on disk against it.
        let checkpoint = try await database.checkpoint()
        if let checkpoint, checkpoint.schemaVersion == ProjectionDatabase.schemaVersion,
            checkpoint.position <= store.head.size
        {
            try await catchUp(&state, to: checkpoint.position)
            _ = state.takeChanges()
            digests = ProjectionDigests.of(state)
            // Compare with the views as they are on disk, not only with the digests the checkpoint claims.
            let onDisk = try await database.digestsOnDisk()
            let mismatched = ProjectionState.Projection.allCases.filter {
                digests.digest($0) != (checkpoint.digests[$0] ?? ProjectionDigest())
                    || digests.digest($0) != (onDisk[$0] ?? ProjectionDigest())
            }
            if mismatched.isEmpty {
                logger.info(
                    "read models verified against the log", metadata: ["projection.position": "\(checkpoint.position)"])
            } else {
                logger.error(
                    "read models on disk differ from the log; rewriting them",
                    metadata: [
                        "projection.mismatched": "\(mismatched.map(\.rawValue).joined(separator: ","))",
                        "projection.position": "\(checkpoint.position)",
                    ]
                )
                failures.increment()
                try await database.reset()
                pending = Self.everything(in: state)
                digests = ProjectionDigests()
            }
        } else {
            if checkpoint != nil {
                logger.notice("read models are from another version or ahead of the log; rebuilding them")
            }
            try await database.reset()
        }
        status.withLock { $0.position = checkpoint.map { min($0.position, state.position) } ?? 0 }
        if !pending.isEmpty { await flush(state: state, pending: &pending, digests: &digests) }

        for await head in heads.cancelOnGracefulShutdown() {
            while state.position < head && !Task.isShuttingDownGracefully {
                let entries = try await store.entries(after: state.position, limit: Self.batchSize)
                if entries.isEmpty { break }
                let events = await LogReplay.decode(entries)
                for (entry, event) in zip(entries, events) {
                    guard let event else {
                        state.skip(to: entry.position)
                        undecodable.increment()
                        logger.error(
                            "a stored event does not decode; it is left out of the read models",
                            metadata: ["event.position": "\(entry.position)"])
                        continue
                    }
                    state.apply(event)
                    // Before the checkpoint moves past the event, so what the observer appends (alerts) is
                    // durable first: a crash in between repeats the observation, never loses it.
                    if let observer { await observer(event, state) }
                }
                for (projection, keys) in state.takeChanges() { pending[projection, default: []].formUnion(keys) }
                await flush(state: state, pending: &pending, digests: &digests)
                published.withLock { $0 = state }
            }
            let caughtUp = state.position >= head
            if caughtUp { published.withLock { $0 = state } }
            status.withLock { $0.caughtUp = $0.caughtUp || caughtUp }
        }
    }

    /// Replays the log into `state` up to `position`, writing nothing.
    private func catchUp(_ state: inout ProjectionState, to position: Int64) async throws {
        let skipped = try await LogReplay.replay(into: &state, upTo: position) {
            try await store.entries(after: $0, limit: $1)
        }
        for position in skipped {
            undecodable.increment()
            logger.error(
                "a stored event does not decode; it is left out of the read models",
                metadata: ["event.position": "\(position)"])
        }
    }

    static func everything(in state: ProjectionState) -> [ProjectionState.Projection: Set<String>] {
        var all: [ProjectionState.Projection: Set<String>] = [:]
        for projection in ProjectionState.Projection.allCases { all[projection] = Set(state.keys(projection)) }
        return all
    }

    /// Writes the pending views; on failure keeps them pending and retries until it succeeds or shutdown.
    private func flush(
        state: ProjectionState, pending: inout [ProjectionState.Projection: Set<String>],
        digests: inout ProjectionDigests
    ) async {
        var delay = Duration.milliseconds(100)
        while true {
            var trial = digests
            var documents: [ProjectionState.Projection: [(key: String, bytes: [UInt8]?, state: ViewColumns)]] = [:]
            for (projection, keys) in pending {
                documents[projection] = keys.sorted().map { key in
                    let bytes = trial.update(projection, key: key, document: state.document(projection, key: key))
                    return (key, bytes, ViewColumns.of(projection, key: key, in: state))
                }
            }
            do {
                try await database.write(documents, position: state.position, digests: trial, now: clock.now())
                digests = trial
                pending = [:]
                positionGauge.record(state.position)
                let recovered = status.withLock { status -> Bool in
                    defer {
                        status.position = state.position
                        status.failure = nil
                    }
                    return status.failure != nil
                }
                if recovered {
                    logger.notice(
                        "read models are being written again", metadata: ["projection.position": "\(state.position)"])
                }
                return
            } catch {
                failures.increment()
                let described = Self.describe(error)
                let first = status.withLock { status -> Bool in
                    defer { status.failure = described }
                    return status.failure == nil
                }
                if first {
                    logger.error(
                        "writing the read models failed; ingest goes on, views lag until it succeeds",
                        metadata: ["projection.error": "\(described)"])
                }
                guard !Task.isShuttingDownGracefully else { return }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        String(describing: StoreError(error, while: "projections"))
    }
}
