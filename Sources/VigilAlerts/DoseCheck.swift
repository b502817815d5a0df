public import VigilModel
public import VigilProjections

/// A dry run for the pharmacy: which rules would fire if this dose were dispensed now. Nothing is stored.
public enum DoseCheck {
    public struct Request: Sendable {
        public var participant: String
        public var session: String
        public var lot: String
        public var dose: Milligrams
        public var kind: DoseKind

        public init(participant: String, session: String, lot: String, dose: Milligrams, kind: DoseKind) {
            self.participant = participant
            self.session = session
            self.lot = lot
            self.dose = dose
            self.kind = kind
        }
    }

    /// The candidates the event-driven rules would raise for the dose at `now`, after de-duplication.
    public static func evaluate(
        _ request: Request, state: ProjectionState, engine: AlertEngine, settings: RuleSettings, now: Timestamp
    )
        -> [AlertCandidate]
    {
        var state = state
        let payload = EventPayload(
            id: .v7(at: now), occurredAt: now, participant: request.participant, session: request.session,
            data: .doseDispensed(DoseDispensed(lot: request.lot, dose: request.dose, kind: request.kind))
        )
        // A stand-in envelope: the rules read the author's key id and the witness count only.
        let envelope = Envelope(payloadType: Envelope.eventPayloadType, payload: payload.jsonBytes, signatures: [])
        let event = StoredEvent(position: state.position + 1, recordedAt: now, envelope: envelope, payload: payload)
        state.apply(event)
        return engine.wouldRaise(Rules.evaluate(event, state: state, settings: settings), state: state)
    }
}
