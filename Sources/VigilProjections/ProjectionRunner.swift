package import Logging
package import Metrics
import ServiceLifecycle
import Synchronization
package import VigilModel
package import VigilStore

/// Something that acts on each event as it is projected, inside the flush (the safety rules).
package protocol ProjectionReactor: Sendable {
    /// Called for each event after the position up to which the rules have run, once it is applied, inside the
    /// flush's transaction: what it writes (alerts decided) commits with the views, or not at all.
    func react(to event: StoredEvent, in views: ViewWriter) throws

    /// Called after each flush commits, and once at start (with nothing): time to deliver what the flush decided
    /// (``ViewWriter/decidedAlerts``, the alerts' payloads, in order) and what it changed
    /// (``ViewWriter/raisedAlerts``, ``ViewWriter/updatedAlerts``: alerts raised, acknowledged or resolved).
    func flushed(_ flush: FlushedAlerts) async
}

/// What one flush did to the alerts: those it applied as raised, those it saw acknowledged or resolved, and the
/// payloads of those it decided that the log does not hold yet.
package struct FlushedAlerts: Sendable {
    package var raised: [AlertView] = []
    package var updated: [AlertView] = []
    package var decided: [EventPayload] = []
}

/// Keeps the read models up to date with the log.
///
/// At start it resumes from the views' checkpoint: only the events after it are applied. A full replay happens
/// only when the views are new (first start, another schema version) or a rebuild is asked for. Then it follows
/// the commits, in rounds at most ``followInterval`` apart: new entries are applied in place and the checkpoint
/// moved in the same transaction. Ingest never waits for it. If writing fails (say the disk is full), health turns
/// degraded, the error is logged and counted, and the same events are tried again until they are written, so
/// nothing is skipped or applied twice.
package final class ProjectionRunner: Service, Sendable {
    package struct Status: Sendable, Equatable {
        /// The position every written view reflects.
        package var position: Int64 = 0
        /// Whether the views have caught up with the log at least once since start.
        package var caughtUp = false
        /// The last failure, while failing; nil when healthy.
        package var failure: String?
        /// How many events this run applied (since start).
        package var applied: Int64 = 0
        /// How many chunks of the log this run wrote to the views (since start); following the log, one per round.
        package var flushes: Int64 = 0
    }

    let store: EventStore
    let database: ProjectionDatabase
    let settings: Reloadable<RuleSettings>
    let reactor: (any ProjectionReactor)?
    let rebuild: Bool
    let clock: any WallClock
    let logger: Logger
    private let status = Mutex(Status())
    private let positionGauge: Gauge
    private let failures: Counter
    private let undecodable: Counter
    /// Events per flush while following; catching up reads larger chunks.
    static let followChunk = 2048
    static let catchUpChunk = 8192
    /// The shortest time between two rounds of following the log. Under steady ingest a commit stores an event or
    /// two, and a round per commit (a read of the log, a write of the views, the threads woken for each) cost more
    /// than the appends themselves (issue 20); a round now takes everything committed since the last, so the views
    /// trail the log by this much more at most, and nothing at all when commits are further apart.
    package static let followInterval = Duration.milliseconds(20)

    package init(
        store: EventStore, database: ProjectionDatabase, settings: Reloadable<RuleSettings> = Reloadable(.default),
        reactor: (any ProjectionReactor)? = nil, rebuild: Bool = false, clock: any WallClock = SystemWallClock(),
        logger: Logger, metricsFactory: any MetricsFactory
    ) {
        self.store = store
        self.database = database
        self.settings = settings
        self.reactor = reactor
        self.rebuild = rebuild
        self.clock = clock
        self.logger = logger
        positionGauge = Gauge(label: "vigil_projection_position", factory: metricsFactory)
        failures = Counter(label: "vigil_projection_failures_total", factory: metricsFactory)
        undecodable = Counter(label: "vigil_projection_undecodable_total", factory: metricsFactory)
    }

    package var currentStatus: Status { status.withLock { $0 } }

    package func run() async throws {
        // Alerts raised before this start are history, not news: catching up (or rebuilding) does not stream them.
        let liveAfter = store.head.size
        let heads = store.heads()
        let anchors = LogReplay.anchors(try await store.anchorHistory())
        var checkpoint = try await database.checkpoint()
        if rebuild || checkpoint.position > store.head.size {
            if checkpoint.position > store.head.size {
                logger.error(
                    "the read models claim more of the log than it holds; rebuilding them",
                    metadata: ["projection.position": "\(checkpoint.position)", "log.size": "\(store.head.size)"])
            } else {
                logger.notice("rebuilding the read models, as asked")
            }
            try await database.reset()
            checkpoint = try await database.checkpoint()
        } else if database.createdEmpty {
            logger.notice("the read models are new or from another version; building them from the log")
        }
        let rules = settings.value
        try await database.write(settings: rules) { views in
            for anchor in anchors { try views.seed(anchor) }
        }
        status.withLock { $0.position = checkpoint.position }
        positionGauge.record(checkpoint.position)
        logger.info(
            "read models resume from their checkpoint",
            metadata: [
                "projection.position": "\(checkpoint.position)", "projection.evaluated": "\(checkpoint.evaluated)",
                "log.size": "\(store.head.size)",
            ])
        // Alerts decided before a stop and not yet in the log go first.
        await reactor?.flushed(FlushedAlerts())

        do {
            try await follow(heads, from: checkpoint, liveAfter: liveAfter, schedule: DeadlineSettings(rules))
        } catch is CancellationError {
            // Shutdown began while a flush was being retried or a chunk was in hand: it was not written, and
            // the next start applies it from the checkpoint.
        }
    }

    /// Applies what each commit added, until the store closes or shutdown begins.
    private func follow(
        _ heads: AsyncStream<Int64>, from checkpoint: ViewTables.Checkpoint, liveAfter: Int64,
        schedule start: DeadlineSettings
    ) async throws {
        var schedule = start
        var evaluated = checkpoint.evaluated
        var position = checkpoint.position
        let store = self.store
        var lastRound: ContinuousClock.Instant?
        for await announced in heads.cancelOnGracefulShutdown() {
            if let lastRound, lastRound + Self.followInterval > .now {
                try? await Task.sleep(until: lastRound + Self.followInterval, clock: .continuous)
            }
            // What was committed while this round waited comes too.
            let head = max(announced, store.head.size)
            let now = DeadlineSettings(settings.value)
            if now != schedule {
                // The deadlines depend on these settings: derive them again, so the grid and the rule agree.
                try await flushRetrying(settings: settings.value) { try $0.rescheduleAll() }
                schedule = now
                logger.notice("alert deadlines derived again for the new settings")
            }
            guard position < head else {
                status.withLock { $0.caughtUp = true }
                continue
            }
            lastRound = .now
            let chunk = head - position > Int64(Self.followChunk) ? Self.catchUpChunk : Self.followChunk
            try await LogReplay.stream(
                after: position, upTo: head, chunk: chunk,
                fetch: { after, limit in
                    try await self.retrying("reading the log") { try await store.entries(after: after, limit: limit) }
                }
            ) {
                chunk in
                guard !Task.isShuttingDownGracefully else { throw CancellationError() }
                let last = chunk.last!.entry.position
                let evaluate = self.reactor != nil
                let before = evaluated
                let updated = try await self.flushRetrying(settings: self.settings.value) { views in
                    for (_, event) in chunk {
                        guard let event else { continue }
                        try views.apply(event)
                        if evaluate, event.position > before { try self.reactor?.react(to: event, in: views) }
                    }
                    try views.setCheckpoint(
                        position: last, evaluated: evaluate ? max(before, last) : before, now: self.clock.now())
                    return FlushedAlerts(
                        raised: views.raisedAlerts.filter { $0.position > liveAfter }, updated: views.updatedAlerts,
                        decided: views.decidedAlerts)
                }
                for (entry, event) in chunk where event == nil { self.reportUndecodable(entry.position) }
                position = last
                if evaluate { evaluated = max(evaluated, last) }
                self.status.withLock {
                    $0.position = last
                    $0.applied += Int64(chunk.count)
                    $0.flushes += 1
                }
                self.positionGauge.record(last)
                await self.reactor?.flushed(updated)
            }
            status.withLock { $0.caughtUp = true }
        }
    }

    private func reportUndecodable(_ position: Int64) {
        undecodable.increment()
        logger.error(
            "a stored event does not decode; it is left out of the read models (run vigilctl verify)",
            metadata: ["event.position": "\(position)"])
    }

    /// Writes one flush; on failure (nothing of it is kept) tries it again until it succeeds or shutdown begins.
    private func flushRetrying<T: Sendable>(
        settings: RuleSettings, _ body: @escaping @Sendable (ViewWriter) throws -> T
    ) async throws -> T {
        try await retrying("projections") { try await self.database.write(settings: settings, body) }
    }

    /// Runs `body` until it succeeds (a write of the views, a read of the log: a full disk, a database away),
    /// health degraded meanwhile; throws `CancellationError` once shutdown begins or the task is cancelled.
    private func retrying<T: Sendable>(_ doing: String, _ body: () async throws -> T) async throws -> T {
        var backoff = Backoff(ceiling: .seconds(5))
        while true {
            do {
                let result = try await body()
                let recovered = status.withLock { status -> Bool in
                    defer { status.failure = nil }
                    return status.failure != nil
                }
                if recovered { logger.notice("read models are being written again") }
                return result
            } catch {
                failures.increment()
                let described = String(describing: StoreError(error, while: doing))
                let first = status.withLock { status -> Bool in
                    defer { status.failure = described }
                    return status.failure == nil
                }
                if first {
                    logger.error(
                        "the read models cannot follow the log; ingest goes on, views lag until it succeeds",
                        metadata: ["projection.error": "\(described)"])
                }
                guard !Task.isShuttingDownGracefully, !Task.isCancelled else { throw CancellationError() }
                await backoff.wait()
            }
        }
    }
}

