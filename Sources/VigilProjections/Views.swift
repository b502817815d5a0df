public import VigilModel

/// A signer as records show it: the printed name and role behind a key id (Part 11, 11.50).
public struct SignerView: Sendable, Equatable {
    public var keyID: KeyID
    public var name: String
    public var role: Role
    public var registeredAt: Int64
    public var revokedAt: Int64?

    public var json: JSONValue {
        var object = JSONObject([
            "keyid": .string(keyID.hex), "name": .string(name), "role": .string(role.rawValue),
            "registeredAt": .number(JSONNumber(registeredAt)),
        ])
        if let revokedAt { object["revokedAt"] = .number(JSONNumber(revokedAt)) }
        return .object(object)
    }
}

/// A controlled-substance lot: the perpetual balance and the last physical count (DEA 1304).
public struct LotView: Sendable, Equatable {
    public struct Count: Sendable, Equatable {
        public var counted: Milligrams
        /// The perpetual balance when the count was recorded.
        public var expected: Milligrams
        public var at: Timestamp
        public var position: Int64
        public var witnessed: Bool
        public var eventID: EventID

        public var difference: Milligrams { counted - expected }
    }

    public var lot: String
    public var substance: String?
    public var received = Milligrams.zero
    public var dispensed = Milligrams.zero
    public var wasted = Milligrams.zero
    public var destroyed = Milligrams.zero
    public var lastCount: Count?
    public var lastActivity: Timestamp?
    /// The first receipt: where the biennial inventory clock starts before any count.
    public var firstReceipt: (at: Timestamp, eventID: EventID)?

    public static func == (lhs: LotView, rhs: LotView) -> Bool {
        lhs.lot == rhs.lot && lhs.substance == rhs.substance && lhs.received == rhs.received
            && lhs.dispensed == rhs.dispensed
            && lhs.wasted == rhs.wasted && lhs.destroyed == rhs.destroyed && lhs.lastCount == rhs.lastCount
            && lhs.lastActivity == rhs.lastActivity && lhs.firstReceipt?.at == rhs.firstReceipt?.at
            && lhs.firstReceipt?.eventID == rhs.firstReceipt?.eventID
    }

    /// received − dispensed − wasted − destroyed.
    public var onHand: Milligrams { received - dispensed - wasted - destroyed }

    public var json: JSONValue {
        var object = JSONObject([
            "lot": .string(lot), "substance": substance.map(JSONValue.string) ?? .null,
            "receivedMg": .number(received.jsonNumber), "dispensedMg": .number(dispensed.jsonNumber),
            "wastedMg": .number(wasted.jsonNumber), "destroyedMg": .number(destroyed.jsonNumber),
            "onHandMg": .number(onHand.jsonNumber),
        ])
        if let count = lastCount {
            object["lastCount"] = .object(
                JSONObject([
                    "countedMg": .number(count.counted.jsonNumber), "expectedMg": .number(count.expected.jsonNumber),
                    "differenceMg": .number(count.difference.jsonNumber), "at": .string(count.at.rfc3339),
                    "position": .number(JSONNumber(count.position)), "witnessed": .bool(count.witnessed),
                ])
            )
        } else {
            object["lastCount"] = .null
        }
        object["lastActivity"] = lastActivity.map { .string($0.rfc3339) } ?? .null
        return .object(object)
    }
}

/// A medication a participant takes.
public struct MedicationView: Sendable, Equatable {
    public var name: String
    public var serotonergic: Bool
    public var since: Timestamp

    var json: JSONValue {
        .object(
            JSONObject(["name": .string(name), "serotonergic": .bool(serotonergic), "since": .string(since.rfc3339)]))
    }
}

/// One mood check after a session.
public struct MoodCheckView: Sendable, Equatable {
    public var day: Int
    public var at: Timestamp
    public var phq9Total: Int?
    public var phq9Item9: Int?
    public var cssrsHighRisk: Bool?
    public var mood: Int?

