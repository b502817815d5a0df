// Participants and their dosing sessions.

public struct Medication: Sendable, Equatable {
    public var name: String
    public var serotonergic: Bool

    public init(name: String, serotonergic: Bool) {
        self.name = name
        self.serotonergic = serotonergic
    }
}

public struct ParticipantEnrolled: EventBody {
    public static let eventType = EventType.participantEnrolled
    public static let fields: Set<String> = ["site", "medications", "timeZone"]
    public var site: String
    public var medications: [Medication]
    /// The participant's IANA time zone (such as Europe/Oslo): follow-up days end at midnight there. Without
    /// one, the clinic's zone (`rules.timeZone`) is used.
    public var timeZone: String?

    public init(site: String, medications: [Medication], timeZone: String? = nil) {
        self.site = site
        self.medications = medications
        self.timeZone = timeZone
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
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

    public var json: JSONObject {
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

public struct MedicationChanged: EventBody {
    public static let eventType = EventType.participantMedicationChanged
    public static let fields: Set<String> = ["name", "serotonergic", "action"]
    public var name: String
    public var serotonergic: Bool
    public var action: MedicationAction

    public init(name: String, serotonergic: Bool, action: MedicationAction) {
        self.name = name
        self.serotonergic = serotonergic
        self.action = action
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        name = try data.string("name")
        serotonergic = try data.bool("serotonergic")
        action = try data.enumeration("action")
    }

    public var json: JSONObject {
        JSONObject(["name": .string(name), "serotonergic": .bool(serotonergic), "action": .string(action.rawValue)])
    }
}

public struct SessionStarted: EventBody {
    public static let eventType = EventType.sessionStarted
    public static let fields: Set<String> = ["number"]
    /// 1 for the first experimental session of the course, then 2, 3 ...
    public var number: Int

    public init(number: Int) {
        self.number = number
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        number = try data.integer("number", in: ValidationLimits.sessionNumberRange)
    }

    public var json: JSONObject { JSONObject(["number": .number(JSONNumber(number))]) }
}

public struct SessionEnded: EventBody {
    public static let eventType = EventType.sessionEnded
    public static let fields: Set<String> = []

    public init() {}

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {}

    public var json: JSONObject { JSONObject() }
}
