public import Foundation
public import VigilModel

// The read models as their readers see them. Each is a Swift type with one JSON encoding (Codable, keys
// sorted, absent values omitted), used alike by the HTTP API, vigilctl and the tests. Values derived from
// others (a lot's balance, an adverse event's due date, an alert's status) are computed once, when the view
// is read from its tables.

/// A signer as records show it: the printed name and role behind a key id (Part 11, 11.50).
public struct SignerView: Codable, Sendable, Equatable {
    public var keyid: KeyID
    public var name: String
    public var role: Role
    /// The log position of its registration (0 for a trust anchor from the configuration).
    public var registeredAt: Int64
    public var revokedAt: Int64?
}

/// A controlled-substance lot: the perpetual balance and the last physical count (DEA 1304).
public struct LotView: Codable, Sendable, Equatable {
    public struct Count: Codable, Sendable, Equatable {
        public var countedMg: Milligrams
        /// The perpetual balance when the count was recorded.
        public var expectedMg: Milligrams
        public var differenceMg: Milligrams
        public var at: Timestamp
        public var position: Int64
        public var witnessed: Bool
        public var eventId: EventID
    }

    public var lot: String
    public var substance: String?
    public var receivedMg: Milligrams
    public var dispensedMg: Milligrams
    public var wastedMg: Milligrams
    public var destroyedMg: Milligrams
    /// Reported stolen, lost or damaged (`inventory.loss_reported`).
    public var lostMg: Milligrams
    /// received − dispensed − wasted − destroyed − lost; below zero when more was taken than was on record.
    public var onHandMg: Milligrams
    /// Whether any receipt of the lot is on record; a lot named only by dispenses or waste is unknown.
    public var received: Bool
    public var lastCount: Count?
    public var lastActivity: Timestamp?
}

/// A theft or significant loss of controlled substance and its DEA Form 106 report.
public struct LossView: Codable, Sendable, Equatable {
    public var lossId: String
    public var lot: String
    public var quantityMg: Milligrams
    public var kind: LossKind
    public var discoveredAt: Timestamp
    /// The log position of the `inventory.loss_reported` event.
    public var position: Int64
    public var eventId: EventID
    /// The DEA Form 106 number, once filed.
    public var reference: String?
    public var filedAt: Timestamp?
    public var filedPosition: Int64?
}

/// A medication a participant takes.
public struct MedicationView: Codable, Sendable, Equatable {
    public var name: String
    public var serotonergic: Bool
    public var since: Timestamp
}

/// One mood check after a session.
public struct MoodCheckView: Codable, Sendable, Equatable {
    public var day: Int
    public var at: Timestamp
    public var phq9Total: Int?
    public var phq9Item9: Int?
    public var cssrsHighRisk: Bool?
    public var mood: Int?
}

/// One set of vital signs.
public struct VitalsReading: Codable, Sendable, Equatable {
    public var at: Timestamp
    public var session: String?
    public var position: Int64
    /// mmHg
    public var systolic: Double?
    /// mmHg
    public var diastolic: Double?
    /// beats per minute
    public var heartRate: Double?
    public var temperatureC: Double?
    /// percent
    public var spo2: Double?
    /// Minutes after the session's initial dose (one decimal), when the reading came after one.
    public var minutesFromInitialDose: Double?
}

/// One administration within a session.
public struct DoseView: Codable, Sendable, Equatable {
    public var eventId: EventID
    public var at: Timestamp
    public var position: Int64
    public var doseMg: Milligrams
    public var kind: DoseKind
    public var lot: String
    /// The session's total up to and including this dose, in time order.
    public var runningTotalMg: Milligrams
    public var minutesFromInitialDose: Double?
}

/// The highest readings of a session (the lowest for SpO2).
public struct VitalsPeaks: Codable, Sendable, Equatable {
    public var systolic: Double?
    public var diastolic: Double?
    public var heartRate: Double?
    public var temperatureC: Double?
    public var spo2: Double?

    public init(_ readings: [VitalsReading]) {
        systolic = readings.compactMap(\.systolic).max()
        diastolic = readings.compactMap(\.diastolic).max()
        heartRate = readings.compactMap(\.heartRate).max()
        temperatureC = readings.compactMap(\.temperatureC).max()
        spo2 = readings.compactMap(\.spo2).min()
    }
}

/// A dosing session: doses in time order with running totals, the vitals series with its peaks, adverse events.
public struct SessionView: Codable, Sendable, Equatable {
    public var id: String
    public var participant: String
    public var number: Int?
    public var startedAt: Timestamp?
    public var endedAt: Timestamp?
    public var totalDoseMg: Milligrams
    /// The first initial dose in time order.
    public var initialDoseAt: Timestamp?
    public var doses: [DoseView]
    public var vitals: [VitalsReading]
    public var peaks: VitalsPeaks
    /// Adverse-event ids reported for the session, in log order.
    public var adverseEvents: [String]
    /// The log position the views reflected when this was read.
    public var asOf: Int64
}

/// One day of a participant's follow-up grid.
public struct FollowUpDay: Codable, Sendable, Equatable {
    public var day: Int
    public var date: CalendarDate
    public var status: FollowUpSchedule.Status
}

/// The follow-up days after one session.
public struct FollowUpGrid: Codable, Sendable, Equatable {
    public var session: String
    public var days: [FollowUpDay]
}

