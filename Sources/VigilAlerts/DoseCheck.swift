package import VigilModel
import VigilProjections

/// A dry run for the pharmacy: which rules would fire if this dose were dispensed now. Nothing is stored.
package enum DoseCheck {
    package struct Request: Sendable {
        package var participant: String
        package var session: String
        /// The lot to dispense from; without one, the stock is not checked.
        package var lot: String?
        package var dose: Milligrams
        package var kind: DoseKind

        package init(participant: String, session: String, lot: String?, dose: Milligrams, kind: DoseKind) {
            self.participant = participant
            self.session = session
            self.lot = lot
            self.dose = dose
            self.kind = kind
        }
    }

    /// The alerts the event-driven rules would raise for the dose at `now`, after de-duplication, and the log
    /// position the views were at. Witnesses are added when the dispense is signed, so `missing_witness` is not
    /// judged here.
    package static func evaluate(
        _ request: Request, engine: AlertEngine, now: Timestamp
    ) async throws -> (candidates: [AlertCandidate], asOf: Int64) {
        let payload = EventPayload(
            id: .v7(at: now), occurredAt: now, participant: request.participant, session: request.session,
            data: .doseDispensed(DoseDispensed(lot: request.lot ?? "", dose: request.dose, kind: request.kind))
        )
        // Attributed to the daemon's key: the rules read only how many witnesses signed.
        let event = StoredEvent(position: .max, recordedAt: now, signers: [engine.key.id], payload: payload)
        var (candidates, asOf) = try await engine.dryRun(event)
        candidates.removeAll { $0.rule == .missingWitness || (request.lot == nil && $0.rule == .inventoryNegative) }
        return (candidates, asOf)
    }
}
