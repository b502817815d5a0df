// Alerts raised by the daemon and officers' answers to them.

package struct AlertRaised: EventBody {
    package static let eventType = EventType.alertRaised
    package enum Field: String, DeclaredFields {
        case alertId, rule, severity, participant, causes, message
    }
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

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        alertId = try data.uuid(.alertId)
        rule = try data.enumeration(.rule)
        severity = try data.enumeration(.severity)
        participant = try data.optionalCode(.participant)
        var causes: [EventID] = []
        for (index, element) in try data.array(.causes, maxCount: 1000).enumerated() {
            causes.append(try ObjectReader.uuid(element, path: data.fieldPath(.causes) + "[\(index)]"))
        }
        self.causes = causes
        message = try data.string(.message, maxLength: 2000)
    }

    package var json: JSONObject {
        var object = FieldWriter<Field>([
            .alertId: .string(alertId.description), .rule: .string(rule.rawValue),
            .severity: .string(severity.rawValue),
        ])
        if let participant { object[.participant] = .string(participant) }
        object[.causes] = .array(causes.map { .string($0.description) })
        object[.message] = .string(message)
        return object.object
    }
}

/// The body of `alert.acknowledged` and `alert.resolved`: which alert, and the officer's words.
package struct AlertNote: Sendable, Equatable {
    package enum Field: String, DeclaredFields {
        case alertId, note
    }
    package var alertId: EventID
    package var note: String

    package init(alertId: EventID, note: String) {
        self.alertId = alertId
        self.note = note
    }
}

/// An officer's answer to an alert; the two answers differ only in their event type.
package protocol AlertAnswer: EventBody where Field == AlertNote.Field {
    var note: AlertNote { get }
    init(note: AlertNote)
}

extension AlertAnswer {
    package init(alertId: EventID, note: String) {
        self.init(note: AlertNote(alertId: alertId, note: note))
    }

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        self.init(note: AlertNote(alertId: try data.uuid(.alertId), note: try data.string(.note, maxLength: 2000)))
    }

    package var json: JSONObject {
        FieldWriter<Field>([.alertId: .string(note.alertId.description), .note: .string(note.note)]).object
    }
}

package struct AlertAcknowledged: AlertAnswer {
    package static let eventType = EventType.alertAcknowledged
    package var note: AlertNote

    package init(note: AlertNote) {
        self.note = note
    }
}

package struct AlertResolved: AlertAnswer {
    package static let eventType = EventType.alertResolved
    package var note: AlertNote

    package init(note: AlertNote) {
        self.note = note
    }
}
