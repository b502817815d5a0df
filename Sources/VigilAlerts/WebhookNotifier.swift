import AsyncHTTPClient
package import Foundation
package import Logging
package import Metrics
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
package import VigilModel
import VigilProjections
package import VigilStore

/// POSTs alerts of chosen severities to a webhook, at least once each, across restarts and crashes.
///
/// The alerts come from the log, not from memory: the notifier reads the `alert.raised` events appended after
/// the position its ``WebhookOutbox`` has read through, and keeps each one of a configured severity in the
/// outbox until the receiver answers 2xx. It reads the log at start and whenever the alert engine says it has
/// appended alerts (``alertsAppended()``); a crash between an alert's commit and that call only delays the
/// alert to the next start. Delivered means a 2xx answer; only then is the row deleted.
///
/// At least once: an alert answered 2xx whose row could not be deleted yet (a crash, a shutdown, a full disk)
/// is sent again. Each request carries the alert's id in `Vigil-Alert-Id`, the receiver's idempotency key: a
/// receiver keeps the ids it has taken and ignores one it has seen. The body is the alert as the read API shows
/// it plus the signed `alert.raised` envelope, so the receiver can verify the alert came from this daemon.
///
/// Several nodes on one database: only the leader sends. Each node's outbox is its own, so a node that takes the
/// lead reads the log from where its outbox stopped and sends what it finds, some of which the old leader may have
/// sent: a takeover repeats deliveries, which receivers ignore by `Vigil-Alert-Id`; it loses none.
///
/// Retries: a failed attempt (no answer, or anything but 2xx) is tried again after `retryDelay`, then twice as
/// long each time, at most 5 minutes apart (``Backoff``); the time of the next attempt is in the outbox, and no
/// alert holds a place while it waits, so an alert the receiver keeps refusing does not delay the others. At
/// most ``Settings/concurrency`` requests are under way at once. After `maxAttempts` failed attempts the alert
/// is given up: logged as an error, counted (`vigil_webhook_given_up_total`) and kept in the outbox. At each
/// start every alert in the outbox, given up or not, gets a fresh series of `maxAttempts` attempts at once: a
/// restart is how an operator who has repaired the receiver has everything sent.
///
/// Metrics: `vigil_webhook_queue_depth` (alerts waiting for delivery, given up ones apart),
/// `vigil_webhook_deliveries_total` (2xx answers), `vigil_webhook_failures_total` (failed attempts) and
/// `vigil_webhook_given_up_total`.
///
/// It uses AsyncHTTPClient on the daemon's own event loops (FoundationNetworking's URLSession on Linux has
/// crashed in libdispatch when connections are reset, swift-corelibs-foundation #4791).
package final class WebhookNotifier: Service, Sendable {
    package struct Settings: Sendable {
        package var url: URL
        package var severities: Set<AlertSeverity>
        package var maxAttempts: Int
        package var retryDelay: Duration
        /// Requests under way at once.
        package var concurrency: Int

        package init(
            url: URL, severities: Set<AlertSeverity>, maxAttempts: Int, retryDelay: Duration, concurrency: Int = 4
        ) {
            self.url = url
            self.severities = severities
            self.maxAttempts = maxAttempts
            self.retryDelay = retryDelay
            self.concurrency = max(1, concurrency)
        }
    }

    /// The longest wait between two attempts.
    static let retryCeiling: Duration = .seconds(300)
    /// How long an attempt whose outcome the outbox could not record keeps its place, so that a failing disk
    /// does not turn into a stream of requests for the same alert.
    static let recordFailurePause: Duration = .seconds(5)
    /// Entries read from the log at a time.
    static let chunk = 1024

    let settings: Settings
    let outbox: WebhookOutbox
    let store: EventStore
    /// Only the leader of a shared database sends (``Leadership``); a follower waits, and reads the log into its
    /// outbox when it takes the lead.
    let leadership: Leadership
    let logger: Logger
    private let clock = SystemWallClock()
    private let scans: AsyncStream<Void>
    private let requestScan: AsyncStream<Void>.Continuation
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// The alerts being attempted now.
    private let inFlight = Mutex<Set<EventID>>([])
    private let depth: Gauge
    private let delivered: Counter
    private let failed: Counter
    private let givenUp: Counter

    package init(
        settings: Settings, outbox: WebhookOutbox, store: EventStore, leadership: Leadership = .sole(), logger: Logger,
        metricsFactory: any MetricsFactory
    ) {
        self.leadership = leadership
        self.settings = settings
        self.outbox = outbox
        self.store = store
        self.logger = logger
        (scans, requestScan) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        depth = Gauge(label: "vigil_webhook_queue_depth", factory: metricsFactory)
        delivered = Counter(label: "vigil_webhook_deliveries_total", factory: metricsFactory)
        failed = Counter(label: "vigil_webhook_failures_total", factory: metricsFactory)
        givenUp = Counter(label: "vigil_webhook_given_up_total", factory: metricsFactory)
    }

    /// Tells the notifier that alerts were appended to the log: it reads the log from where it stopped. Calls
    /// that come while a reading is under way are served by one more reading.
    package func alertsAppended() {
        requestScan.yield()
    }

    /// Resumes what the outbox holds, then follows the log and delivers until graceful shutdown. A request under
    /// way then is abandoned and the attempt made again at the next start; an answer 2xx that came is recorded.
    package func run() async throws {
        defer { outbox.close() }
        switch outbox.opening {
        case .existing: break
        case .created(let position):
            logger.notice(
                "webhook outbox created: alerts appended after this position are delivered",
                metadata: ["webhook.outbox": "\(outbox.path)", "log.position": "\(position)"])
        case .rewound(let from, let to):
            logger.warning(
                "the webhook outbox had read further than the log goes (was the store replaced?); reading from the log's end",
                metadata: ["webhook.outbox": "\(outbox.path)", "webhook.scanned": "\(from)", "log.size": "\(to)"])
        }
        do {
            let found = try await outbox.resume(at: clock.now())
            if found.pending + found.givenUp > 0 {
                logger.notice(
                    "webhook delivery resumed",
                    metadata: ["webhook.pending": "\(found.pending)", "webhook.givenUp": "\(found.givenUp)"])
            }
        } catch {
            logger.error("the webhook outbox could not be resumed", metadata: ["webhook.error": "\(error)"])
        }
        await recordDepth()
        await withDiscardingTaskGroup { group in
            group.addTask { await cancelWhenGracefulShutdown { await self.follow() } }
            await withGracefulShutdownHandler {
                await self.dispatch(in: &group)
            } onGracefulShutdown: {
                self.wake.yield()
            }
        }
    }

    // MARK: - Reading the log

    /// Reads the log at start and after each ``alertsAppended()``, until cancelled.
    private func follow() async {
        var requests = scans.makeAsyncIterator()
        repeat {
            await readLog()
        } while await requests.next() != nil
    }

    /// Reads the log through its end into the outbox, retrying while the log or the outbox cannot be read.
    private func readLog() async {
        var backoff = Backoff(ceiling: .seconds(10))
        while !Task.isCancelled {
            do {
                if try await scan() > 0 {
                    wake.yield()
                    await recordDepth()
                }
                return
            } catch {
                guard !Task.isCancelled else { return }
                logger.error(
                    "the log could not be read into the webhook outbox yet; retrying",
                    metadata: ["webhook.error": "\(error)"])
            }
            await backoff.wait()
        }
    }

    /// Adds the alerts of configured severities after the outbox's position, a chunk of the log per transaction;
    /// returns how many were added.
    func scan() async throws -> Int {
        var position = try await outbox.scannedThrough()
        var added = 0
        while !Task.isCancelled {
            let entries = try await store.entries(after: position, limit: Self.chunk)
            guard let last = entries.last else { break }
            let registry = store.registry
            let now = clock.now()
            let deliveries = entries.compactMap { delivery(for: $0, registry: registry, now: now) }
            added += try await outbox.enqueue(deliveries, scannedThrough: last.position)
            position = last.position
        }
        return added
    }

    /// The delivery for an entry that is an `alert.raised` of a configured severity; nil for any other.
    ///
    /// An entry whose author holds a role that may not raise alerts (a registered client key, an admin root) is
    /// skipped without decoding its payload: most of the log.
    func delivery(for entry: StoredEntry, registry: KeyRegistry, now: Timestamp) -> WebhookOutbox.Delivery? {
        if let author = EnvelopeSkim.read(entry.envelope)?.signers.first, let role = registry[author]?.role,
            !EventType.alertRaised.authorRoles.contains(role)
        {
            return nil
        }
        guard let event = LogReplay.decode(entry), let envelope = try? Envelope.decode(entry.envelope) else {
            logger.error(
                "an entry of the log could not be read for the webhook", metadata: ["log.position": "\(entry.position)"]
            )
            return nil
        }
        guard case .alertRaised(let raised) = event.payload.data, settings.severities.contains(raised.severity)
        else { return nil }
        let view = AlertView(raised: raised, payload: event.payload, position: entry.position)
        guard let alert = try? JSONValueEncoder.value(of: view) else { return nil }
        var body = JSONObject()
        body["alert"] = alert
        body["envelope"] = envelope.json
        return WebhookOutbox.Delivery(
            alertId: raised.alertId, position: entry.position, body: JSONWriter.bytes(.object(body)),
            nextAttemptAt: now)
    }

    // MARK: - Delivering

    /// Starts an attempt for each due alert while places are free, and sleeps until one is due, an attempt
    /// ends or alerts are added. Until graceful shutdown.
    ///
    /// The wait for the next due alert is a child task that rings when the time comes (or at shutdown); one made
    /// redundant by an earlier one rings for nothing when its time comes.
    private func dispatch(in group: inout DiscardingTaskGroup) async {
        var wakeups = self.wakeups.makeAsyncIterator()
        var alarm: Timestamp?
        var backoff = Backoff(ceiling: .seconds(10))
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard leadership.isLeading else {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Leadership.pollInterval) }
                continue
            }
            let now = clock.now()
            if let set = alarm, set <= now { alarm = nil }
            do {
                let busy = inFlight.withLock { $0 }
                var free = settings.concurrency - busy.count
                if free > 0 {
                    for delivery in try await outbox.pending(excluding: busy, limit: free + 1) {
                        let wait = delivery.nextAttemptAt.microsecondsSinceEpoch - now.microsecondsSinceEpoch
                        // A wait longer than any retry's means the wall clock went back: the alert is due.
                        guard wait <= 0 || wait > Self.retryCeiling.inMicroseconds else {
                            if free > 0, alarm.map({ delivery.nextAttemptAt < $0 }) ?? true {
                                alarm = delivery.nextAttemptAt
                                group.addTask { [wake] in
                                    try? await cancelWhenGracefulShutdown {
                                        try await Task.sleep(for: .microseconds(wait))
                                    }
                                    wake.yield()
                                }
                            }
                            break
                        }
                        guard free > 0 else { break }
                        free -= 1
                        inFlight.withLock { _ = $0.insert(delivery.alertId) }
                        group.addTask {
                            await self.attempt(delivery)
                            self.inFlight.withLock { _ = $0.remove(delivery.alertId) }
                            self.wake.yield()
                        }
                    }
                }
                backoff = Backoff(ceiling: .seconds(10))
            } catch {
                logger.error("the webhook outbox could not be read; retrying", metadata: ["webhook.error": "\(error)"])
                let delay = backoff.next()
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                continue
            }
            guard await wakeups.next() != nil else { return }
        }
    }

    /// One attempt, and its outcome recorded in the outbox. Graceful shutdown abandons the request (not the
    /// recording of a 2xx that came).
    private func attempt(_ delivery: WebhookOutbox.Delivery) async {
        let status = await cancelWhenGracefulShutdown { await self.post(delivery) }
        let attempts = delivery.attempts + 1
        var metadata: Logger.Metadata = [
            "alert.id": "\(delivery.alertId)", "webhook.status": "\(status)", "webhook.attempt": "\(attempts)",
        ]
        do {
            if (200..<300).contains(status) {
                delivered.increment()
                try await outbox.delivered(delivery.alertId)
                logger.debug("alert delivered to the webhook", metadata: metadata)
            } else if Task.isShuttingDownGracefully || Task.isCancelled {
                // Shutdown interrupted the attempt: it is made again at the next start.
                return
            } else if attempts >= settings.maxAttempts {
                failed.increment()
                try await outbox.gaveUp(delivery.alertId, status: status, attempts: attempts, at: clock.now())
                givenUp.increment()
                logger.error(
                    "webhook delivery given up; the alert stays in the outbox and is tried again at the next start",
                    metadata: metadata)
            } else {
                failed.increment()
                let wait = Self.retryDelay(after: attempts, first: settings.retryDelay)
                let next = Timestamp(microsecondsSinceEpoch: clock.now().microsecondsSinceEpoch + wait.inMicroseconds)
                try await outbox.failed(delivery.alertId, status: status, attempts: attempts, next: next)
                metadata["webhook.retryIn"] = "\(wait)"
                logger.warning("webhook delivery failed; retrying", metadata: metadata)
            }
        } catch {
            metadata["webhook.error"] = "\(error)"
            logger.error(
                "the webhook outbox could not record an attempt; the alert stays as it was", metadata: metadata)
            try? await Task.sleep(for: Self.recordFailurePause)
        }
        await recordDepth()
    }

    /// The wait after `failures` failed attempts: what the `failures`-th wait of a ``Backoff`` starting at
    /// `first` is.
    static func retryDelay(after failures: Int, first: Duration) -> Duration {
        var backoff = Backoff(first: first, ceiling: retryCeiling)
        for _ in 1..<max(1, failures) { _ = backoff.next() }
        return backoff.next()
    }

    /// POSTs the alert; the status of the answer, 0 when there is none.
    private func post(_ delivery: WebhookOutbox.Delivery) async -> Int {
        var request = HTTPClientRequest(url: settings.url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Vigil-Alert-Id", value: delivery.alertId.description)
        request.body = .bytes(delivery.body)
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            _ = try? await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        } catch {
            return 0
        }
    }

    private func recordDepth() async {
        guard let counts = try? await outbox.counts() else { return }
        depth.record(counts.pending)
    }
}

extension Duration {
    /// The duration in whole microseconds.
    var inMicroseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
