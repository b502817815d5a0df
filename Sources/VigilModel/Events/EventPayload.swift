/// The typed `data` of an event, one case per catalogue type.
package enum EventData: Sendable, Equatable {
    case keyRegistered(KeyRegistered)
    case keyRevoked(KeyRevoked)
    case participantEnrolled(ParticipantEnrolled)
    case participantMedicationChanged(MedicationChanged)
    case sessionStarted(SessionStarted)
    case sessionEnded(SessionEnded)
    case inventoryReceived(InventoryReceived)
    case doseDispensed(DoseDispensed)
    case doseWasted(DoseWasted)
    case inventoryDestroyed(InventoryDestroyed)
    case inventoryCounted(InventoryCounted)
    case inventoryLossReported(InventoryLossReported)
    case inventoryLossReportFiled(InventoryLossReportFiled)
    case vitalsRecorded(VitalsRecorded)
    case adverseEventReported(AdverseEventReported)
    case adverseEventUpdated(AdverseEventUpdated)
    case adverseEventSubmitted(AdverseEventSubmitted)
    case moodCheckCompleted(MoodCheckCompleted)
    case alertRaised(AlertRaised)
    case alertAcknowledged(AlertAcknowledged)
    case alertResolved(AlertResolved)

    package var body: any EventBody {
        switch self {
        case .keyRegistered(let body): body
        case .keyRevoked(let body): body
        case .participantEnrolled(let body): body
        case .participantMedicationChanged(let body): body
        case .sessionStarted(let body): body
        case .sessionEnded(let body): body
        case .inventoryReceived(let body): body
        case .doseDispensed(let body): body
        case .doseWasted(let body): body
        case .inventoryDestroyed(let body): body
        case .inventoryCounted(let body): body
        case .inventoryLossReported(let body): body
        case .inventoryLossReportFiled(let body): body
        case .vitalsRecorded(let body): body
        case .adverseEventReported(let body): body
        case .adverseEventUpdated(let body): body
        case .adverseEventSubmitted(let body): body
        case .moodCheckCompleted(let body): body
        case .alertRaised(let body): body
        case .alertAcknowledged(let body): body
        case .alertResolved(let body): body
        }
    }

    package var type: EventType {
        switch self {
        case .keyRegistered: .keyRegistered
        case .keyRevoked: .keyRevoked
        case .participantEnrolled: .participantEnrolled
        case .participantMedicationChanged: .participantMedicationChanged
        case .sessionStarted: .sessionStarted
        case .sessionEnded: .sessionEnded
        case .inventoryReceived: .inventoryReceived
        case .doseDispensed: .doseDispensed
        case .doseWasted: .doseWasted
        case .inventoryDestroyed: .inventoryDestroyed
        case .inventoryCounted: .inventoryCounted
        case .inventoryLossReported: .inventoryLossReported
        case .inventoryLossReportFiled: .inventoryLossReportFiled
        case .vitalsRecorded: .vitalsRecorded
        case .adverseEventReported: .adverseEventReported
        case .adverseEventUpdated: .adverseEventUpdated
        case .adverseEventSubmitted: .adverseEventSubmitted
        case .moodCheckCompleted: .moodCheckCompleted
        case .alertRaised: .alertRaised
        case .alertAcknowledged: .alertAcknowledged
        case .alertResolved: .alertResolved
        }
    }

    package var json: JSONObject { body.json }

    static func decode(type: EventType, _ value: JSONValue, context: ValidationContext) throws(FieldError) -> EventData
    {
        func read<Body: EventBody>(_: Body.Type) throws(FieldError) -> Body {
            try Body(reading: try FieldReader<Body.Field>(value, path: "data"), context: context)
        }
        switch type {
        case .keyRegistered: return .keyRegistered(try read(KeyRegistered.self))
        case .keyRevoked: return .keyRevoked(try read(KeyRevoked.self))
        case .participantEnrolled: return .participantEnrolled(try read(ParticipantEnrolled.self))
        case .participantMedicationChanged: return .participantMedicationChanged(try read(MedicationChanged.self))
        case .sessionStarted: return .sessionStarted(try read(SessionStarted.self))
        case .sessionEnded: return .sessionEnded(try read(SessionEnded.self))
        case .inventoryReceived: return .inventoryReceived(try read(InventoryReceived.self))
        case .doseDispensed: return .doseDispensed(try read(DoseDispensed.self))
        case .doseWasted: return .doseWasted(try read(DoseWasted.self))
        case .inventoryDestroyed: return .inventoryDestroyed(try read(InventoryDestroyed.self))
        case .inventoryCounted: return .inventoryCounted(try read(InventoryCounted.self))
        case .inventoryLossReported: return .inventoryLossReported(try read(InventoryLossReported.self))
        case .inventoryLossReportFiled: return .inventoryLossReportFiled(try read(InventoryLossReportFiled.self))
        case .vitalsRecorded: return .vitalsRecorded(try read(VitalsRecorded.self))
        case .adverseEventReported: return .adverseEventReported(try read(AdverseEventReported.self))
        case .adverseEventUpdated: return .adverseEventUpdated(try read(AdverseEventUpdated.self))
        case .adverseEventSubmitted: return .adverseEventSubmitted(try read(AdverseEventSubmitted.self))
        case .moodCheckCompleted: return .moodCheckCompleted(try read(MoodCheckCompleted.self))
        case .alertRaised: return .alertRaised(try read(AlertRaised.self))
        case .alertAcknowledged: return .alertAcknowledged(try read(AlertAcknowledged.self))
        case .alertResolved: return .alertResolved(try read(AlertResolved.self))
        }
    }
}

