// Clinical records: vital signs, adverse events and their regulatory reports, mood checks.

package struct VitalsRecorded: EventBody {
    package static let eventType = EventType.vitalsRecorded
    package enum Field: String, DeclaredFields {
        case systolic, diastolic, heartRate, temperatureC, spo2
    }
    /// mmHg
    package var systolic: Double?
    /// mmHg
    package var diastolic: Double?
    /// beats per minute
    package var heartRate: Double?
    /// degrees Celsius
    package var temperatureC: Double?
    /// percent
    package var spo2: Double?

    package init(
        systolic: Double? = nil, diastolic: Double? = nil, heartRate: Double? = nil, temperatureC: Double? = nil,
        spo2: Double? = nil
    ) {
        self.systolic = systolic
        self.diastolic = diastolic
        self.heartRate = heartRate
        self.temperatureC = temperatureC
        self.spo2 = spo2
    }

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        systolic = try data.optionalNumber(.systolic, in: ValidationLimits.systolicRange, unit: "mmHg")
        diastolic = try data.optionalNumber(.diastolic, in: ValidationLimits.diastolicRange, unit: "mmHg")
        heartRate = try data.optionalNumber(.heartRate, in: ValidationLimits.heartRateRange, unit: "/min")
        temperatureC = try data.optionalNumber(.temperatureC, in: ValidationLimits.temperatureRange, unit: "C")
        spo2 = try data.optionalNumber(.spo2, in: ValidationLimits.spo2Range, unit: "%")
        guard systolic != nil || diastolic != nil || heartRate != nil || temperatureC != nil || spo2 != nil else {
            throw FieldError(
                path: data.path,
                reason: "must carry at least one of \(Field.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let systolic, let diastolic, diastolic >= systolic {
            throw FieldError(path: data.fieldPath(.diastolic), reason: "must be below systolic")
        }
    }

    package var json: JSONObject {
        var object = FieldWriter<Field>()
        if let systolic { object[.systolic] = .number(JSONNumber(systolic)) }
        if let diastolic { object[.diastolic] = .number(JSONNumber(diastolic)) }
        if let heartRate { object[.heartRate] = .number(JSONNumber(heartRate)) }
        if let temperatureC { object[.temperatureC] = .number(JSONNumber(temperatureC)) }
        if let spo2 { object[.spo2] = .number(JSONNumber(spo2)) }
        return object.object
    }
}

package struct AdverseEventReported: EventBody {
    package static let eventType = EventType.adverseEventReported
    package enum Field: String, DeclaredFields {
        case aeId, term, onset, severity, serious, criteria, expected, suspected, awareAt
    }
    /// The clinic's identifier of the adverse event, used by updates and submissions.
    package var aeId: String
    /// The event's term (MedDRA preferred term or free text).
    package var term: String
    package var onset: CalendarDate
    /// CTCAE grade, 1 (mild) to 5 (death).
    package var severity: Int
    package var serious: Bool
    /// ICH E2A criteria; non-empty exactly when `serious`.
    package var criteria: [SeriousnessCriterion]
    package var expected: Bool
    package var suspected: Bool
    /// When the sponsor learned of it: Day 0 of the regulatory clock.
    package var awareAt: Timestamp

    package init(
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

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        aeId = try data.code(.aeId)
        term = try data.string(.term)
        onset = try data.date(.onset)
        severity = try data.integer(.severity, in: ValidationLimits.ctcaeGradeRange)
        serious = try data.bool(.serious)
        criteria = try Self.readCriteria(data)
        expected = try data.bool(.expected)
        suspected = try data.bool(.suspected)
        awareAt = try data.timestamp(.awareAt)
        try context.checkNotInFuture(awareAt, path: data.fieldPath(.awareAt))
        try Self.checkSeriousness(serious: serious, criteria: criteria, data: data)
        if severity == 5 && !criteria.contains(.death) {
            throw FieldError(path: data.fieldPath(.criteria), reason: "must include \"death\" for a grade 5 event")
        }
    }

    static func readCriteria<Field: SeriousnessFields>(
        _ data: FieldReader<Field>
    ) throws(FieldError) -> [SeriousnessCriterion] {
        var criteria: [SeriousnessCriterion] = []
        for (index, element) in try data.array(.criteria, maxCount: SeriousnessCriterion.allCases.count).enumerated() {
            let path = data.fieldPath(.criteria) + "[\(index)]"
            let criterion: SeriousnessCriterion = try ObjectReader.enumeration(element, path: path)
            guard !criteria.contains(criterion) else { throw FieldError(path: path, reason: "repeats a criterion") }
            criteria.append(criterion)
        }
        return criteria
    }

    static func checkSeriousness<Field: SeriousnessFields>(
        serious: Bool, criteria: [SeriousnessCriterion], data: FieldReader<Field>
    ) throws(FieldError) {
        if serious && criteria.isEmpty {
            throw FieldError(
                path: data.fieldPath(.criteria), reason: "must name at least one criterion when serious is true")
        }
        if !serious && !criteria.isEmpty {
            throw FieldError(
                path: data.fieldPath(.serious), reason: "must be true when seriousness criteria are given")
        }
    }

    package var json: JSONObject {
        FieldWriter<Field>([
            .aeId: .string(aeId), .term: .string(term), .onset: .string(onset.iso8601),
            .severity: .number(JSONNumber(severity)), .serious: .bool(serious),
            .criteria: .array(criteria.map { .string($0.rawValue) }), .expected: .bool(expected),
            .suspected: .bool(suspected), .awareAt: .string(awareAt.rfc3339),
        ]).object
    }
}

