package import Logging
package import Metrics
import ServiceLifecycle
import Synchronization
package import VigilModel
package import VigilProjections
@_spi(Verification) package import VigilStore

/// Decides which alerts to raise, once each, inside the views' transaction.
///
/// De-duplication: an alert whose id is already known (projected, decided and on its way, or in the log) is
/// not raised again; for vital signs, no new alert while one of the same rule for the same session is unresolved
/// and at least as severe, so a worsening (warn to urgent) does raise. What is decided goes into the views'
/// outbox in the same transaction as the event that caused it: if the flush commits, the alert will be
/// appended; if not, the event is applied and judged again.
package struct AlertDecider: ProjectionReactor {
    let settings: Reloadable<RuleSettings>
    /// Whether the log holds an event with this id (an alert raised before the views knew of it).
    let logHolds: @Sendable (EventID) throws -> Bool

    package init(settings: Reloadable<RuleSettings>, logHolds: @escaping @Sendable (EventID) throws -> Bool) {
        self.settings = settings
        self.logHolds = logHolds
    }

    /// Evaluates the event-driven rules on one projected event.
    package func react(to event: StoredEvent, in views: ViewWriter) throws {
        switch event.payload.data {
        case .alertRaised, .alertAcknowledged, .alertResolved: return
        default: break
        }
        _ = try decide(Rules.evaluate(event, views: views.tables, settings: views.settings), in: views)
    }

    package func flushed(_ flush: FlushedAlerts) async {}

    /// Records in the outbox each candidate that is neither known nor quiet; returns those (in order).
    package func decide(_ candidates: [AlertCandidate], in views: ViewWriter) throws -> [AlertCandidate] {
        var raised: [AlertCandidate] = []
        for candidate in candidates {
            let id = candidate.alertId
            if try views.tables.isKnown(alert: id) { continue }
            if try logHolds(id) {
                // Raised before, not yet projected: it keeps its place, so later candidates stay quiet for it.
                try views.enqueue(
                    alert: candidate.payload, rule: candidate.rule, severity: candidate.severity, stored: true)
                continue
            }
            if candidate.quietWhileOpenInSession, let session = candidate.session, candidate.participant != nil {
                let open =
                    try views.tables.unresolvedSeverities(rule: candidate.rule, session: session)
                    + views.tables.pendingSeverities(rule: candidate.rule, session: session)
                if open.contains(where: { $0 >= candidate.severity }) { continue }
            }
            try views.enqueue(
                alert: candidate.payload, rule: candidate.rule, severity: candidate.severity, stored: false)
            raised.append(candidate)
        }
        return raised
    }
}

