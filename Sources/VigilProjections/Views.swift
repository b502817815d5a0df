package import Foundation
package import VigilModel

// The read models as their readers see them. Each is a Swift type with one JSON encoding (Codable, keys
// sorted, absent values omitted), used alike by the HTTP API, vigilctl and the tests. Values derived from
// others (a lot's balance, an adverse event's due date, an alert's status) are computed once, when the view
// is read from its tables.

/// A signer as records show it: the printed name and role behind a key id (Part 11, 11.50).
package struct SignerView: Codable, Sendable, Equatable {
    package var keyid: KeyID
    package var name: String
    package var role: Role
    /// The log position of its registration (0 for a trust anchor from the configuration).
    package var registeredAt: Int64
    package var revokedAt: Int64?
}

/// A controlled-substance lot: the perpetual balance and the last physical count (DEA 1304).
package struct LotView: Codable, Sendable, Equatable {
    package struct Count: Codable, Sendable, Equatable {
        package var countedMg: Milligrams
        /// The perpetual balance when the count was recorded.
        package var expectedMg: Milligrams
        package var differenceMg: Milligrams
        package var at: Timestamp
        package var position: Int64
        package var witnessed: Bool
        package var eventId: EventID
    }

    package var lot: String
    package var substance: String?
    package var receivedMg: Milligrams
    package var dispensedMg: Milligrams
    package var wastedMg: Milligrams
    package var destroyedMg: Milligrams
    /// Reported stolen, lost or damaged (`inventory.loss_reported`).
    package var lostMg: Milligrams
    /// received − dispensed − wasted − destroyed − lost; below zero when more was taken than was on record.
    package var onHandMg: Milligrams
    /// Whether any receipt of the lot is on record; a lot named only by dispenses or waste is unknown.
    package var received: Bool
    package var lastCount: Count?
    package var lastActivity: Timestamp?
}

/// A theft or significant loss of controlled substance and its DEA Form 106 report.
package struct LossView: Codable, Sendable, Equatable {
    package var lossId: String
    package var lot: String
    package var quantityMg: Milligrams
    package var kind: LossKind
    package var discoveredAt: Timestamp
    /// The log position of the `inventory.loss_reported` event.
    package var position: Int64
    package var eventId: EventID
    /// The DEA Form 106 number, once filed.
    package var reference: String?
    package var filedAt: Timestamp?
    package var filedPosition: Int64?
}

/// A medication a participant takes.
package struct MedicationView: Codable, Sendable, Equatable {
    package var name: String
    package var serotonergic: Bool
    package var since: Timestamp
}

/// One mood check after a session.
package struct MoodCheckView: Codable, Sendable, Equatable {
    package var day: Int
    package var at: Timestamp
    package var phq9Total: Int?
    package var phq9Item9: Int?
    package var cssrsHighRisk: Bool?
    package var mood: Int?
}

/// One set of vital signs.
package struct VitalsReading: Codable, Sendable, Equatable {
    package var at: Timestamp
    package var session: String?
    package var position: Int64
    /// mmHg
    package var systolic: Double?
    /// mmHg
    package var diastolic: Double?
    /// beats per minute
    package var heartRate: Double?
    package var temperatureC: Double?
    /// percent
    package var spo2: Double?
    /// Minutes after the session's initial dose (one decimal), when the reading came after one.
    package var minutesFromInitialDose: Double?
}

/// One administration within a session.
package struct DoseView: Codable, Sendable, Equatable {
    package var eventId: EventID
    package var at: Timestamp
    package var position: Int64
    package var doseMg: Milligrams
    package var kind: DoseKind
    package var lot: String
    /// The session's total up to and including this dose, in time order.
    package var runningTotalMg: Milligrams
    package var minutesFromInitialDose: Double?
}

/// The highest readings of a session (the lowest for SpO2).
package struct VitalsPeaks: Codable, Sendable, Equatable {
    package var systolic: Double?
    package var diastolic: Double?
    package var heartRate: Double?
    package var temperatureC: Double?
    package var spo2: Double?

    package init(_ readings: [VitalsReading]) {
        systolic = readings.compactMap(\.systolic).max()
        diastolic = readings.compactMap(\.diastolic).max()
        heartRate = readings.compactMap(\.heartRate).max()
        temperatureC = readings.compactMap(\.temperatureC).max()
        spo2 = readings.compactMap(\.spo2).min()
    }
}