    var json: JSONValue {
        .object(
            JSONObject([
                "day": .number(JSONNumber(day)), "at": .string(at.rfc3339),
                "phq9Total": phq9Total.map { .number(JSONNumber($0)) } ?? .null,
                "phq9Item9": phq9Item9.map { .number(JSONNumber($0)) } ?? .null,
                "cssrsHighRisk": cssrsHighRisk.map(JSONValue.bool) ?? .null,
                "mood": mood.map { .number(JSONNumber($0)) } ?? .null,
            ])
        )
    }
}

/// A participant: enrolment, medications, sessions, latest vitals, follow-up checks, alerts.
public struct ParticipantView: Sendable, Equatable {
    public var code: String
    public var enrolledAt: Timestamp?
    public var site: String?
    /// Current medications, by name.
    public var medications: [String: MedicationView] = [:]
    /// Session ids in the order they started.
    public var sessions: [String] = []
    public var latestVitals: VitalsReading?
    /// Mood checks by session id.
    public var moodChecks: [String: [MoodCheckView]] = [:]
    /// Alerts not yet resolved.
    public var openAlerts: Set<EventID> = []

    public var serotonergicMedications: [MedicationView] {
        medications.values.filter(\.serotonergic).sorted { $0.name < $1.name }
    }

    public var json: JSONValue {
        .object(
            JSONObject([
                "code": .string(code), "enrolledAt": enrolledAt.map { .string($0.rfc3339) } ?? .null,
                "site": site.map(JSONValue.string) ?? .null,
                "medications": .array(medications.values.sorted { $0.name < $1.name }.map(\.json)),
                "serotonergicActive": .bool(!serotonergicMedications.isEmpty),
                "sessions": .array(sessions.map(JSONValue.string)),
                "latestVitals": latestVitals?.json ?? .null,
                "moodChecks": .object(
                    JSONObject(uniqueSorted: moodChecks.map { ($0.key, JSONValue.array($0.value.map(\.json))) })
                ),
                "openAlerts": .array(openAlerts.sorted().map { .string($0.description) }),
            ])
        )
    }
}

/// One set of vital signs.
public struct VitalsReading: Sendable, Equatable {
    public var at: Timestamp
    public var session: String?
    public var position: Int64
    public var values: VitalsRecorded
    /// Minutes after the session's initial dose, when there was one before this reading.
    public var minutesFromInitialDose: Double?

    /// Later in time, or at the same time but later in the log.
    func isLater(than other: VitalsReading) -> Bool {
        at != other.at ? at > other.at : position > other.position
    }

    var json: JSONValue {
        var object = values.json
        object["at"] = .string(at.rfc3339)
        if let session { object["session"] = .string(session) }
        object["minutesFromInitialDose"] =
            minutesFromInitialDose.map { .number(JSONNumber(($0 * 10).rounded() / 10)) } ?? .null
        return .object(object)
    }
}

/// One administration within a session.
public struct DoseView: Sendable, Equatable {
    public var eventID: EventID
    public var at: Timestamp
    public var dose: Milligrams
    public var kind: DoseKind
    public var lot: String
    public var position: Int64
    /// The session's total up to and including this dose, in time order.
    public var runningTotal: Milligrams = .zero
    public var minutesFromInitialDose: Double?

    /// Earlier in time, or at the same time but earlier in the log.
    func isEarlier(than other: DoseView) -> Bool {
        at != other.at ? at < other.at : position < other.position
    }

    var json: JSONValue {
        .object(
            JSONObject([
                "eventId": .string(eventID.description), "at": .string(at.rfc3339), "doseMg": .number(dose.jsonNumber),
                "kind": .string(kind.rawValue), "lot": .string(lot), "runningTotalMg": .number(runningTotal.jsonNumber),
                "minutesFromInitialDose": minutesFromInitialDose.map { .number(JSONNumber(($0 * 10).rounded() / 10)) }
                    ?? .null,
            ])
        )
    }
}