/// Turns what the rules decide into signed `alert.raised` events in the log, and delivers them.
///
/// Each alert decided in a flush is appended to the log signed by the daemon's key once the flush has committed,
/// then logged (journald PRIORITY by severity, VIGIL_* fields); the webhook is told to read the log, which its own
/// outbox follows (``WebhookNotifier``). Live subscribers hear of an alert when the views apply its `alert.raised`,
/// on every node. The views' outbox survives a crash: what was decided and not appended is appended at the next
/// start.
///
/// Several nodes on one database: every node decides the same alerts from the same log (an alert's id is a
/// function of what caused it), but only the leader (``Leadership``) appends them. A follower keeps what it decided
/// in its outbox until the leader's `alert.raised` reaches its views; a node that takes the lead appends what is
/// left there (``takeOver()``): the alerts the old leader decided and did not append. One the log already holds is
/// answered as a duplicate or a conflict and not raised again, so an alert is in the log once whichever node
/// appends it.
package final class AlertEngine: ProjectionReactor, Sendable {
    package let decider: AlertDecider
    let store: EventStore
    let database: ProjectionDatabase
    let key: SigningKey
    let clock: any WallClock
    let logger: Logger
    package let broadcaster: AlertBroadcaster
    let webhook: WebhookNotifier?
    let leadership: Leadership
    private let metricsFactory: any MetricsFactory
    /// Whether the outbox may hold alerts not yet appended (at start, and after an append that failed).
    private let unsent = Atomic<Bool>(true)
    /// One drain at a time: the runner's and the scheduler's may meet.
    private let draining = Mutex<Bool>(false)

    package init(
        store: EventStore, database: ProjectionDatabase, key: SigningKey, settings: Reloadable<RuleSettings>,
        broadcaster: AlertBroadcaster, webhook: WebhookNotifier?, leadership: Leadership = .sole(),
        clock: any WallClock = SystemWallClock(), logger: Logger, metricsFactory: any MetricsFactory
    ) {
        self.decider = AlertDecider(settings: settings, logHolds: { try store.contains(eventID: $0) })
        self.store = store
        self.database = database
        self.key = key
        self.clock = clock
        self.broadcaster = broadcaster
        self.webhook = webhook
        self.leadership = leadership
        self.logger = logger
        self.metricsFactory = metricsFactory
    }

    var settings: Reloadable<RuleSettings> { decider.settings }

    package func react(to event: StoredEvent, in views: ViewWriter) throws {
        try decider.react(to: event, in: views)
    }

    /// After a flush: tells live subscribers of the alerts raised, acknowledged and resolved in it, and, on the
    /// leader, appends what it decided (at once, from memory: the outbox row is there for a crash).
    package func flushed(_ flush: FlushedAlerts) async {
        for view in flush.raised {
            broadcaster.publish(view, position: view.position, kind: .raised)
        }
        for view in flush.updated {
            let position = max(view.acknowledged?.position ?? 0, view.resolved?.position ?? 0)
            broadcaster.publish(view, position: position, kind: .updated)
        }
        if !flush.decided.isEmpty {
            guard leadership.isLeading else { return }
            do {
                let held = try await append(flush.decided.map(\.jsonBytes))
                if held.count < flush.decided.count { unsent.store(true, ordering: .releasing) }
            } catch {
                unsent.store(true, ordering: .releasing)
            }
        }
        await drain()
    }

    /// This node has just taken the lead: appends every alert of its outbox the log does not hold yet.
    package func takeOver() async {
        if let left = try? await database.read({ try $0.unsentAlerts().count }), left > 0 {
            logger.notice(
                "taking over the alerts decided and not yet in the log", metadata: ["alert.count": "\(left)"])
        }
        unsent.store(true, ordering: .releasing)
        await drain()
    }

    /// Raises the time-driven alerts whose deadline has passed.
    package func checkDeadlines(now: Timestamp) async throws {
        let settings = self.settings.value
        try await database.write(settings: settings) { [decider] views in
            let candidates = try Deadlines.due(views: views.tables, now: now, settings: settings)
            _ = try decider.decide(candidates, in: views)
        }
        unsent.store(true, ordering: .releasing)
        await drain()
    }

    /// Raises `integrity_failure` (critical) for a log that failed verification, once per failure.
    package func raiseIntegrityFailure(position: Int64, reason: String, now: Timestamp) async throws {
        let candidate = AlertCandidate(
            rule: .integrityFailure, severity: .critical, participant: nil, session: nil, causes: [],
            message: "the event log failed verification at position \(position): \(reason); client writes are refused",
            at: now, identity: "\(AlertRule.integrityFailure.rawValue)|\(position)|\(reason)"
        )
        try await database.write(settings: settings.value) { [decider] views in
            _ = try decider.decide([candidate], in: views)
        }
        unsent.store(true, ordering: .releasing)
        await drain()
    }

    /// Which alerts the rules would raise if `event` were stored now: applied to the views in a transaction
    /// that is rolled back, judged as a real event would be. Nothing is kept.
    package func dryRun(_ event: StoredEvent) async throws -> (candidates: [AlertCandidate], asOf: Int64) {
        try await database.dryRun(settings: settings.value) { [decider] views in
            let asOf = try views.tables.checkpoint().position
            try views.apply(event)
            let candidates = try Rules.evaluate(event, views: views.tables, settings: views.settings)
            return (try decider.decide(candidates, in: views), asOf)
        }
    }

    // MARK: - Appending

    /// Appends every alert of the outbox not yet in the log, in the order decided, when this node leads (a
    /// follower leaves them for the leader's to arrive). One drain runs at a time; a drain that finds another
    /// running leaves the work to it, which looks again once it is done.
    func drain() async {
        while unsent.load(ordering: .acquiring) && leadership.isLeading {
            guard
                draining.withLock({ busy in
                    busy
                        ? false
                        : {
                            busy = true; return true
                        }()
                })
            else { return }
            unsent.store(false, ordering: .releasing)
            await appendUnsent()
            draining.withLock { $0 = false }
        }
    }

    /// Appends the outbox's unsent alerts; retries while the store is unavailable (a full disk), since nothing
    /// decided may be lost. Stops at shutdown: what is left is appended at the next start.
    private func appendUnsent() async {
        var backoff = Backoff(ceiling: .seconds(10))
        while !Task.isCancelled && !Task.isShuttingDownGracefully && leadership.isLeading {
            do {
                // An alert appended before and not yet projected is appended again: the store answers duplicate.
                let entries = try await database.read { try $0.unsentAlerts() }
                guard !entries.isEmpty else { return }
                if try await append(entries.map(\.payload)).count == entries.count { return }
            } catch {
                logger.error("alerts could not be appended yet; retrying", metadata: ["alert.error": "\(error)"])
            }
            await backoff.wait()
        }
    }

    /// Signs and appends alerts (their payloads' bytes); returns the ids the log now holds.
    private func append(_ payloads: [[UInt8]]) async throws -> [EventID] {
        var events: [VerifiedEvent] = []
        for bytes in payloads {
            let payload = try EventPayload.decode(bytes, context: .replay)
            let envelope = Envelope.sign(payload: bytes, author: key)
            events.append(
                VerifiedEvent(
                    envelopeBytes: envelope.jsonBytes, envelope: envelope, payload: payload, sealedBy: VerifierSeal()))
        }
        var held: [EventID] = []
        var stored = false
        defer { if stored { webhook?.alertsAppended() } }
        for (event, outcome) in zip(events, await store.append(events)) {
            guard case .alertRaised(let body) = event.payload.data else { continue }
            switch outcome {
            case .stored(let position, _, _):
                held.append(body.alertId)
                stored = true
                Counter(
                    label: "vigil_alerts_raised_total",
                    dimensions: [("rule", body.rule.rawValue), ("severity", body.severity.rawValue)],
                    factory: metricsFactory
                ).increment()
                announce(body, payload: event.payload, position: position)
            case .duplicate:
                // Raised before a restart: already in the log, announced then (and found by the webhook's outbox).
                held.append(body.alertId)
            case .refused(let error) where error.code == .conflict:
                // The log holds this alert with other bytes (decided again under other settings): it was raised.
                held.append(body.alertId)
            case .refused(let error) where error.code == .unavailable:
                logger.error(
                    "an alert could not be stored; retrying",
                    metadata: [
                        "alert.id": "\(body.alertId)", "alert.rule": "\(body.rule.rawValue)",
                        "alert.error": "\(error.message)",
                    ])
            case .refused(let error):
                logger.critical(
                    "an alert was refused by the store",
                    metadata: [
                        "alert.id": "\(body.alertId)", "alert.rule": "\(body.rule.rawValue)", "alert.error": "\(error)",
                    ])
                held.append(body.alertId)
            }
        }
        return held
    }

    /// journald (through the log handler), on the node that appended it.
    private func announce(_ body: AlertRaised, payload: EventPayload, position: Int64) {
        let participant = body.participant ?? payload.participant
        var metadata: Logger.Metadata = [
            "alert.id": "\(body.alertId)", "alert.rule": "\(body.rule.rawValue)",
            "alert.severity": "\(body.severity.rawValue)",
            "alert.position": "\(position)",
        ]
        if let participant { metadata["alert.participant"] = "\(participant)" }
        if let session = payload.session { metadata["alert.session"] = "\(session)" }
        // The message in the log names rule, severity and participant only; clinical values stay in the record.
        let who = participant.map { " for \($0)" } ?? ""
        logger.log(
            level: Self.level(of: body.severity),
            "alert raised: \(body.rule.rawValue) (\(body.severity.rawValue))\(who)",
            metadata: metadata)
    }

    /// critical → PRIORITY 2, urgent → 3, warn → 4, info → 6.
    package static func level(of severity: AlertSeverity) -> Logger.Level {
        switch severity {
        case .critical: .critical
        case .urgent: .error
        case .warn: .warning
        case .info: .info
        }
    }
}
