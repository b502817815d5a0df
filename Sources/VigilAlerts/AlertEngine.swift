public import Logging
public import Metrics
import Synchronization
public import VigilModel
public import VigilProjections
public import VigilStore

/// Turns what the rules find into signed `alert.raised` events, once each, and delivers them.
///
/// De-duplication: an alert whose id is already in the log (or was just raised and is not yet projected) is
/// not raised again; for vital signs, no new alert while one of the same rule for the same session is
/// unresolved and at least as severe, so a worsening (warn to urgent) does raise. Each raised alert is
/// appended to the log signed by the daemon's key, then logged (journald PRIORITY by severity, VIGIL_* fields),
/// streamed to live subscribers and queued for the webhook.
public final class AlertEngine: Sendable {
    let store: EventStore
    let key: SigningKey
    let settings: Reloadable<RuleSettings>
    let logger: Logger
    public let broadcaster: AlertBroadcaster
    let webhook: WebhookNotifier?
    /// Raised by this engine and possibly not yet in the projected state: id → (rule, session, severity).
    private let recent = Mutex<[EventID: (rule: AlertRule, session: String?, severity: AlertSeverity)]>([:])
    private let metricsFactory: any MetricsFactory

    public init(
        store: EventStore, key: SigningKey, settings: Reloadable<RuleSettings>, broadcaster: AlertBroadcaster,
        webhook: WebhookNotifier?, logger: Logger, metricsFactory: any MetricsFactory
    ) {
        self.store = store
        self.key = key
        self.settings = settings
        self.broadcaster = broadcaster
        self.webhook = webhook
        self.logger = logger
        self.metricsFactory = metricsFactory
    }

    /// The projection runner's observer: evaluates the event-driven rules on one projected event.
    public func observe(_ event: StoredEvent, state: ProjectionState) async {
        switch event.payload.data {
        case .alertAcknowledged(let body):
            if let view = state.alerts[body.note.alertId] {
                broadcaster.publish(view, position: event.position, kind: .updated)
            }
            return
        case .alertResolved(let body):
            if let view = state.alerts[body.note.alertId] {
                broadcaster.publish(view, position: event.position, kind: .updated)
            }
            return
        case .alertRaised:
            return
        default:
            break
        }
        await raise(Rules.evaluate(event, state: state, settings: settings.value), state: state)
    }

    /// Raises the time-driven alerts whose deadline has passed.
    public func checkDeadlines(state: ProjectionState, now: Timestamp) async {
        await raise(Deadlines.due(state: state, now: now, settings: settings.value), state: state)
    }

    /// Raises `integrity_failure` (critical) for a log that failed verification, once per failure.
    public func raiseIntegrityFailure(position: Int64, reason: String, state: ProjectionState, now: Timestamp) async {
        let candidate = AlertCandidate(
            rule: .integrityFailure, severity: .critical, participant: nil, session: nil, causes: [],
            message: "the event log failed verification at position \(position): \(reason); client writes are refused",
            at: now, identity: "\(AlertRule.integrityFailure.rawValue)|\(position)|\(reason)"
        )
        await raise([candidate], state: state)
    }

    /// Which of `candidates` would be raised now (after de-duplication): for dry runs.
    public func wouldRaise(_ candidates: [AlertCandidate], state: ProjectionState) -> [AlertCandidate] {
        var kept: [AlertCandidate] = []
        for candidate in candidates where !isDuplicate(candidate, state: state, alsoAmong: kept) {
            kept.append(candidate)
        }
        return kept
    }

    func raise(_ candidates: [AlertCandidate], state: ProjectionState) async {
        guard !candidates.isEmpty else { return }
        forgetProjected(state)
        for candidate in candidates where !isDuplicate(candidate, state: state, alsoAmong: []) {
            await append(candidate)
        }
    }