/// The fields of a report or an update that say whether an adverse event is serious, read by the same checks.
package protocol SeriousnessFields: DeclaredFields {
    static var serious: Self { get }
    static var criteria: Self { get }
}

extension AdverseEventReported.Field: SeriousnessFields {}
extension AdverseEventUpdated.Field: SeriousnessFields {}

package struct AdverseEventUpdated: EventBody {
    package static let eventType = EventType.adverseEventUpdated
    /// A report's fields, any of which may change, and the outcome.
    package enum Field: String, DeclaredFields {
        case aeId, term, onset, severity, serious, criteria, expected, suspected, awareAt, outcome
    }
    package var aeId: String
    package var term: String?
    package var onset: CalendarDate?
    package var severity: Int?
    package var serious: Bool?
    package var criteria: [SeriousnessCriterion]?
    package var expected: Bool?
    package var suspected: Bool?
    package var awareAt: Timestamp?
    package var outcome: AdverseEventOutcome?

    package init(
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

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        aeId = try data.code(.aeId)
        term = try data.optionalString(.term)
        if data.contains(.onset) { onset = try data.date(.onset) }
        severity = try data.optionalInteger(.severity, in: ValidationLimits.ctcaeGradeRange)
        serious = try data.optionalBool(.serious)
        if data.contains(.criteria) { criteria = try AdverseEventReported.readCriteria(data) }
        expected = try data.optionalBool(.expected)
        suspected = try data.optionalBool(.suspected)
        if data.contains(.awareAt) {
            let awareAt = try data.timestamp(.awareAt)
            try context.checkNotInFuture(awareAt, path: data.fieldPath(.awareAt))
            self.awareAt = awareAt
        }
        outcome = try data.optionalEnumeration(.outcome)
        guard data.object.count > 1 else {
            throw FieldError(path: data.path, reason: "must change at least one field besides aeId")
        }
        if let serious, let criteria {
            try AdverseEventReported.checkSeriousness(serious: serious, criteria: criteria, data: data)
        } else if serious == true {
            throw FieldError(path: data.fieldPath(.criteria), reason: "must accompany serious: true")
        } else if let criteria, !criteria.isEmpty {
            throw FieldError(path: data.fieldPath(.serious), reason: "must accompany seriousness criteria")
        }
    }

    package var json: JSONObject {
        var object = FieldWriter<Field>([.aeId: .string(aeId)])
        if let term { object[.term] = .string(term) }
        if let onset { object[.onset] = .string(onset.iso8601) }
        if let severity { object[.severity] = .number(JSONNumber(severity)) }
        if let serious { object[.serious] = .bool(serious) }
        if let criteria { object[.criteria] = .array(criteria.map { .string($0.rawValue) }) }
        if let expected { object[.expected] = .bool(expected) }
        if let suspected { object[.suspected] = .bool(suspected) }
        if let awareAt { object[.awareAt] = .string(awareAt.rfc3339) }
        if let outcome { object[.outcome] = .string(outcome.rawValue) }
        return object.object
    }
}

