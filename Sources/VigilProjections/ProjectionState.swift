public import VigilModel

/// One stored event, decoded: what projections consume.
public struct StoredEvent: Sendable {
    public var position: Int64
    public var recordedAt: Timestamp
    public var envelope: Envelope
    public var payload: EventPayload

    public init(position: Int64, recordedAt: Timestamp, envelope: Envelope, payload: EventPayload) {
        self.position = position
        self.recordedAt = recordedAt
        self.envelope = envelope
        self.payload = payload
    }
}

/// The read models: a deterministic function of the log, applied one event at a time.
///
/// Nothing here reads a clock: the same log gives the same state, which is what lets a rebuild prove that
/// it reproduced the views (their digests match). Time-dependent judgements (is a follow-up missing yet?)
/// are made when a view is read.
public struct ProjectionState: Sendable {
    /// The projections, by the name their tables and digests use.
    public enum Projection: String, Sendable, CaseIterable, Hashable {
        case signers
        case inventory
        case participants
        case sessions
        case adverseEvents = "adverse_events"
        case alerts
    }

    public private(set) var position: Int64 = 0
    public private(set) var signers: [KeyID: SignerView] = [:]
    public private(set) var lots: [String: LotView] = [:]
    public private(set) var participants: [String: ParticipantView] = [:]
    public private(set) var sessions: [String: SessionView] = [:]
    public private(set) var adverseEvents: [String: AdverseEventView] = [:]
    public private(set) var alerts: [EventID: AlertView] = [:]
    /// What changed since the last ``takeChanges()``.
    private var changed: [Projection: Set<String>] = [:]

    public init(anchors: [TrustAnchor] = []) {
        for anchor in anchors {
            signers[anchor.keyID] = SignerView(
                keyID: anchor.keyID, name: anchor.name, role: anchor.role, registeredAt: 0)
            mark(.signers, anchor.keyID.hex)
        }
    }

    /// The printed name behind a key id, for records and exports.
    public func name(of key: KeyID) -> String { signers[key]?.name ?? "unknown key \(key.short)" }

    /// The keys of every view changed since the last call, and forgets them.
    public mutating func takeChanges() -> [Projection: Set<String>] {
        defer { changed = [:] }
        return changed
    }

    /// The document of one view, or nil if it no longer exists.
    public func document(_ projection: Projection, key: String) -> JSONValue? {
        switch projection {
        case .signers: KeyID(hex: key).flatMap { signers[$0]?.json }
        case .inventory: lots[key]?.json
        case .participants: participants[key]?.json
        case .sessions: sessions[key]?.json
        case .adverseEvents: adverseEvents[key]?.json
        case .alerts: EventID(key).flatMap { alerts[$0]?.json }
        }
    }

    /// Every key of a projection.
    public func keys(_ projection: Projection) -> [String] {
        switch projection {
        case .signers: signers.keys.map(\.hex)
        case .inventory: Array(lots.keys)
        case .participants: Array(participants.keys)
        case .sessions: Array(sessions.keys)
        case .adverseEvents: Array(adverseEvents.keys)
        case .alerts: alerts.keys.map(\.description)
        }
    }

    private mutating func mark(_ projection: Projection, _ key: String) {
        changed[projection, default: []].insert(key)
    }

    // MARK: - Applying events

    /// Moves past a position whose entry could not be decoded (it is counted and logged by the caller).
    public mutating func skip(to position: Int64) {
        precondition(position > self.position, "events are applied in log order")
        self.position = position
    }

