/// The `data` of one event type: decoded strictly from JSON, encoded back in a fixed field order.
public protocol EventBody: Sendable, Equatable {
    static var eventType: EventType { get }
    /// Every field `data` may carry; any other is refused.
    static var fields: Set<String> { get }
    init(reading data: ObjectReader, context: ValidationContext) throws(FieldError)
    var json: JSONObject { get }
}

// MARK: - Keys

public struct KeyRegistered: EventBody {
    public static let eventType = EventType.keyRegistered
    public static let fields: Set<String> = ["publicKey", "name", "role"]
    /// The raw 32-byte Ed25519 public key.
    public var publicKey: [UInt8]
    /// The holder's printed name, shown with every signature the key makes (Part 11, 11.50).
    public var name: String
    public var role: Role

    public init(publicKey: [UInt8], name: String, role: Role) {
        self.publicKey = publicKey
        self.name = name
        self.role = role
    }

    public var keyID: KeyID { KeyID(publicKey: publicKey) }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        let encoded = try data.string("publicKey", maxLength: 100)
        guard let key = Base64.decode(encoded), key.count == 32 else {
            throw FieldError(
                path: data.fieldPath("publicKey"),
                reason: "must be the standard base64 of a raw 32-byte Ed25519 public key")
        }
        publicKey = key
        name = try data.string("name")
        let role: Role = try data.enumeration("role")
        guard Role.registrable.contains(role) else {
            let choices = Role.registrable.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw FieldError(path: data.fieldPath("role"), reason: "must be one of \(choices)")
        }
        self.role = role
    }

    public var json: JSONObject {
        JSONObject([
            "publicKey": .string(Base64.encode(publicKey)), "name": .string(name), "role": .string(role.rawValue),
        ])
    }
}

public struct KeyRevoked: EventBody {
    public static let eventType = EventType.keyRevoked
    public static let fields: Set<String> = ["keyid", "reason"]
    public var keyID: KeyID
    public var reason: String

    public init(keyID: KeyID, reason: String) {
        self.keyID = keyID
        self.reason = reason
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        let text = try data.string("keyid", maxLength: 64)
        guard let keyID = KeyID(hex: text) else {
            throw FieldError(path: data.fieldPath("keyid"), reason: "must be a key id: 64 lowercase hexadecimal digits")
        }
        self.keyID = keyID
        reason = try data.string("reason", maxLength: 1000)
    }

    public var json: JSONObject {
        JSONObject(["keyid": .string(keyID.hex), "reason": .string(reason)])
    }
}

// MARK: - Participants and sessions

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

// MARK: - Controlled substance

public struct InventoryReceived: EventBody {
    public static let eventType = EventType.inventoryReceived
    public static let fields: Set<String> = ["lot", "substance", "quantityMg", "supplier"]
    public var lot: String
    public var substance: String
    public var quantity: Milligrams
    public var supplier: String

    public init(lot: String, substance: String, quantity: Milligrams, supplier: String) {
        self.lot = lot
        self.substance = substance
        self.quantity = quantity
        self.supplier = supplier
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        lot = try data.code("lot")
        substance = try data.string("substance", maxLength: 100)
        quantity = try data.milligrams("quantityMg", maximum: context.limits.maxQuantity)
        supplier = try data.string("supplier")
    }

    public var json: JSONObject {
        JSONObject([
            "lot": .string(lot), "substance": .string(substance), "quantityMg": .number(quantity.jsonNumber),
            "supplier": .string(supplier),
        ])
    }
}

public struct DoseDispensed: EventBody {
    public static let eventType = EventType.doseDispensed
    public static let fields: Set<String> = ["lot", "doseMg", "kind"]
    public var lot: String
    public var dose: Milligrams
    public var kind: DoseKind

    public init(lot: String, dose: Milligrams, kind: DoseKind) {
        self.lot = lot
        self.dose = dose
        self.kind = kind
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        lot = try data.code("lot")
        dose = try data.milligrams("doseMg", maximum: context.limits.maxDose)
        kind = try data.enumeration("kind")
    }

    public var json: JSONObject {
        JSONObject(["lot": .string(lot), "doseMg": .number(dose.jsonNumber), "kind": .string(kind.rawValue)])
    }
}

public struct DoseWasted: EventBody {
    public static let eventType = EventType.doseWasted
    public static let fields: Set<String> = ["lot", "quantityMg", "reason"]
    public var lot: String
    public var quantity: Milligrams
    public var reason: String