/// A dosing session: doses in time order with running totals, the vitals series with its peaks, adverse events.
package struct SessionView: Codable, Sendable, Equatable {
    package var id: String
    package var participant: String
    package var number: Int?
    package var startedAt: Timestamp?
    package var endedAt: Timestamp?
    package var totalDoseMg: Milligrams
    /// The first initial dose in time order.
    package var initialDoseAt: Timestamp?
    package var doses: [DoseView]
    package var vitals: [VitalsReading]
    package var peaks: VitalsPeaks
    /// Adverse-event ids reported for the session, in log order.
    package var adverseEvents: [String]
    /// The log position the views reflected when this was read.
    package var asOf: Int64
}

/// One day of a participant's follow-up grid.
package struct FollowUpDay: Codable, Sendable, Equatable {
    package var day: Int
    package var date: CalendarDate
    package var status: FollowUpSchedule.Status
}

/// The follow-up days after one session.
package struct FollowUpGrid: Codable, Sendable, Equatable {
    package var session: String
    package var days: [FollowUpDay]
}

/// A participant: enrolment, medications, sessions, latest vitals, mood checks, open alerts, follow-up grid.
package struct ParticipantView: Codable, Sendable, Equatable {
    package var code: String
    package var enrolledAt: Timestamp?
    package var site: String?
    /// The zone the follow-up days are counted in: the participant's own, or the clinic's.
    package var timeZone: String
    /// Current medications, by name.
    package var medications: [MedicationView]
    package var serotonergicActive: Bool
    /// Session ids in the order they first appeared in the log.
    package var sessions: [String]
    package var latestVitals: VitalsReading?
    /// Mood checks by session id, in log order.
    package var moodChecks: [String: [MoodCheckView]]
    /// Alerts not yet resolved.
    package var openAlerts: [EventID]
    /// Days 1 to the configured number after each started session, as of the time of the question.
    package var followUp: [FollowUpGrid]
    package var asOf: Int64
}

/// An adverse event with its regulatory clock (21 CFR 312.32).
package struct AdverseEventView: Codable, Sendable, Equatable {
    package var participant: String
    package var aeId: String
    package var term: String
    package var onset: CalendarDate
    /// CTCAE grade 1-5.
    package var severity: Int
    package var serious: Bool
    package var criteria: [SeriousnessCriterion]
    package var expected: Bool
    package var suspected: Bool
    /// Day 0: when the sponsor learned of it.
    package var awareAt: Timestamp
    package var session: String?
    package var outcome: AdverseEventOutcome?
    package var submittedAt: Timestamp?
    package var reference: String?
    package var reportedPosition: Int64
    package var reportedEventId: EventID
    /// Serious, unexpected and suspected: an expedited IND safety report is due.
    package var requiresExpeditedReport: Bool
    /// 7 calendar days for fatal or life-threatening events, 15 otherwise.
    package var reportDays: Int?
    /// Day 0 plus the reporting days.
    package var reportDueAt: Timestamp?
    /// Needs an expedited report that has not been filed.
    package var open: Bool

    /// The register's key: the participant and the clinic's id.
    package var key: String { participant + "/" + aeId }

    package init(
        participant: String, aeId: String, term: String, onset: CalendarDate, severity: Int, serious: Bool,
        criteria: [SeriousnessCriterion], expected: Bool, suspected: Bool, awareAt: Timestamp, session: String?,
        outcome: AdverseEventOutcome?, submittedAt: Timestamp?, reference: String?, reportedPosition: Int64,
        reportedEventId: EventID
    ) {
        self.participant = participant
        self.aeId = aeId
        self.term = term
        self.onset = onset
        self.severity = severity
        self.serious = serious
        self.criteria = criteria
        self.expected = expected
        self.suspected = suspected
        self.awareAt = awareAt
        self.session = session
        self.outcome = outcome
        self.submittedAt = submittedAt
        self.reference = reference
        self.reportedPosition = reportedPosition
        self.reportedEventId = reportedEventId
        requiresExpeditedReport = serious && !expected && suspected
        reportDays =
            requiresExpeditedReport ? (criteria.contains(.death) || criteria.contains(.lifeThreatening) ? 7 : 15) : nil
        reportDueAt = reportDays.map { awareAt.adding(seconds: Int64($0) * 86_400) }
        open = requiresExpeditedReport && submittedAt == nil
    }

    /// The register's entry as `adverse_event.reported` makes it.
    package init(reported body: AdverseEventReported, participant: String, session: String?, at event: StoredEvent) {
        self.init(
            participant: participant, aeId: body.aeId, term: body.term, onset: body.onset, severity: body.severity,
            serious: body.serious, criteria: body.criteria, expected: body.expected, suspected: body.suspected,
            awareAt: body.awareAt, session: session, outcome: nil, submittedAt: nil, reference: nil,
            reportedPosition: event.position, reportedEventId: event.payload.id)
    }

    /// The entry as an `adverse_event.updated` leaves it, the regulatory clock worked out again.
    package func updated(by body: AdverseEventUpdated) -> AdverseEventView {
        AdverseEventView(
            participant: participant, aeId: aeId, term: body.term ?? term, onset: body.onset ?? onset,
            severity: body.severity ?? severity, serious: body.serious ?? serious, criteria: body.criteria ?? criteria,
            expected: body.expected ?? expected, suspected: body.suspected ?? suspected,
            awareAt: body.awareAt ?? awareAt, session: session, outcome: body.outcome ?? outcome,
            submittedAt: submittedAt, reference: reference, reportedPosition: reportedPosition,
            reportedEventId: reportedEventId)
    }

    /// The entry once its expedited report is filed.
    package func submitted(_ body: AdverseEventSubmitted) -> AdverseEventView {
        AdverseEventView(
            participant: participant, aeId: aeId, term: term, onset: onset, severity: severity, serious: serious,
            criteria: criteria, expected: expected, suspected: suspected, awareAt: awareAt, session: session,
            outcome: outcome, submittedAt: body.submittedAt, reference: body.reference,
            reportedPosition: reportedPosition, reportedEventId: reportedEventId)
    }
}