    /// Advances every projection past one event. Total: an event that refers to something unknown (a dose
    /// for a session never started) still counts where it can.
    public mutating func apply(_ event: StoredEvent) {
        precondition(event.position > position, "events are applied in log order")
        position = event.position
        let payload = event.payload
        let time = payload.occurredAt
        switch payload.data {
        case .keyRegistered(let body):
            signers[body.keyID] = SignerView(
                keyID: body.keyID, name: body.name, role: body.role, registeredAt: event.position)
            mark(.signers, body.keyID.hex)
        case .keyRevoked(let body):
            if signers[body.keyID] != nil {
                signers[body.keyID]?.revokedAt = event.position
                mark(.signers, body.keyID.hex)
            }
        case .participantEnrolled(let body):
            updateParticipant(payload.participant) { participant in
                participant.enrolledAt = time
                participant.site = body.site
                participant.medications = [:]
                for medication in body.medications {
                    participant.medications[medication.name] = MedicationView(
                        name: medication.name, serotonergic: medication.serotonergic, since: time)
                }
            }
        case .participantMedicationChanged(let body):
            updateParticipant(payload.participant) { participant in
                switch body.action {
                case .started:
                    participant.medications[body.name] = MedicationView(
                        name: body.name, serotonergic: body.serotonergic, since: time)
                case .stopped:
                    participant.medications[body.name] = nil
                }
            }
        case .sessionStarted(let body):
            updateSession(payload) { session in
                session.number = body.number
                session.startedAt = time
                session.startedEventID = payload.id
            }
        case .sessionEnded:
            updateSession(payload) { $0.endedAt = time }
        case .inventoryReceived(let body):
            updateLot(body.lot, at: time) { lot in
                lot.received = lot.received + body.quantity
                lot.substance = lot.substance ?? body.substance
                if lot.firstReceipt == nil { lot.firstReceipt = (time, payload.id) }
            }
        case .doseDispensed(let body):
            updateLot(body.lot, at: time) { $0.dispensed = $0.dispensed + body.dose }
            updateSession(payload) { session in
                session.insert(
                    DoseView(
                        eventID: payload.id, at: time, dose: body.dose, kind: body.kind, lot: body.lot,
                        position: event.position)
                )
            }
        case .doseWasted(let body):
            updateLot(body.lot, at: time) { $0.wasted = $0.wasted + body.quantity }
        case .inventoryDestroyed(let body):
            updateLot(body.lot, at: time) { $0.destroyed = $0.destroyed + body.quantity }
        case .inventoryCounted(let body):
            updateLot(body.lot, at: time) { lot in
                lot.lastCount = LotView.Count(
                    counted: body.counted, expected: lot.onHand, at: time, position: event.position,
                    witnessed: event.envelope.signatures.count > 1, eventID: payload.id
                )
            }
        case .vitalsRecorded(let body):
            let reading = VitalsReading(at: time, session: payload.session, position: event.position, values: body)
            updateSession(payload) { $0.insert(reading) }
            updateParticipant(payload.participant) { participant in
                if let latest = participant.latestVitals, latest.isLater(than: reading) { return }
                participant.latestVitals = reading
            }
        case .adverseEventReported(let body):
            guard let code = payload.participant else { break }
            let view = AdverseEventView(
                participant: code, aeId: body.aeId, term: body.term, onset: body.onset, severity: body.severity,
                serious: body.serious,
                criteria: body.criteria, expected: body.expected, suspected: body.suspected, awareAt: body.awareAt,
                session: payload.session, outcome: nil, submittedAt: nil, reference: nil,
                reportedPosition: event.position, reportedEventID: payload.id
            )
            adverseEvents[view.key] = view
            mark(.adverseEvents, view.key)
            if payload.session != nil {
                updateSession(payload) {
                    if !$0.adverseEvents.contains(body.aeId) { $0.adverseEvents.append(body.aeId) }
                }
            }
        case .adverseEventUpdated(let body):
            guard let code = payload.participant, var view = adverseEvents[code + "/" + body.aeId] else { break }
            if let term = body.term { view.term = term }
            if let onset = body.onset { view.onset = onset }
            if let severity = body.severity { view.severity = severity }
            if let serious = body.serious { view.serious = serious }
            if let criteria = body.criteria { view.criteria = criteria }
            if let expected = body.expected { view.expected = expected }
            if let suspected = body.suspected { view.suspected = suspected }
            if let awareAt = body.awareAt { view.awareAt = awareAt }
            if let outcome = body.outcome { view.outcome = outcome }
            adverseEvents[view.key] = view
            mark(.adverseEvents, view.key)
        case .adverseEventSubmitted(let body):
            guard let code = payload.participant, var view = adverseEvents[code + "/" + body.aeId] else { break }
            view.submittedAt = body.submittedAt
            view.reference = body.reference
            adverseEvents[view.key] = view
            mark(.adverseEvents, view.key)
        case .moodCheckCompleted(let body):
            guard let session = payload.session else { break }
            let check = MoodCheckView(
                day: body.day, at: time, phq9Total: body.phq9?.reduce(0, +), phq9Item9: body.phq9?.last,
                cssrsHighRisk: body.cssrs.map { $0.q4 == true || $0.q5 == true || $0.q6 }, mood: body.mood
            )
            updateParticipant(payload.participant) { participant in
                participant.moodChecks[session, default: []].append(check)
                if !participant.sessions.contains(session) { participant.sessions.append(session) }
            }
        case .alertRaised(let body):
            let view = AlertView(
                alertId: body.alertId, rule: body.rule, severity: body.severity,
                participant: body.participant ?? payload.participant, session: payload.session,
                causes: body.causes, message: body.message, raisedAt: time, position: event.position
            )
            alerts[body.alertId] = view
            mark(.alerts, body.alertId.description)
            if let code = view.participant {
                updateParticipant(code) { $0.openAlerts.insert(body.alertId) }
            }
        case .alertAcknowledged(let body):
            guard var view = alerts[body.note.alertId], view.acknowledged == nil else { break }
            view.acknowledged = action(event, note: body.note.note)
            alerts[view.alertId] = view
            mark(.alerts, view.alertId.description)
        case .alertResolved(let body):
            guard var view = alerts[body.note.alertId], view.resolved == nil else { break }
            view.resolved = action(event, note: body.note.note)
            alerts[view.alertId] = view
            mark(.alerts, view.alertId.description)
            if let code = view.participant {
                updateParticipant(code) { $0.openAlerts.remove(view.alertId) }
            }
        }
    }