    public init(lot: String, quantity: Milligrams, reason: String) {
        self.lot = lot
        self.quantity = quantity
        self.reason = reason
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        lot = try data.code("lot")
        quantity = try data.milligrams("quantityMg", maximum: context.limits.maxQuantity)
        reason = try data.string("reason", maxLength: 1000)
    }

    public var json: JSONObject {
        JSONObject(["lot": .string(lot), "quantityMg": .number(quantity.jsonNumber), "reason": .string(reason)])
    }
}

public struct InventoryDestroyed: EventBody {
    public static let eventType = EventType.inventoryDestroyed
    public static let fields: Set<String> = ["lot", "quantityMg", "method", "form41"]
    public var lot: String
    public var quantity: Milligrams
    public var method: String
    /// The DEA Form 41 reference.
    public var form41: String

    public init(lot: String, quantity: Milligrams, method: String, form41: String) {
        self.lot = lot
        self.quantity = quantity
        self.method = method
        self.form41 = form41
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        lot = try data.code("lot")
        quantity = try data.milligrams("quantityMg", maximum: context.limits.maxQuantity)
        method = try data.string("method")
        form41 = try data.string("form41", maxLength: 100)
    }

    public var json: JSONObject {
        JSONObject([
            "lot": .string(lot), "quantityMg": .number(quantity.jsonNumber), "method": .string(method),
            "form41": .string(form41),
        ])
    }
}

public struct InventoryCounted: EventBody {
    public static let eventType = EventType.inventoryCounted
    public static let fields: Set<String> = ["lot", "countedMg"]
    public var lot: String
    /// The physical count; zero is a valid count.
    public var counted: Milligrams

    public init(lot: String, counted: Milligrams) {
        self.lot = lot
        self.counted = counted
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        lot = try data.code("lot")
        counted = try data.milligrams("countedMg", maximum: context.limits.maxQuantity, allowZero: true)
    }

    public var json: JSONObject {
        JSONObject(["lot": .string(lot), "countedMg": .number(counted.jsonNumber)])
    }
}

public struct InventoryLossReported: EventBody {
    public static let eventType = EventType.inventoryLossReported
    public static let fields: Set<String> = ["lossId", "lot", "quantityMg", "kind", "discoveredAt"]
    /// The clinic's code for the loss, named again by `inventory.loss_report_filed`.
    public var lossId: String
    public var lot: String
    public var quantity: Milligrams
    public var kind: LossKind
    /// When the theft or loss was discovered: the DEA's one-business-day clock starts here (21 CFR 1301.76(b)).
    public var discoveredAt: Timestamp

    public init(lossId: String, lot: String, quantity: Milligrams, kind: LossKind, discoveredAt: Timestamp) {
        self.lossId = lossId
        self.lot = lot
        self.quantity = quantity
        self.kind = kind
        self.discoveredAt = discoveredAt
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        lossId = try data.code("lossId")
        lot = try data.code("lot")
        quantity = try data.milligrams("quantityMg", maximum: context.limits.maxQuantity)
        kind = try data.enumeration("kind")
        discoveredAt = try data.timestamp("discoveredAt")
        try context.checkNotInFuture(discoveredAt, path: data.fieldPath("discoveredAt"))
    }

    public var json: JSONObject {
        JSONObject([
            "lossId": .string(lossId), "lot": .string(lot), "quantityMg": .number(quantity.jsonNumber),
            "kind": .string(kind.rawValue), "discoveredAt": .string(discoveredAt.rfc3339),
        ])
    }
}

public struct InventoryLossReportFiled: EventBody {
    public static let eventType = EventType.inventoryLossReportFiled
    public static let fields: Set<String> = ["lossId", "reference", "filedAt"]
    public var lossId: String
    /// The DEA Form 106 number.
    public var reference: String
    public var filedAt: Timestamp

    public init(lossId: String, reference: String, filedAt: Timestamp) {
        self.lossId = lossId
        self.reference = reference
        self.filedAt = filedAt
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        lossId = try data.code("lossId")
        reference = try data.string("reference", maxLength: 100)
        filedAt = try data.timestamp("filedAt")
        try context.checkNotInFuture(filedAt, path: data.fieldPath("filedAt"))
    }

    public var json: JSONObject {
        JSONObject(["lossId": .string(lossId), "reference": .string(reference), "filedAt": .string(filedAt.rfc3339)])
    }
}

// MARK: - Clinical

