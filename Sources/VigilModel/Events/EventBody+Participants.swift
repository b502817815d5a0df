// Participants and their dosing sessions.

package struct Medication: Sendable, Equatable {
    package enum Field: String, DeclaredFields {
        case name, serotonergic
    }
    package var name: String
    package var serotonergic: Bool

    package init(name: String, serotonergic: Bool) {
        self.name = name
        self.serotonergic = serotonergic
    }
}

package struct ParticipantEnrolled: EventBody {
    package static let eventType = EventType.participantEnrolled
    package enum Field: String, DeclaredFields {
        case site, medications, timeZone
    }
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

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        site = try data.string(.site, maxLength: 100)
        var medications: [Medication] = []
        for (index, element) in try data.array(.medications, maxCount: 50).enumerated() {
            let item = try FieldReader<Medication.Field>(element, path: data.fieldPath(.medications) + "[\(index)]")
            medications.append(Medication(name: try item.string(.name), serotonergic: try item.bool(.serotonergic)))
        }
        self.medications = medications
        timeZone = try data.optionalString(.timeZone, maxLength: 64)
        // Checked against the time-zone database on arrival only: a stored event stays readable on a machine
        // whose database lacks the zone (its follow-up days then fall back to the clinic's zone).
        if let timeZone, context.now != nil, CivilZone(identifier: timeZone) == nil {
            throw FieldError(
                path: data.fieldPath(.timeZone), reason: "must be an IANA time-zone name, such as Europe/Oslo")
        }
    }

    package var json: JSONObject {
        var object = FieldWriter<Field>([
            .site: .string(site),
            .medications: .array(
                medications.map {
                    .object(
                        FieldWriter<Medication.Field>([.name: .string($0.name), .serotonergic: .bool($0.serotonergic)])
                            .object)
                }),
        ])
        if let timeZone { object[.timeZone] = .string(timeZone) }
        return object.object
    }
}

package struct MedicationChanged: EventBody {
    package static let eventType = EventType.participantMedicationChanged
    package enum Field: String, DeclaredFields {
        case name, serotonergic, action
    }
    package var name: String
    package var serotonergic: Bool
    package var action: MedicationAction

    package init(name: String, serotonergic: Bool, action: MedicationAction) {
        self.name = name
        self.serotonergic = serotonergic
        self.action = action
    }

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        name = try data.string(.name)
        serotonergic = try data.bool(.serotonergic)
        action = try data.enumeration(.action)
    }

    package var json: JSONObject {
        FieldWriter<Field>([
            .name: .string(name), .serotonergic: .bool(serotonergic), .action: .string(action.rawValue),
        ]).object
    }
}

package struct SessionStarted: EventBody {
    package static let eventType = EventType.sessionStarted
    package enum Field: String, DeclaredFields {
        case number
    }
    /// 1 for the first experimental session of the course, then 2, 3 ...
    package var number: Int

    package init(number: Int) {
        self.number = number
    }

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        number = try data.integer(.number, in: ValidationLimits.sessionNumberRange)
    }

    package var json: JSONObject { FieldWriter<Field>([.number: .number(JSONNumber(number))]).object }
}

package struct SessionEnded: EventBody {
    package static let eventType = EventType.sessionEnded
    package typealias Field = NoFields

    package init() {}

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {}

    package var json: JSONObject { JSONObject() }
}
