// Participants and their dosing sessions.

package struct Medication: Sendable, Equatable {
    package var name: String
    package var serotonergic: Bool

    package init(name: String, serotonergic: Bool) {
        self.name = name
        self.serotonergic = serotonergic
    }
}

package struct ParticipantEnrolled: EventBody {
    package static let eventType = EventType.participantEnrolled
    package static let fields: Set<String> = ["site", "medications", "timeZone"]
    package var site: String
    package var medications: [Medication]
    /// The participant's IANA time zone (such as Europe/Oslo): follow-up days end at midnight there. Without
    /// one, the clinic's zone (`rules.timeZone`) is used.
    package var timeZone: String?

    package init(site: String, medications: [Medication], timeZone: String? = nil) {
        self.site = site
        self.medications = medications
        self.timeZone = timeZone
    }

    package init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        site = try data.string("site", maxLength: 100)
        var medications: [Medication] = []
        for (index, element) in try data.array("medications", maxCount: 50).enumerated() {
            let item = try ObjectReader(
                element, path: data.fieldPath("medications") + "[\(index)]", allowed: ["name", "serotonergic"])
            medications.append(Medication(name: try item.string("name"), serotonergic: try item.bool("serotonergic")))
        }
        self.medications = medications
        timeZone = try data.optionalString("timeZone", maxLength: 64)
        // Checked against the time-zone database on arrival only: a stored event stays readable on a machine
        // whose database lacks the zone (its follow-up days then fall back to the clinic's zone).
        if let timeZone, context.now != nil, CivilZone(identifier: timeZone) == nil {
            throw FieldError(
                path: data.fieldPath("timeZone"), reason: "must be an IANA time-zone name, such as Europe/Oslo")
        }
    }

    package var json: JSONObject {
        var object = JSONObject([
            "site": .string(site),
            "medications": .array(
                medications.map {
                    .object(JSONObject(["name": .string($0.name), "serotonergic": .bool($0.serotonergic)]))
                }),
        ])
        if let timeZone { object["timeZone"] = .string(timeZone) }
        return object
    }
}

package struct MedicationChanged: EventBody {
    package static let eventType = EventType.participantMedicationChanged
    package static let fields: Set<String> = ["name", "serotonergic", "action"]
    package var name: String
    package var serotonergic: Bool
    package var action: MedicationAction

    package init(name: String, serotonergic: Bool, action: MedicationAction) {
        self.name = name
        self.serotonergic = serotonergic
        self.action = action
    }

    package init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        name = try data.string("name")
        serotonergic = try data.bool("serotonergic")
        action = try data.enumeration("action")
    }

    package var json: JSONObject {
        JSONObject(["name": .string(name), "serotonergic": .bool(serotonergic), "action": .string(action.rawValue)])
    }
}

package struct SessionStarted: EventBody {
    package static let eventType = EventType.sessionStarted
    package static let fields: Set<String> = ["number"]
    /// 1 for the first experimental session of the course, then 2, 3 ...
    package var number: Int

    package init(number: Int) {
        self.number = number
    }

    package init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        number = try data.integer("number", in: ValidationLimits.sessionNumberRange)
    }

    package var json: JSONObject { JSONObject(["number": .number(JSONNumber(number))]) }
}

package struct SessionEnded: EventBody {
    package static let eventType = EventType.sessionEnded
    package static let fields: Set<String> = []

    package init() {}

    package init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {}

    package var json: JSONObject { JSONObject() }
}