    private func action(_ event: StoredEvent, note: String) -> AlertAction {
        let author = event.envelope.author.keyID
        return AlertAction(
            by: author, name: name(of: author), at: event.payload.occurredAt, note: note, position: event.position)
    }

    // Views are changed in place (`&dictionary[key]!`): copying a view out and back would copy its arrays,
    // which makes a session's thousandth reading cost a thousand copies.

    private mutating func updateParticipant(_ code: String?, _ update: (inout ParticipantView) -> Void) {
        guard let code else { return }
        if participants[code] == nil { participants[code] = ParticipantView(code: code) }
        update(&participants[code]!)
        mark(.participants, code)
    }

    private mutating func updateSession(_ payload: EventPayload, _ update: (inout SessionView) -> Void) {
        guard let id = payload.session, let participant = payload.participant else { return }
        let isNew = sessions[id] == nil
        if isNew { sessions[id] = SessionView(id: id, participant: participant) }
        update(&sessions[id]!)
        mark(.sessions, id)
        if isNew || participants[participant]?.sessions.contains(id) != true {
            updateParticipant(participant) { if !$0.sessions.contains(id) { $0.sessions.append(id) } }
        }
    }

    private mutating func updateLot(_ lot: String, at time: Timestamp, _ update: (inout LotView) -> Void) {
        if lots[lot] == nil { lots[lot] = LotView(lot: lot) }
        update(&lots[lot]!)
        lots[lot]!.lastActivity = max(lots[lot]!.lastActivity ?? time, time)
        mark(.inventory, lot)
    }
}