public struct VitalsRecorded: EventBody {
    public static let eventType = EventType.vitalsRecorded
    public static let fields: Set<String> = ["systolic", "diastolic", "heartRate", "temperatureC", "spo2"]
    /// mmHg
    public var systolic: Double?
    /// mmHg
    public var diastolic: Double?
    /// beats per minute
    public var heartRate: Double?
    /// degrees Celsius
    public var temperatureC: Double?
    /// percent
    public var spo2: Double?

    public init(
        systolic: Double? = nil, diastolic: Double? = nil, heartRate: Double? = nil, temperatureC: Double? = nil,
        spo2: Double? = nil
    ) {
        self.systolic = systolic
        self.diastolic = diastolic
        self.heartRate = heartRate
        self.temperatureC = temperatureC
        self.spo2 = spo2
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        systolic = try data.optionalNumber("systolic", in: ValidationLimits.systolicRange, unit: "mmHg")
        diastolic = try data.optionalNumber("diastolic", in: ValidationLimits.diastolicRange, unit: "mmHg")
        heartRate = try data.optionalNumber("heartRate", in: ValidationLimits.heartRateRange, unit: "/min")
        temperatureC = try data.optionalNumber("temperatureC", in: ValidationLimits.temperatureRange, unit: "C")
        spo2 = try data.optionalNumber("spo2", in: ValidationLimits.spo2Range, unit: "%")
        guard systolic != nil || diastolic != nil || heartRate != nil || temperatureC != nil || spo2 != nil else {
            throw FieldError(
                path: data.path, reason: "must carry at least one of systolic, diastolic, heartRate, temperatureC, spo2"
            )
        }
        if let systolic, let diastolic, diastolic >= systolic {
            throw FieldError(path: data.fieldPath("diastolic"), reason: "must be below systolic")
        }
    }

    public var json: JSONObject {
        var object = JSONObject()
        if let systolic { object["systolic"] = .number(JSONNumber(systolic)) }
        if let diastolic { object["diastolic"] = .number(JSONNumber(diastolic)) }
        if let heartRate { object["heartRate"] = .number(JSONNumber(heartRate)) }
        if let temperatureC { object["temperatureC"] = .number(JSONNumber(temperatureC)) }
        if let spo2 { object["spo2"] = .number(JSONNumber(spo2)) }
        return object
    }
}

public struct AdverseEventReported: EventBody {
    public static let eventType = EventType.adverseEventReported
    public static let fields: Set<String> = [
        "aeId", "term", "onset", "severity", "serious", "criteria", "expected", "suspected", "awareAt",
    ]
    /// The clinic's identifier of the adverse event, used by updates and submissions.
    public var aeId: String
    /// The event's term (MedDRA preferred term or free text).
    public var term: String
    public var onset: CalendarDate
    /// CTCAE grade, 1 (mild) to 5 (death).
    public var severity: Int
    public var serious: Bool
    /// ICH E2A criteria; non-empty exactly when `serious`.
    public var criteria: [SeriousnessCriterion]
    public var expected: Bool
    public var suspected: Bool
    /// When the sponsor learned of it: Day 0 of the regulatory clock.
    public var awareAt: Timestamp

    public init(
        aeId: String, term: String, onset: CalendarDate, severity: Int, serious: Bool, criteria: [SeriousnessCriterion],
        expected: Bool, suspected: Bool, awareAt: Timestamp
    ) {
        self.aeId = aeId
        self.term = term
        self.onset = onset
        self.severity = severity
        self.serious = serious
        self.criteria = criteria
        self.expected = expected
        self.suspected = suspected
        self.awareAt = awareAt
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        aeId = try data.code("aeId")
        term = try data.string("term")
        onset = try data.date("onset")
        severity = try data.integer("severity", in: ValidationLimits.ctcaeGradeRange)
        serious = try data.bool("serious")
        criteria = try Self.readCriteria(data)
        expected = try data.bool("expected")
        suspected = try data.bool("suspected")
        awareAt = try data.timestamp("awareAt")
        try context.checkNotInFuture(awareAt, path: data.fieldPath("awareAt"))
        try Self.checkSeriousness(serious: serious, criteria: criteria, data: data)
        if severity == 5 && !criteria.contains(.death) {
            throw FieldError(path: data.fieldPath("criteria"), reason: "must include \"death\" for a grade 5 event")
        }
    }