/// A dosing session: doses in time order with running totals, the vitals series with its peaks, adverse events.
public struct SessionView: Sendable, Equatable {
    public var id: String
    public var participant: String
    public var number: Int?
    public var startedAt: Timestamp?
    /// The `session.started` event: the cause of follow-up alerts.
    public var startedEventID: EventID?
    public var endedAt: Timestamp?
    public var doses: [DoseView] = []
    public var vitals: [VitalsReading] = []
    public var adverseEvents: [String] = []

    public var totalDose: Milligrams { doses.reduce(.zero) { $0 + $1.dose } }

    /// The first initial dose in time order.
    public var initialDoseAt: Timestamp? { doses.first { $0.kind == .initial }?.at }

    /// Inserts a dose in time order (then log order) and recomputes running totals; minutes from the initial
    /// dose too when the initial dose changed.
    mutating func insert(_ dose: DoseView) {
        let initialBefore = initialDoseAt
        let index = doses.lastIndex { !dose.isEarlier(than: $0) }.map { $0 + 1 } ?? 0
        doses.insert(dose, at: index)
        let initial = initialDoseAt
        var total = index > 0 ? doses[index - 1].runningTotal : .zero
        for position in index..<doses.count {
            total = total + doses[position].dose
            doses[position].runningTotal = total
            doses[position].minutesFromInitialDose = initial.flatMap { Self.minutes(from: $0, to: doses[position].at) }
        }
        if initial != initialBefore {
            for position in doses.indices {
                doses[position].minutesFromInitialDose = initial.flatMap {
                    Self.minutes(from: $0, to: doses[position].at)
                }
            }
            for position in vitals.indices {
                vitals[position].minutesFromInitialDose = initial.flatMap {
                    Self.minutes(from: $0, to: vitals[position].at)
                }
            }
        }
    }

    /// Inserts a reading in time order (then log order), with its minutes from the initial dose.
    mutating func insert(_ reading: VitalsReading) {
        var reading = reading
        reading.minutesFromInitialDose = initialDoseAt.flatMap { Self.minutes(from: $0, to: reading.at) }
        let index = vitals.lastIndex { !$0.isLater(than: reading) }.map { $0 + 1 } ?? 0
        vitals.insert(reading, at: index)
    }

    static func minutes(from start: Timestamp, to time: Timestamp) -> Double? {
        time < start ? nil : Double(time.microsecondsSinceEpoch - start.microsecondsSinceEpoch) / 60_000_000
    }

    public var peaks: VitalsRecorded {
        func maximum(_ values: [Double?]) -> Double? { values.compactMap { $0 }.max() }
        return VitalsRecorded(
            systolic: maximum(vitals.map(\.values.systolic)), diastolic: maximum(vitals.map(\.values.diastolic)),
            heartRate: maximum(vitals.map(\.values.heartRate)),
            temperatureC: maximum(vitals.map(\.values.temperatureC)),
            spo2: vitals.compactMap(\.values.spo2).min()
        )
    }

    public var json: JSONValue {
        .object(
            JSONObject([
                "id": .string(id), "participant": .string(participant),
                "number": number.map { .number(JSONNumber($0)) } ?? .null,
                "startedAt": startedAt.map { .string($0.rfc3339) } ?? .null,
                "endedAt": endedAt.map { .string($0.rfc3339) } ?? .null,
                "totalDoseMg": .number(totalDose.jsonNumber),
                "initialDoseAt": initialDoseAt.map { .string($0.rfc3339) } ?? .null,
                "doses": .array(doses.map(\.json)),
                "vitals": .array(vitals.map(\.json)),
                "peaks": .object(peaks.json),
                "adverseEvents": .array(adverseEvents.map(JSONValue.string)),
            ])
        )
    }
}

/// An adverse event with its regulatory clock (21 CFR 312.32).
public struct AdverseEventView: Sendable, Equatable {
    public var participant: String
    public var aeId: String
    public var term: String
    public var onset: CalendarDate
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
    public var reportedEventID: EventID