/// The rule settings the alert deadlines are derived with.
struct DeadlineSettings: Equatable {
    var followUpDays: Int
    var timeZone: CivilZone
    var reminderDays: [Int]
    var inventoryOverdueDays: Int

    init(_ settings: RuleSettings) {
        followUpDays = settings.followUpDays
        timeZone = settings.timeZone
        reminderDays = [settings.reminderDayForSevenDayReports, settings.reminderDayForFifteenDayReports]
        inventoryOverdueDays = settings.inventoryOverdueDays
    }
}

/// Moves the views' write-ahead log into their file every `interval`, beside the flushes (which never
/// checkpoint themselves), so flushes do not wait for the file's sync; once the log has grown past
/// ``WriteAheadLogMover/restartFrames``, it is started again between two flushes (one short wait), so it
/// stays short whatever the history.
package struct ViewLogService: Service {
    let database: ProjectionDatabase
    let interval: Duration
    let logger: Logger

    package init(database: ProjectionDatabase, interval: Duration = .seconds(1), logger: Logger) {
        self.database = database
        self.interval = interval
        self.logger = logger
    }

    /// Moves the log every ``interval`` until graceful shutdown; a failure (a full disk) is logged once, and its end
    /// once.
    package func run() async throws {
        var streak = FailureStreak()
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            do {
                try await database.moveLogIntoFile()
                if streak.succeeded() { logger.notice("the views' write-ahead log is moved into their file again") }
            } catch {
                if streak.failed() {
                    logger.warning(
                        "the views' write-ahead log cannot be moved into their file; tried again every \(interval)",
                        metadata: ["projection.error": "\(StoreError(error, while: "checkpoint"))"])
                }
            }
        }
    }
}