    static func readCriteria(_ data: ObjectReader) throws(FieldError) -> [SeriousnessCriterion] {
        var criteria: [SeriousnessCriterion] = []
        for (index, element) in try data.array("criteria", maxCount: SeriousnessCriterion.allCases.count).enumerated() {
            let path = data.fieldPath("criteria") + "[\(index)]"
            let criterion: SeriousnessCriterion = try ObjectReader.enumeration(element, path: path)
            guard !criteria.contains(criterion) else { throw FieldError(path: path, reason: "repeats a criterion") }
            criteria.append(criterion)
        }
        return criteria
    }

    static func checkSeriousness(serious: Bool, criteria: [SeriousnessCriterion], data: ObjectReader) throws(FieldError)
    {
        if serious && criteria.isEmpty {
            throw FieldError(
                path: data.fieldPath("criteria"), reason: "must name at least one criterion when serious is true")
        }
        if !serious && !criteria.isEmpty {
            throw FieldError(
                path: data.fieldPath("serious"), reason: "must be true when seriousness criteria are given")
        }
    }

    public var json: JSONObject {
        JSONObject([
            "aeId": .string(aeId), "term": .string(term), "onset": .string(onset.iso8601),
            "severity": .number(JSONNumber(severity)), "serious": .bool(serious),
            "criteria": .array(criteria.map { .string($0.rawValue) }), "expected": .bool(expected),
            "suspected": .bool(suspected), "awareAt": .string(awareAt.rfc3339),
        ])
    }
}

public struct AdverseEventUpdated: EventBody {
    public static let eventType = EventType.adverseEventUpdated
    public static let fields: Set<String> = AdverseEventReported.fields.union(["outcome"])
    public var aeId: String
    public var term: String?
    public var onset: CalendarDate?
    public var severity: Int?
    public var serious: Bool?
    public var criteria: [SeriousnessCriterion]?
    public var expected: Bool?
    public var suspected: Bool?
    public var awareAt: Timestamp?
    public var outcome: AdverseEventOutcome?

    public init(
        aeId: String, term: String? = nil, onset: CalendarDate? = nil, severity: Int? = nil, serious: Bool? = nil,
        criteria: [SeriousnessCriterion]? = nil, expected: Bool? = nil, suspected: Bool? = nil,
        awareAt: Timestamp? = nil, outcome: AdverseEventOutcome? = nil
    ) {
        self.aeId = aeId
        self.term = term
        self.onset = onset
        self.severity = severity
        self.serious = serious
        self.criteria = criteria
        self.expected = expected
        self.suspected = suspected
        self.awareAt = awareAt
        self.outcome = outcome
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        aeId = try data.code("aeId")
        term = try data.optionalString("term")
        if data.contains("onset") { onset = try data.date("onset") }
        severity = try data.optionalInteger("severity", in: ValidationLimits.ctcaeGradeRange)
        serious = try data.optionalBool("serious")
        if data.contains("criteria") { criteria = try AdverseEventReported.readCriteria(data) }
        expected = try data.optionalBool("expected")
        suspected = try data.optionalBool("suspected")
        if data.contains("awareAt") {
            let awareAt = try data.timestamp("awareAt")
            try context.checkNotInFuture(awareAt, path: data.fieldPath("awareAt"))
            self.awareAt = awareAt
        }
        outcome = try data.optionalEnumeration("outcome")
        guard data.object.count > 1 else {
            throw FieldError(path: data.path, reason: "must change at least one field besides aeId")
        }
        if let serious, let criteria {
            try AdverseEventReported.checkSeriousness(serious: serious, criteria: criteria, data: data)
        } else if serious == true {
            throw FieldError(path: data.fieldPath("criteria"), reason: "must accompany serious: true")
        } else if let criteria, !criteria.isEmpty {
            throw FieldError(path: data.fieldPath("serious"), reason: "must accompany seriousness criteria")
        }
    }

    public var json: JSONObject {
        var object = JSONObject(["aeId": .string(aeId)])
        if let term { object["term"] = .string(term) }
        if let onset { object["onset"] = .string(onset.iso8601) }
        if let severity { object["severity"] = .number(JSONNumber(severity)) }
        if let serious { object["serious"] = .bool(serious) }
        if let criteria { object["criteria"] = .array(criteria.map { .string($0.rawValue) }) }
        if let expected { object["expected"] = .bool(expected) }
        if let suspected { object["suspected"] = .bool(suspected) }
        if let awareAt { object["awareAt"] = .string(awareAt.rfc3339) }
        if let outcome { object["outcome"] = .string(outcome.rawValue) }
        return object
    }
}