    /// Already in the log, just raised, or quiet because an unresolved alert covers it.
    private func isDuplicate(
        _ candidate: AlertCandidate, state: ProjectionState, alsoAmong others: [AlertCandidate]
    ) -> Bool {
        let id = candidate.alertId
        if state.alerts[id] != nil || others.contains(where: { $0.alertId == id }) { return true }
        let recent = self.recent.withLock { $0 }
        if recent[id] != nil { return true }
        guard candidate.quietWhileOpenInSession, let session = candidate.session else { return false }
        let openInState = state.alerts.values.contains {
            $0.rule == candidate.rule && $0.session == session && $0.status != .resolved
                && $0.severity >= candidate.severity
        }
        let openRecently = recent.contains { entry in
            state.alerts[entry.key] == nil && entry.value.rule == candidate.rule && entry.value.session == session
                && entry.value.severity >= candidate.severity
        }
        let openAmongOthers = others.contains {
            $0.rule == candidate.rule && $0.session == session && $0.severity >= candidate.severity
        }
        return openInState || openRecently || openAmongOthers
    }

    private func forgetProjected(_ state: ProjectionState) {
        recent.withLock { recent in
            for id in recent.keys where state.alerts[id] != nil { recent[id] = nil }
        }
    }

    /// Appends one alert; retries while the store is unavailable, since the projection checkpoint must not
    /// pass its cause before the alert is durable.
    private func append(_ candidate: AlertCandidate) async {
        let payload = candidate.payload
        let envelope = Envelope.sign(payload: payload.jsonBytes, author: key)
        let event = VerifiedEvent(envelopeBytes: envelope.jsonBytes, envelope: envelope, payload: payload)
        var delay = Duration.milliseconds(100)
        while true {
            let outcome = await store.append([event]).first!
            switch outcome {
            case .stored(let position, _, let recordedAt):
                recent.withLock { $0[candidate.alertId] = (candidate.rule, candidate.session, candidate.severity) }
                Counter(
                    label: "vigil_alerts_raised_total",
                    dimensions: [("rule", candidate.rule.rawValue), ("severity", candidate.severity.rawValue)],
                    factory: metricsFactory
                )
                .increment()
                deliver(candidate, envelope: envelope, position: position, recordedAt: recordedAt)
                return
            case .duplicate:
                // Raised before a restart: already in the log and already delivered then.
                recent.withLock { $0[candidate.alertId] = (candidate.rule, candidate.session, candidate.severity) }
                return
            case .refused(let error) where error.code == .unavailable:
                logger.error(
                    "an alert could not be stored; retrying",
                    metadata: [
                        "alert.id": "\(candidate.alertId)", "rule": "\(candidate.rule.rawValue)",
                        "alert.error": "\(error.message)",
                    ]
                )
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
                if Task.isCancelled { return }
            case .refused(let error):
                logger.critical(
                    "an alert was refused by the store",
                    metadata: [
                        "alert.id": "\(candidate.alertId)", "rule": "\(candidate.rule.rawValue)",
                        "alert.error": "\(error)",
                    ]
                )
                recent.withLock { $0[candidate.alertId] = (candidate.rule, candidate.session, candidate.severity) }
                return
            }
        }
    }

    /// journald (through the log handler), live subscribers, the webhook.
    private func deliver(_ candidate: AlertCandidate, envelope: Envelope, position: Int64, recordedAt: Timestamp) {
        var metadata: Logger.Metadata = [
            "alert.id": "\(candidate.alertId)", "rule": "\(candidate.rule.rawValue)",
            "severity": "\(candidate.severity.rawValue)",
            "alert.position": "\(position)",
        ]
        if let participant = candidate.participant { metadata["participant"] = "\(participant)" }
        if let session = candidate.session { metadata["session"] = "\(session)" }
        // The message in the log names rule, severity and participant only; clinical values stay in the record.
        let who = candidate.participant.map { " for \($0)" } ?? ""
        logger.log(
            level: Self.level(of: candidate.severity),
            "alert raised: \(candidate.rule.rawValue) (\(candidate.severity.rawValue))\(who)", metadata: metadata)
        let view = AlertView(
            alertId: candidate.alertId, rule: candidate.rule, severity: candidate.severity,
            participant: candidate.participant,
            session: candidate.session, causes: candidate.causes, message: candidate.message, raisedAt: candidate.at,
            position: position
        )
        broadcaster.publish(view, position: position, kind: .raised)
        webhook?.enqueue(view, envelope: envelope)
    }

    /// critical → PRIORITY 2, urgent → 3, warn → 4, info → 6.
    public static func level(of severity: AlertSeverity) -> Logger.Level {
        switch severity {
        case .critical: .critical
        case .urgent: .error
        case .warn: .warning
        case .info: .info
        }
    }
}
