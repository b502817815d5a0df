import Foundation
import Logging
import VigilModel
import VigilStore

/// A generated clinic log, written straight into a store (no HTTP): mostly vital signs, with doses, mood
/// checks and receipts, across 500 participants in three sessions each, every event signed.
enum ClinicLog {
    /// Writes `count` events to a new store at `path`, trusting `admin` and `daemon`, and ends with a head
    /// signed by `daemon` (as a daemon that stopped cleanly leaves it). Returns the log's size.
    static func write(_ count: Int, to path: String, admin: SigningKey, daemon: SigningKey) async throws -> Int64 {
        let clinician = SigningKey(), pharmacist = SigningKey(), device = SigningKey()
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let store = try EventStore.open(
            path: path,
            anchors: [
                TrustAnchor(publicKey: admin.publicKey, role: .admin, name: "Admin"),
                TrustAnchor(publicKey: daemon.publicKey, role: .daemon, name: "vigild"),
            ],
            logger: logger
        )
        let now = SystemWallClock().now()
        func registration(_ key: SigningKey, _ role: Role, _ name: String) -> VerifiedEvent {
            verified(
                EventPayload(
                    id: .v7(at: now), occurredAt: now,
                    data: .keyRegistered(KeyRegistered(publicKey: key.publicKey, name: name, role: role))), admin)
        }
        _ = await store.append([
            registration(clinician, .clinician, "Clinician"), registration(pharmacist, .pharmacist, "Pharmacist"),
            registration(device, .device, "Monitor"),
        ])
        // A clinic's mix: mostly vital signs, with doses, mood checks and receipts.
        let chunks = Array(stride(from: 0, to: count, by: 10_000))
        for chunk in chunks {
            let size = min(10_000, count - chunk)
            let batch = await Parallel.map(Array(0..<size), minimumChunk: 500) { offset -> VerifiedEvent in
                let index = chunk + offset
                let time = now.adding(seconds: Int64(index - count))
                let participant = "P-\(1000 + index % 500)"
                let session = participant + "-S\(1 + index % 3)"
                switch index % 10 {
                case 0:
                    return verified(
                        EventPayload(
                            id: .v7(at: time), occurredAt: time, participant: participant, session: session,
                            data: .doseDispensed(
                                DoseDispensed(lot: "L-\(index % 7)", dose: Milligrams(120), kind: .initial))),
                        pharmacist)
                case 1:
                    return verified(
                        EventPayload(
                            id: .v7(at: time), occurredAt: time, participant: participant, session: session,
                            data: .moodCheckCompleted(
                                MoodCheckCompleted(day: 1 + index % 7, phq9: [1, 0, 1, 0, 1, 0, 1, 0, 0], mood: 6))),
                        clinician)
                case 2 where index % 1000 == 2:
                    return verified(
                        EventPayload(
                            id: .v7(at: time), occurredAt: time,
                            data: .inventoryReceived(
                                InventoryReceived(
                                    lot: "L-\(index % 7)", substance: "MDMA HCl", quantity: Milligrams(100_000),
                                    supplier: "Acme"))), pharmacist)
                default:
                    return verified(
                        EventPayload(
                            id: .v7(at: time), occurredAt: time, participant: participant, session: session,
                            data: .vitalsRecorded(
                                VitalsRecorded(
                                    systolic: 120 + Double(index % 40), diastolic: 80,
                                    heartRate: 70 + Double(index % 30), temperatureC: 37))), device)
                }
            }
            _ = await store.append(batch)
        }
        _ = try await store.signHead(with: daemon)
        let written = store.head.size
        await store.close()
        return written
    }

    static func verified(_ payload: EventPayload, _ author: SigningKey) -> VerifiedEvent {
        let envelope = Envelope.sign(payload: payload.jsonBytes, author: author)
        return VerifiedEvent(envelopeBytes: envelope.jsonBytes, envelope: envelope, payload: payload)
    }
}
