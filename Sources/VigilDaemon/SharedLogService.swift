import Logging
import Metrics
import ServiceLifecycle
import VigilModel
import VigilStore

/// Keeps a node of a shared database (PostgreSQL) in step with the others: it learns their appends, so this
/// node's read models, heads and key registry follow the whole log, and it holds or seeks the lead
/// (``Leadership``).
///
/// The head is read every ``followInterval``; the lead is asked for every ``Leadership/pollInterval``, on a
/// connection of its own, so a leader that dies is replaced about a second after its session ends. Taking the
/// lead runs the gain's actions (appending the alerts the old leader left, the deadlines) beside the polling.
/// A node whose read models cannot be written for ``stepDownAfter`` (a full disk) cannot decide alerts: it gives the
/// lead up, and seeks it again once they are written. At shutdown the lead is given up first, for another node to
/// take while this one drains. It keeps `vigil_node_leading` (1 on the leader, 0 on a follower) up to date.
struct SharedLogService: Service {
    let store: EventStore
    let leadership: Leadership
    let logger: Logger
    let leading: Gauge
    /// Whether this node can do the leader's work now (its read models are being written).
    let able: @Sendable () -> Bool
    static let followInterval: Duration = .milliseconds(200)
    static let stepDownAfter: Duration = .seconds(30)

    init(
        store: EventStore, leadership: Leadership, leading: Gauge, logger: Logger,
        able: @escaping @Sendable () -> Bool
    ) {
        self.store = store
        self.leadership = leadership
        self.leading = leading
        self.logger = logger
        self.able = able
    }

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await followHead() }
            await seekLead(in: &group)
        }
        await store.backend.resign()
    }

    /// Reads the head the database holds every ``followInterval`` until graceful shutdown; a failure is logged
    /// once, and its end once.
    private func followHead() async {
        var streak = FailureStreak()
        await repeatEvery(Self.followInterval) {
            do {
                // A read the database never answers must not hold up shutdown.
                _ = try await cancelWhenGracefulShutdown { try await store.refresh() }
                if streak.succeeded() { logger.notice("the shared log's head is read again") }
            } catch is CancellationError {
                // Shutdown.
            } catch {
                if streak.failed() {
                    logger.warning(
                        "the shared log's head cannot be read; this node's views wait for other nodes' appends",
                        metadata: ["store.error": "\(error)"])
                }
            }
        }
    }

    private func seekLead(in group: inout DiscardingTaskGroup) async {
        var unableSince: ContinuousClock.Instant?
        while !Task.isShuttingDownGracefully {
            if able() {
                unableSince = nil
            } else if unableSince == nil {
                unableSince = .now
            }
            let stepDown = unableSince.map { ContinuousClock.now - $0 >= Self.stepDownAfter } ?? false
            if stepDown, leadership.isLeading {
                logger.error(
                    "this node's read models cannot be written, so it cannot decide alerts: it gives up the lead")
                await store.backend.resign()
            }
            if let gained = leadership.update(leading: stepDown ? false : await store.backend.lead()) {
                let now = leadership.isLeading
                leading.record(now ? 1 : 0)
                if now {
                    logger.notice(
                        "this node leads: it appends the alerts, runs the deadlines, signs checkpoints and sends webhooks"
                    )
                } else {
                    logger.warning("this node no longer leads; another node takes over once it holds the lead")
                }
                for action in gained { group.addTask { await action() } }
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: Leadership.pollInterval) }
            } catch {
                return
            }
        }
    }
}
