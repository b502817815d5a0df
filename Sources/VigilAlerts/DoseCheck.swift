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

    /// The alerts the event-driven rules would raise for the dose at `now`, after de-duplication, and the log
    /// position the views were at.
    public static func evaluate(
        _ request: Request, engine: AlertEngine, now: Timestamp
    ) async throws -> (candidates: [AlertCandidate], asOf: Int64) {
        let payload = EventPayload(
            id: .v7(at: now), occurredAt: now, participant: request.participant, session: request.session,
            data: .doseDispensed(DoseDispensed(lot: request.lot, dose: request.dose, kind: request.kind))
        )
        // Attributed to the daemon's key: the rules read only how many witnesses signed, and a dose needs none.
        let event = StoredEvent(position: .max, recordedAt: now, signers: [engine.key.id], payload: payload)
        return try await engine.dryRun(event)
    }
}
