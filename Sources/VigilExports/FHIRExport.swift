package import VigilModel
package import VigilProjections
package import VigilStore

/// Streams the clinical records of the signed log as FHIR R4: a Bundle of type `collection`, or NDJSON (one
/// resource per line, the bulk-data format).
///
/// Reads the log in order, once, in chunks; what it holds between chunks is bounded by the number of
/// participants, lots, signers and adverse events, never by the number of events. Each resource is written as soon
/// as its event is read, followed by its Provenance; adverse events, which later events update, are written at
/// the end. A participant's Patient comes before the first resource that refers to it.
package struct FHIRExport {
    /// Which records to export.
    package enum Selection: Sendable {
        /// Every record of one participant.
        case participant(String)
        /// Every participant's records whose `occurredAt` falls in the range (both ends included).
        case period(from: Timestamp, to: Timestamp)
    }

    package enum Format: Sendable {
        case bundle
        case ndjson
    }

    let selection: Selection
    let format: Format
    let checkpoint: LogCheckpoint?
    let generatedAt: Timestamp
    private var names: SignerNames
    private var substances: [String: String] = [:]
    private var patients: Set<String> = []
    private var medications: Set<String> = []
    private var adverseEvents: [String: (view: AdverseEventView, sources: [LogSource])] = [:]
    private var adverseEventOrder: [String] = []
    private var started = false
    private var entries = 0
    /// Text written since the last flush.
    private var pending = ""
    /// Resources written so far.
    package private(set) var resourceCount = 0

    package init(
        selection: Selection, format: Format, anchors: [AnchorChange], checkpoint: LogCheckpoint?,
        generatedAt: Timestamp
    ) {
        self.selection = selection
        self.format = format
        self.checkpoint = checkpoint
        self.generatedAt = generatedAt
        names = SignerNames(anchors: LogReplay.anchors(anchors))
    }

    var references: FHIRMapping.References { format == .bundle ? .bundle : .relative }

    /// Reads `fetch(after, limit)` to the end of the log (or to `end`) and hands the export to `write` in
    /// pieces, one per chunk of the log read. The log is read and skimmed where `decoding` says (``LogReplay``:
    /// on every core, or beside the requests in the daemon); only the entries selected are decoded again in full,
    /// for their signatures.
    package static func run(
        _ export: inout FHIRExport, upTo end: Int64? = nil, decoding: LogReplay.Decoding = .everyCore,
        fetch: @escaping @Sendable (Int64, Int) async throws -> [StoredEntry],
        write: (String) async throws -> Void
    ) async throws {
        try await LogReplay.stream(after: 0, upTo: end, chunk: 4096, decoding: decoding, fetch: fetch) { chunk in
            for case let (entry, event?) in chunk { export.add(event, entry: entry) }
            if !export.pending.isEmpty { try await write(export.flush()) }
        }
        export.finish()
        try await write(export.flush())
    }

    private mutating func flush() -> String {
        defer { pending = "" }
        return pending
    }

    func selects(_ payload: EventPayload) -> Bool {
        switch selection {
        case .participant(let code): payload.participant == code
        case .period(let from, let to):
            payload.participant != nil && payload.occurredAt >= from && payload.occurredAt <= to
        }
    }

    /// Adds one event (in log order).
    mutating func add(_ event: StoredEvent, entry: StoredEntry) {
        names.apply(event)
        let payload = event.payload
        if case .inventoryReceived(let body) = payload.data, substances[body.lot] == nil {
            substances[body.lot] = body.substance
        }
        // The envelope was verified when it was stored; it is read again here only for its signatures' bytes.
        guard selects(payload), let participant = payload.participant,
            let envelope = try? Envelope.decode(entry.envelope)
        else { return }
        let source = LogSource(
            position: entry.position, recordedAt: event.recordedAt, eventID: payload.id, leafHash: entry.leafHash,
            signatures: envelope.signatures.map {
                LogSource.Signature(keyID: $0.keyID, name: names.name(of: $0.keyID), bytes: $0.signature)
            })
        ensurePatient(participant)
        switch payload.data {
        case .participantEnrolled(let body):
            emit(
                FHIRMapping.researchSubject(participant, body: body, at: payload.occurredAt, references: references),
                sources: [source])
        case .vitalsRecorded(let body):
            for observation in FHIRMapping.observations(body, event: payload, references: references) {
                emit(observation, sources: [source])
            }
        case .doseDispensed(let body):
            if medications.insert(body.lot).inserted {
                emit(
                    FHIRMapping.medication(lot: body.lot, substance: substances[body.lot]), sources: [])
            }
            if let dispense = FHIRMapping.dispense(
                body, event: payload, pharmacist: source.signatures[0], references: references)
            {
                emit(dispense, sources: [source])
            }
        case .moodCheckCompleted(let body):
            for resource in FHIRMapping.moodCheck(body, event: payload, references: references) {
                emit(resource, sources: [source])
            }
        case .adverseEventReported(let body):
            let key = participant + "/" + body.aeId
            if adverseEvents[key] == nil { adverseEventOrder.append(key) }
            adverseEvents[key] = (
                AdverseEventView(reported: body, participant: participant, session: payload.session, at: event),
                [source]
            )
        case .adverseEventUpdated(let body):
            let key = participant + "/" + body.aeId
            if let current = adverseEvents[key] {
                adverseEvents[key] = (current.view.updated(by: body), current.sources + [source])
            }
        case .adverseEventSubmitted(let body):
            let key = participant + "/" + body.aeId
            if let current = adverseEvents[key] {
                adverseEvents[key] = (current.view.submitted(body), current.sources + [source])
            }
        default:
            break
        }
    }

    /// Writes what is held back (adverse events as their last update leaves them) and closes the bundle.
    mutating func finish() {
        for key in adverseEventOrder {
            guard let (view, sources) = adverseEvents[key] else { continue }
            emit(
                FHIRMapping.adverseEvent(view, recordedAt: sources[0].recordedAt, references: references),
                sources: sources)
        }
        adverseEvents = [:]
        switch format {
        case .bundle:
            if !started { start() }
            pending += "\n]}\n"
        case .ndjson:
            break
        }
    }

    private mutating func ensurePatient(_ participant: String) {
        guard patients.insert(participant).inserted else { return }
        emit(FHIRMapping.patient(participant), sources: [])
    }

    private mutating func start() {
        started = true
        let header = JSONObject([
            "resourceType": .string("Bundle"), "id": .string(FHIRMapping.id("Bundle|\(generatedAt)")),
            "type": .string("collection"), "timestamp": .string(generatedAt.rfc3339),
        ])
        var text = JSONWriter.string(.object(header))
        text.removeLast()  // the closing brace: entries follow
        pending += text + ",\"entry\":["
    }

    /// Writes a resource, then its Provenance when it derives from log entries.
    private mutating func emit(_ resource: JSONObject, sources: [LogSource]) {
        writeResource(resource)
        if !sources.isEmpty,
            let provenance = FHIRMapping.provenance(
                of: resource, sources: sources, checkpoint: checkpoint, references: references)
        {
            writeResource(provenance)
        }
    }

    private mutating func writeResource(_ resource: JSONObject) {
        resourceCount += 1
        switch format {
        case .ndjson:
            pending += JSONWriter.string(.object(resource)) + "\n"
        case .bundle:
            if !started { start() }
            guard case .string(let id)? = resource["id"] else { return }
            let entry = JSONObject(["fullUrl": .string("urn:uuid:\(id)"), "resource": .object(resource)])
            pending += (entries == 0 ? "\n" : ",\n") + JSONWriter.string(.object(entry))
            entries += 1
        }
    }
}
