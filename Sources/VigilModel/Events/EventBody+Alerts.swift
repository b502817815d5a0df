// Alerts raised by the daemon and officers' answers to them.

public struct AlertRaised: EventBody {
    public static let eventType = EventType.alertRaised
    public static let fields: Set<String> = ["alertId", "rule", "severity", "participant", "causes", "message"]
    public var alertId: EventID
    public var rule: AlertRule
    public var severity: AlertSeverity
    public var participant: String?
    /// The ids of the events that made the rule fire.
    public var causes: [EventID]
    public var message: String

    public init(
        alertId: EventID, rule: AlertRule, severity: AlertSeverity, participant: String?, causes: [EventID],
        message: String
    ) {
        self.alertId = alertId
        self.rule = rule
        self.severity = severity
        self.participant = participant
        self.causes = causes
        self.message = message
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        alertId = try data.uuid("alertId")
        rule = try data.enumeration("rule")
        severity = try data.enumeration("severity")
        participant = try data.optionalCode("participant")
        var causes: [EventID] = []
        for (index, element) in try data.array("causes", maxCount: 1000).enumerated() {
            causes.append(try ObjectReader.uuid(element, path: data.fieldPath("causes") + "[\(index)]"))
        }
        self.causes = causes
        message = try data.string("message", maxLength: 2000)
    }

    public var json: JSONObject {
        var object = JSONObject([
            "alertId": .string(alertId.description), "rule": .string(rule.rawValue),
            "severity": .string(severity.rawValue),
        ])
        if let participant { object["participant"] = .string(participant) }
        object["causes"] = .array(causes.map { .string($0.description) })
        object["message"] = .string(message)
        return object
    }
}

/// The body of `alert.acknowledged` and `alert.resolved`.
public struct AlertNote: Sendable, Equatable {
    public var alertId: EventID
    public var note: String

    public init(alertId: EventID, note: String) {
        self.alertId = alertId
        self.note = note
    }

    static let fields: Set<String> = ["alertId", "note"]

    init(reading data: ObjectReader) throws(FieldError) {
        alertId = try data.uuid("alertId")
        note = try data.string("note", maxLength: 2000)
    }

    var json: JSONObject { JSONObject(["alertId": .string(alertId.description), "note": .string(note)]) }
}

public struct AlertAcknowledged: EventBody {
    public static let eventType = EventType.alertAcknowledged
    public static let fields = AlertNote.fields
    public var note: AlertNote

    public init(alertId: EventID, note: String) {
        self.note = AlertNote(alertId: alertId, note: note)
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        note = try AlertNote(reading: data)
    }

    public var json: JSONObject { note.json }
}

public struct AlertResolved: EventBody {
    public static let eventType = EventType.alertResolved
    public static let fields = AlertNote.fields
    public var note: AlertNote

    public init(alertId: EventID, note: String) {
        self.note = AlertNote(alertId: alertId, note: note)
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        note = try AlertNote(reading: data)
    }

    public var json: JSONObject { note.json }
}