    /// Key of the register: the participant and the clinic's id.
    public var key: String { participant + "/" + aeId }

    /// Serious, unexpected and suspected: an expedited IND safety report is due.
    public var requiresExpeditedReport: Bool { serious && !expected && suspected }

    /// 7 calendar days for fatal or life-threatening events, 15 otherwise.
    public var reportDays: Int? {
        guard requiresExpeditedReport else { return nil }
        return criteria.contains(.death) || criteria.contains(.lifeThreatening) ? 7 : 15
    }

    /// Day 0 plus the reporting days.
    public var reportDueAt: Timestamp? {
        reportDays.map { awareAt.adding(seconds: Int64($0) * 86_400) }
    }

    /// Needs an expedited report that has not been filed.
    public var isOpen: Bool { requiresExpeditedReport && submittedAt == nil }

    public var json: JSONValue {
        .object(
            JSONObject([
                "participant": .string(participant), "aeId": .string(aeId), "term": .string(term),
                "onset": .string(onset.iso8601), "severity": .number(JSONNumber(severity)), "serious": .bool(serious),
                "criteria": .array(criteria.map { .string($0.rawValue) }), "expected": .bool(expected),
                "suspected": .bool(suspected), "awareAt": .string(awareAt.rfc3339),
                "session": session.map(JSONValue.string) ?? .null,
                "requiresExpeditedReport": .bool(requiresExpeditedReport),
                "reportDays": reportDays.map { .number(JSONNumber($0)) } ?? .null,
                "reportDueAt": reportDueAt.map { .string($0.rfc3339) } ?? .null,
                "submittedAt": submittedAt.map { .string($0.rfc3339) } ?? .null,
                "reference": reference.map(JSONValue.string) ?? .null,
                "outcome": outcome.map { .string($0.rawValue) } ?? .null,
                "open": .bool(isOpen),
            ])
        )
    }
}

/// Who acted on an alert, when, and what they noted.
public struct AlertAction: Sendable, Equatable {
    public var by: KeyID
    public var name: String
    public var at: Timestamp
    public var note: String
    public var position: Int64

    var json: JSONValue {
        .object(
            JSONObject([
                "keyid": .string(by.hex), "name": .string(name), "at": .string(at.rfc3339), "note": .string(note),
                "position": .number(JSONNumber(position)),
            ])
        )
    }
}

/// An alert and its handling.
public struct AlertView: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
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
    public var causes: [EventID]
    public var message: String
    public var raisedAt: Timestamp
    public var position: Int64
    public var acknowledged: AlertAction?
    public var resolved: AlertAction?

    public var status: Status { resolved != nil ? .resolved : acknowledged != nil ? .acknowledged : .open }

    public init(
        alertId: EventID, rule: AlertRule, severity: AlertSeverity, participant: String?, session: String?,
        causes: [EventID],
        message: String, raisedAt: Timestamp, position: Int64, acknowledged: AlertAction? = nil,
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
    }

    public var json: JSONValue {
        .object(
            JSONObject([
                "alertId": .string(alertId.description), "rule": .string(rule.rawValue),
                "severity": .string(severity.rawValue),
                "participant": participant.map(JSONValue.string) ?? .null,
                "session": session.map(JSONValue.string) ?? .null,
                "status": .string(status.rawValue),
                "raisedAt": .string(raisedAt.rfc3339), "position": .number(JSONNumber(position)),
                "causes": .array(causes.map { .string($0.description) }), "message": .string(message),
                "acknowledged": acknowledged?.json ?? .null, "resolved": resolved?.json ?? .null,
            ])
        )
    }
}

extension JSONObject {
    /// An object from pairs sorted by key (for deterministic output from dictionaries).
    init(uniqueSorted pairs: [(String, JSONValue)]) {
        self.init()
        for (key, value) in pairs.sorted(by: { $0.0 < $1.0 }) { self[key] = value }
    }
}