/// An event: what happened, when, to whom, as its author signed it (docs/protocol.md §2).
package struct EventPayload: Sendable, Equatable {
    /// The payload's fields, declared once for its reader and its encoder.
    package enum Field: String, DeclaredFields {
        case id, type, occurredAt, participant, session, data
    }

    package var id: EventID
    /// When it happened, as the author's clock said. Late entries are normal; the server also stamps `recordedAt`.
    package var occurredAt: Timestamp
    /// The participant's pseudonymous code (never a name).
    package var participant: String?
    package var session: String?
    package var data: EventData

    package var type: EventType { data.type }

    package init(
        id: EventID, occurredAt: Timestamp, participant: String? = nil, session: String? = nil, data: EventData
    ) {
        self.id = id
        self.occurredAt = occurredAt
        self.participant = participant
        self.session = session
        self.data = data
    }

    /// Decodes and validates a payload's JSON bytes.
    ///
    /// - Throws: ``FieldError`` naming the first offending field. Messages never quote field values.
    package static func decode(
        _ bytes: some Collection<UInt8>, context: ValidationContext
    ) throws(FieldError) -> EventPayload {
        try decode(context: context) { () throws(JSONParseError) in try JSONParser.parse(bytes) }
    }

    /// Decodes and validates a payload's JSON bytes held in an array (the parser's fast path).
    package static func decode(_ bytes: [UInt8], context: ValidationContext) throws(FieldError) -> EventPayload {
        try decode(context: context) { () throws(JSONParseError) in try JSONParser.parse(bytes) }
    }

    private static func decode(
        context: ValidationContext, parse: () throws(JSONParseError) -> JSONValue
    ) throws(FieldError) -> EventPayload {
        let value: JSONValue
        do {
            value = try parse()
        } catch {
            throw FieldError(path: "", reason: "payload is not valid JSON (\(error.reason) at byte \(error.offset))")
        }
        return try decode(value, context: context)
    }

    package static func decode(_ value: JSONValue, context: ValidationContext) throws(FieldError) -> EventPayload {
        let root = try FieldReader<Field>(value, path: "")
        let id = try root.uuid(.id)
        let typeValue = try root.required(.type)
        guard case .string(let typeName) = typeValue else {
            throw FieldError(path: "type", reason: "must be a string, not \(typeValue.kindName)")
        }
        guard let type = EventType(rawValue: typeName) else {
            throw FieldError(path: "type", reason: "is not an event type of catalogue v1")
        }
        let occurredAt = try root.timestamp(.occurredAt)
        try context.checkNotInFuture(occurredAt, path: "occurredAt")
        let participant = try root.optionalCode(.participant)
        let session = try root.optionalCode(.session)
        if type.requiresParticipant && participant == nil {
            throw FieldError(path: "participant", reason: "is required for \(type.rawValue)")
        }
        if type.requiresSession && session == nil {
            throw FieldError(path: "session", reason: "is required for \(type.rawValue)")
        }
        if session != nil && participant == nil {
            throw FieldError(path: "participant", reason: "is required when a session is given")
        }
        let data = try EventData.decode(type: type, try root.required(.data), context: context)
        return EventPayload(id: id, occurredAt: occurredAt, participant: participant, session: session, data: data)
    }

    /// The payload as JSON, fields in the documented order.
    package var json: JSONValue {
        var object = FieldWriter<Field>([
            .id: .string(id.description), .type: .string(type.rawValue), .occurredAt: .string(occurredAt.rfc3339),
        ])
        if let participant { object[.participant] = .string(participant) }
        if let session { object[.session] = .string(session) }
        object[.data] = .object(data.json)
        return .object(object.object)
    }

    /// The compact JSON bytes of ``json``: what a signer signs.
    package var jsonBytes: [UInt8] { JSONWriter.bytes(json) }
}