public struct AdverseEventSubmitted: EventBody {
    public static let eventType = EventType.adverseEventSubmitted
    public static let fields: Set<String> = ["aeId", "submittedAt", "reference"]
    public var aeId: String
    public var submittedAt: Timestamp
    /// The regulator's or sponsor's reference of the filed report.
    public var reference: String

    public init(aeId: String, submittedAt: Timestamp, reference: String) {
        self.aeId = aeId
        self.submittedAt = submittedAt
        self.reference = reference
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        aeId = try data.code("aeId")
        submittedAt = try data.timestamp("submittedAt")
        try context.checkNotInFuture(submittedAt, path: data.fieldPath("submittedAt"))
        reference = try data.string("reference")
    }

    public var json: JSONObject {
        JSONObject([
            "aeId": .string(aeId), "submittedAt": .string(submittedAt.rfc3339), "reference": .string(reference),
        ])
    }
}

/// The C-SSRS screener. Questions 3 to 5 are asked only after a yes to question 2, so they may be absent.
public struct CSSRSAnswers: Sendable, Equatable {
    public var q1: Bool
    public var q2: Bool
    public var q3: Bool?
    public var q4: Bool?
    public var q5: Bool?
    public var q6: Bool

    public init(q1: Bool, q2: Bool, q3: Bool? = nil, q4: Bool? = nil, q5: Bool? = nil, q6: Bool) {
        self.q1 = q1
        self.q2 = q2
        self.q3 = q3
        self.q4 = q4
        self.q5 = q5
        self.q6 = q6
    }
}

public struct MoodCheckCompleted: EventBody {
    public static let eventType = EventType.moodCheckCompleted
    public static let fields: Set<String> = ["day", "phq9", "cssrs", "mood"]
    /// Days after the session (0 is the session day).
    public var day: Int
    /// The nine PHQ-9 answers, each 0-3.
    public var phq9: [Int]?
    public var cssrs: CSSRSAnswers?
    /// Self-rated mood, 0 (worst) to 10 (best).
    public var mood: Int?

    public init(day: Int, phq9: [Int]? = nil, cssrs: CSSRSAnswers? = nil, mood: Int? = nil) {
        self.day = day
        self.phq9 = phq9
        self.cssrs = cssrs
        self.mood = mood
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        day = try data.integer("day", in: ValidationLimits.followUpDayRange)
        if data.contains("phq9") {
            let answers = try data.array("phq9", maxCount: 9)
            guard answers.count == 9 else {
                throw FieldError(path: data.fieldPath("phq9"), reason: "must have exactly 9 answers")
            }
            var values: [Int] = []
            for (index, answer) in answers.enumerated() {
                values.append(try ObjectReader.integer(answer, path: data.fieldPath("phq9") + "[\(index)]", in: 0...3))
            }
            phq9 = values
        }
        if data.contains("cssrs") {
            let answers = try data.object("cssrs", allowed: ["q1", "q2", "q3", "q4", "q5", "q6"])
            cssrs = CSSRSAnswers(
                q1: try answers.bool("q1"), q2: try answers.bool("q2"), q3: try answers.optionalBool("q3"),
                q4: try answers.optionalBool("q4"), q5: try answers.optionalBool("q5"), q6: try answers.bool("q6")
            )
        }
        mood = try data.optionalInteger("mood", in: ValidationLimits.moodRange)
        guard phq9 != nil || cssrs != nil || mood != nil else {
            throw FieldError(path: data.path, reason: "must carry at least one of phq9, cssrs, mood")
        }
    }

    public var json: JSONObject {
        var object = JSONObject(["day": .number(JSONNumber(day))])
        if let phq9 { object["phq9"] = .array(phq9.map { .number(JSONNumber($0)) }) }
        if let cssrs {
            var answers = JSONObject(["q1": .bool(cssrs.q1), "q2": .bool(cssrs.q2)])
            if let q3 = cssrs.q3 { answers["q3"] = .bool(q3) }
            if let q4 = cssrs.q4 { answers["q4"] = .bool(q4) }
            if let q5 = cssrs.q5 { answers["q5"] = .bool(q5) }
            answers["q6"] = .bool(cssrs.q6)
            object["cssrs"] = .object(answers)
        }
        if let mood { object["mood"] = .number(JSONNumber(mood)) }
        return object
    }
}

// MARK: - Alerts

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