/// A participant: enrolment, medications, sessions, latest vitals, mood checks, open alerts, follow-up grid.
public struct ParticipantView: Codable, Sendable, Equatable {
    public var code: String
    public var enrolledAt: Timestamp?
    public var site: String?
    /// The zone the follow-up days are counted in: the participant's own, or the clinic's.
    public var timeZone: String
    /// Current medications, by name.
    public var medications: [MedicationView]
    public var serotonergicActive: Bool
    /// Session ids in the order they first appeared in the log.
    public var sessions: [String]
    public var latestVitals: VitalsReading?
    /// Mood checks by session id, in log order.
    public var moodChecks: [String: [MoodCheckView]]
    /// Alerts not yet resolved.
    public var openAlerts: [EventID]
    /// Days 1 to the configured number after each started session, as of the time of the question.
    public var followUp: [FollowUpGrid]
    public var asOf: Int64
}

/// An adverse event with its regulatory clock (21 CFR 312.32).
public struct AdverseEventView: Codable, Sendable, Equatable {
    public var participant: String
    public var aeId: String
    public var term: String
    public var onset: CalendarDate
    /// CTCAE grade 1-5.
    public var severity: Int
    public var serious: Bool
    public var criteria: [SeriousnessCriterion]
    public var expected: Bool
    public var suspected: Bool
    /// Day 0: when the sponsor learned of it.
    public var awareAt: Timestamp
    public var session: String?
    public var outcome: AdverseEventOutcome?
    public var submittedAt: Timestamp?
    public var reference: String?
    public var reportedPosition: Int64
    public var reportedEventId: EventID
    /// Serious, unexpected and suspected: an expedited IND safety report is due.
    public var requiresExpeditedReport: Bool
    /// 7 calendar days for fatal or life-threatening events, 15 otherwise.
    public var reportDays: Int?
    /// Day 0 plus the reporting days.
    public var reportDueAt: Timestamp?
    /// Needs an expedited report that has not been filed.
    public var open: Bool

    /// The register's key: the participant and the clinic's id.
    public var key: String { participant + "/" + aeId }

    public init(
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
    public init(reported body: AdverseEventReported, participant: String, session: String?, at event: StoredEvent) {
        self.init(
            participant: participant, aeId: body.aeId, term: body.term, onset: body.onset, severity: body.severity,
            serious: body.serious, criteria: body.criteria, expected: body.expected, suspected: body.suspected,
            awareAt: body.awareAt, session: session, outcome: nil, submittedAt: nil, reference: nil,
            reportedPosition: event.position, reportedEventId: event.payload.id)
    }

    /// The entry as an `adverse_event.updated` leaves it, the regulatory clock worked out again.
    public func updated(by body: AdverseEventUpdated) -> AdverseEventView {
        AdverseEventView(
            participant: participant, aeId: aeId, term: body.term ?? term, onset: body.onset ?? onset,
            severity: body.severity ?? severity, serious: body.serious ?? serious, criteria: body.criteria ?? criteria,
            expected: body.expected ?? expected, suspected: body.suspected ?? suspected,
            awareAt: body.awareAt ?? awareAt, session: session, outcome: body.outcome ?? outcome,
            submittedAt: submittedAt, reference: reference, reportedPosition: reportedPosition,
            reportedEventId: reportedEventId)
    }

    /// The entry once its expedited report is filed.
    public func submitted(_ body: AdverseEventSubmitted) -> AdverseEventView {
        AdverseEventView(
            participant: participant, aeId: aeId, term: term, onset: onset, severity: severity, serious: serious,
            criteria: criteria, expected: expected, suspected: suspected, awareAt: awareAt, session: session,
            outcome: outcome, submittedAt: body.submittedAt, reference: body.reference,
            reportedPosition: reportedPosition, reportedEventId: reportedEventId)
    }
}

/// Who acted on an alert, when, and what they noted.
public struct AlertAction: Codable, Sendable, Equatable {
    public var keyid: KeyID
    public var name: String
    public var at: Timestamp
    public var note: String
    public var position: Int64
}

/// An alert and its handling.
public struct AlertView: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case open
        case acknowledged
        case resolved
    }

    public var alertId: EventID
    public var rule: AlertRule
    public var severity: AlertSeverity
    public var participant: String?
    /// The session the alert concerns, when it concerns one.
    public var session: String?
    public var status: Status
    public var raisedAt: Timestamp
    public var position: Int64
    public var causes: [EventID]
    public var message: String
    public var acknowledged: AlertAction?
    public var resolved: AlertAction?

    public init(
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
public struct AlertList: Codable, Sendable, Equatable {
    public var alerts: [AlertView]
    public var asOf: Int64
    /// When more alerts match: the `after` that asks for the next page.
    public var next: Int64?

    public init(alerts: [AlertView], asOf: Int64, next: Int64? = nil) {
        self.alerts = alerts
        self.asOf = asOf
        self.next = next
    }
}

/// `GET /v1/inventory`.
public struct LotList: Codable, Sendable, Equatable {
    public var lots: [LotView]
    /// Every reported theft or loss, with its DEA Form 106 reference once filed.
    public var losses: [LossView]
    public var asOf: Int64

    public init(lots: [LotView], losses: [LossView], asOf: Int64) {
        self.lots = lots
        self.losses = losses
        self.asOf = asOf
    }
}

/// `GET /v1/adverse-events`.
public struct AdverseEventList: Codable, Sendable, Equatable {
    public var adverseEvents: [AdverseEventView]
    public var asOf: Int64

    public init(adverseEvents: [AdverseEventView], asOf: Int64) {
        self.adverseEvents = adverseEvents
        self.asOf = asOf
    }
}

/// The one JSON encoding of the views, shared by the daemon and vigilctl.
public enum ViewCoding {
    /// Compact JSON with sorted keys (``JSONValueEncoder``).
    public static func encode(_ value: some Encodable) throws -> Data {
        Data(try JSONValueEncoder.bytes(of: value))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try JSONDecoder().decode(type, from: data)
    }
}