package struct AdverseEventSubmitted: EventBody {
    package static let eventType = EventType.adverseEventSubmitted
    package enum Field: String, DeclaredFields {
        case aeId, submittedAt, reference
    }
    package var aeId: String
    package var submittedAt: Timestamp
    /// The regulator's or sponsor's reference of the filed report.
    package var reference: String

    package init(aeId: String, submittedAt: Timestamp, reference: String) {
        self.aeId = aeId
        self.submittedAt = submittedAt
        self.reference = reference
    }

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        aeId = try data.code(.aeId)
        submittedAt = try data.timestamp(.submittedAt)
        try context.checkNotInFuture(submittedAt, path: data.fieldPath(.submittedAt))
        reference = try data.string(.reference)
    }

    package var json: JSONObject {
        FieldWriter<Field>([
            .aeId: .string(aeId), .submittedAt: .string(submittedAt.rfc3339), .reference: .string(reference),
        ]).object
    }
}

/// The C-SSRS screener. Questions 3 to 5 are asked only after a yes to question 2, so they may be absent.
package struct CSSRSAnswers: Sendable, Equatable {
    package enum Field: String, DeclaredFields {
        case q1, q2, q3, q4, q5, q6
    }
    package var q1: Bool
    package var q2: Bool
    package var q3: Bool?
    package var q4: Bool?
    package var q5: Bool?
    package var q6: Bool

    package init(q1: Bool, q2: Bool, q3: Bool? = nil, q4: Bool? = nil, q5: Bool? = nil, q6: Bool) {
        self.q1 = q1
        self.q2 = q2
        self.q3 = q3
        self.q4 = q4
        self.q5 = q5
        self.q6 = q6
    }
}

package struct MoodCheckCompleted: EventBody {
    package static let eventType = EventType.moodCheckCompleted
    package enum Field: String, DeclaredFields {
        case day, phq9, cssrs, mood
    }
    /// Days after the session (0 is the session day).
    package var day: Int
    /// The nine PHQ-9 answers, each 0-3.
    package var phq9: [Int]?
    package var cssrs: CSSRSAnswers?
    /// Self-rated mood, 0 (worst) to 10 (best).
    package var mood: Int?

    package init(day: Int, phq9: [Int]? = nil, cssrs: CSSRSAnswers? = nil, mood: Int? = nil) {
        self.day = day
        self.phq9 = phq9
        self.cssrs = cssrs
        self.mood = mood
    }

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        day = try data.integer(.day, in: ValidationLimits.followUpDayRange)
        if data.contains(.phq9) {
            let answers = try data.array(.phq9, maxCount: 9)
            guard answers.count == 9 else {
                throw FieldError(path: data.fieldPath(.phq9), reason: "must have exactly 9 answers")
            }
            var values: [Int] = []
            for (index, answer) in answers.enumerated() {
                values.append(try ObjectReader.integer(answer, path: data.fieldPath(.phq9) + "[\(index)]", in: 0...3))
            }
            phq9 = values
        }
        if data.contains(.cssrs) {
            let answers = try data.object(.cssrs, fields: CSSRSAnswers.Field.self)
            cssrs = CSSRSAnswers(
                q1: try answers.bool(.q1), q2: try answers.bool(.q2), q3: try answers.optionalBool(.q3),
                q4: try answers.optionalBool(.q4), q5: try answers.optionalBool(.q5), q6: try answers.bool(.q6)
            )
        }
        mood = try data.optionalInteger(.mood, in: ValidationLimits.moodRange)
        guard phq9 != nil || cssrs != nil || mood != nil else {
            throw FieldError(path: data.path, reason: "must carry at least one of phq9, cssrs, mood")
        }
    }

    package var json: JSONObject {
        var object = FieldWriter<Field>([.day: .number(JSONNumber(day))])
        if let phq9 { object[.phq9] = .array(phq9.map { .number(JSONNumber($0)) }) }
        if let cssrs {
            var answers = FieldWriter<CSSRSAnswers.Field>([.q1: .bool(cssrs.q1), .q2: .bool(cssrs.q2)])
            if let q3 = cssrs.q3 { answers[.q3] = .bool(q3) }
            if let q4 = cssrs.q4 { answers[.q4] = .bool(q4) }
            if let q5 = cssrs.q5 { answers[.q5] = .bool(q5) }
            answers[.q6] = .bool(cssrs.q6)
            object[.cssrs] = .object(answers.object)
        }
        if let mood { object[.mood] = .number(JSONNumber(mood)) }
        return object.object
    }
}