/// Who acted on an alert, when, and what they noted.
package struct AlertAction: Codable, Sendable, Equatable {
    package var keyid: KeyID
    package var name: String
    package var at: Timestamp
    package var note: String
    package var position: Int64
}

/// An alert and its handling.
package struct AlertView: Codable, Sendable, Equatable {
    package enum Status: String, Codable, Sendable, CaseIterable {
        case open
        case acknowledged
        case resolved
    }

    package var alertId: EventID
    package var rule: AlertRule
    package var severity: AlertSeverity
    package var participant: String?
    /// The session the alert concerns, when it concerns one.
    package var session: String?
    package var status: Status
    package var raisedAt: Timestamp
    package var position: Int64
    package var causes: [EventID]
    package var message: String
    package var acknowledged: AlertAction?
    package var resolved: AlertAction?

    package init(
        alertId: EventID, rule: AlertRule, severity: AlertSeverity, participant: String?, session: String?,
        causes: [EventID], message: String, raisedAt: Timestamp, position: Int64, acknowledged: AlertAction? = nil,
        resolved: AlertAction? = nil
    ) {
        self.alertId = alertId
        self.rule = rule
        self.severity = severity
        self.participant = participant
        self.session = session
        self.causes = causes
        self.message = message
        self.raisedAt = raisedAt
        self.position = position
        self.acknowledged = acknowledged
        self.resolved = resolved
        status = resolved != nil ? .resolved : acknowledged != nil ? .acknowledged : .open
    }
}

/// `GET /v1/alerts`: a page of alerts in log order.
package struct AlertList: Codable, Sendable, Equatable {
    package var alerts: [AlertView]
    package var asOf: Int64
    /// When more alerts match: the `after` that asks for the next page.
    package var next: Int64?

    package init(alerts: [AlertView], asOf: Int64, next: Int64? = nil) {
        self.alerts = alerts
        self.asOf = asOf
        self.next = next
    }
}

/// `GET /v1/inventory`.
package struct LotList: Codable, Sendable, Equatable {
    package var lots: [LotView]
    /// Every reported theft or loss, with its DEA Form 106 reference once filed.
    package var losses: [LossView]
    package var asOf: Int64

    package init(lots: [LotView], losses: [LossView], asOf: Int64) {
        self.lots = lots
        self.losses = losses
        self.asOf = asOf
    }
}

/// `GET /v1/adverse-events`.
package struct AdverseEventList: Codable, Sendable, Equatable {
    package var adverseEvents: [AdverseEventView]
    package var asOf: Int64

    package init(adverseEvents: [AdverseEventView], asOf: Int64) {
        self.adverseEvents = adverseEvents
        self.asOf = asOf
    }
}

/// The one JSON encoding of the views, shared by the daemon and vigilctl.
package enum ViewCoding {
    /// Compact JSON with sorted keys (``JSONValueEncoder``).
    package static func encode(_ value: some Encodable) throws -> Data {
        Data(try JSONValueEncoder.bytes(of: value))
    }

    package static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try JSONDecoder().decode(type, from: data)
    }
}

extension AlertView {
    /// The alert as the read API shows it when just raised: from its `alert.raised` body, the payload that
    /// carries it and its position in the log.
    package init(raised body: AlertRaised, payload: EventPayload, position: Int64) {
        self.init(
            alertId: body.alertId, rule: body.rule, severity: body.severity,
            participant: body.participant ?? payload.participant, session: payload.session, causes: body.causes,
            message: body.message, raisedAt: payload.occurredAt, position: position)
    }
}
