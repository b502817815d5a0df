package import VigilModel

/// An alert a rule wants raised, before de-duplication.
///
/// Everything in it is a function of the log (and, for deadlines, of the deadline itself), so the alert it
/// becomes has the same bytes however often it is raised: a restart that raises it again gets the store's
/// duplicate answer, never a second alert.
package struct AlertCandidate: Sendable, Equatable {
    package var rule: AlertRule
    package var severity: AlertSeverity
    package var participant: String?
    package var session: String?
    /// The events that made the rule fire.
    package var causes: [EventID]
    package var message: String
    /// When the alert is raised: the cause's recordedAt (when Vigil learned of it), or the deadline that passed.
    package var at: Timestamp
    /// What makes this alert distinct; its id is derived from it.
    package var identity: String
    /// While an unresolved alert of the same rule for the same session is at least this severe, stay quiet:
    /// vital signs fire often, and one open alert per session and rule is what officers can follow.
    package var quietWhileOpenInSession: Bool

    package init(
        rule: AlertRule, severity: AlertSeverity, participant: String?, session: String?, causes: [EventID],
        message: String,
        at: Timestamp, identity: String? = nil, quietWhileOpenInSession: Bool = false
    ) {
        self.rule = rule
        self.severity = severity
        self.participant = participant
        self.session = session
        self.causes = causes
        self.message = message
        self.at = at
        self.identity =
            identity ?? ([rule.rawValue, severity.rawValue] + causes.map(\.description)).joined(separator: "|")
        self.quietWhileOpenInSession = quietWhileOpenInSession
    }

    /// Derived from the identity (``AlertIdentity``).
    package var alertId: EventID { AlertIdentity.alertID(identity) }

    /// The `alert.raised` event this candidate becomes.
    package var payload: EventPayload {
        EventPayload(
            id: alertId, occurredAt: at, participant: participant, session: participant == nil ? nil : session,
            data: .alertRaised(
                AlertRaised(
                    alertId: alertId, rule: rule, severity: severity, participant: participant, causes: causes,
                    message: message)
            )
        )
    }
}
