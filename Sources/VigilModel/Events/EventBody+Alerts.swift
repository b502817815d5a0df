// Alerts raised by the daemon and officers' answers to them.

package struct AlertRaised: EventBody {
    package static let eventType = EventType.alertRaised
    package static let fields: Set<String> = ["alertId", "rule", "severity", "participant", "causes", "message"]
    package var alertId: EventID
    package var rule: AlertRule
    package var severity: AlertSeverity
    package var participant: String?
    /// The ids of the events that made the rule fire.
    package var causes: [EventID]
    package var message: String

    package init(
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

    package init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
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

    package var json: JSONObject {
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
package struct AlertNote: Sendable, Equatable {
    package var alertId: EventID
    package var note: String

    package init(alertId: EventID, note: String) {
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

package struct AlertAcknowledged: EventBody {
    package static let eventType = EventType.alertAcknowledged
    package static let fields = AlertNote.fields
    package var note: AlertNote

    package init(alertId: EventID, note: String) {
        self.note = AlertNote(alertId: alertId, note: note)
    }

    package init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        note = try AlertNote(reading: data)
    }

    package var json: JSONObject { note.json }
}

package struct AlertResolved: EventBody {
    package static let eventType = EventType.alertResolved
    package static let fields = AlertNote.fields
    package var note: AlertNote

    package init(alertId: EventID, note: String) {
        self.note = AlertNote(alertId: alertId, note: note)
    }

    package init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        note = try AlertNote(reading: data)
    }

    package var json: JSONObject { note.json }
}
