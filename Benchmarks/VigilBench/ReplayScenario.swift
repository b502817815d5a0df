import Foundation
import Logging
import VigilModel
import VigilProjections
import VigilStore

/// Offline costs over a stored log: projection rebuild (replay) and verification, hashes only and in full.
enum ReplayScenario {
    struct Results {
        var events: Int
        var replayPerSecond: Double
        var hashesPerSecond: Double
        var signaturesPerSecond: Double
    }

    static func run(events count: Int) async throws -> Results {
        say("\n== replay and verify: \(count) stored events")
        let folder = NSTemporaryDirectory() + "vigil-bench-replay-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let storePath = folder + "/vigil.sqlite"
        let admin = SigningKey(), clinician = SigningKey(), pharmacist = SigningKey(), device = SigningKey(),
            daemon = SigningKey()
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let store = try EventStore.open(
            path: storePath,
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
        let started = ContinuousClock.now
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
        let written = store.head.size
        await store.close()
        // VIGIL_BENCH_KEEP=DIR keeps a copy of the generated store, to profile rebuild and verify on their own.
        if let keep = ProcessInfo.processInfo.environment["VIGIL_BENCH_KEEP"] {
            try? FileManager.default.removeItem(atPath: keep + "/vigil.sqlite")
            try FileManager.default.copyItem(atPath: storePath, toPath: keep + "/vigil.sqlite")
        }
        say(String(format: "wrote %lld events in %.1f s", written, (ContinuousClock.now - started) / .seconds(1)))

        let rebuild = try await ProjectionRebuild.run(
            storePath: storePath, projectionsPath: folder + "/vigil.projections.sqlite")
        say(String(format: "projection rebuild: %.0f events/s (%.2f s)", rebuild.eventsPerSecond, rebuild.seconds))
        var clock = ContinuousClock.now
        let hashes = try LogVerifier.verify(path: storePath, options: .init(checkSignatures: false))
        let hashSeconds = (ContinuousClock.now - clock) / .seconds(1)
        say(
            String(
                format: "verify, hashes only: %.0f entries/s (%.2f s)", Double(hashes.entriesChecked) / hashSeconds,
                hashSeconds))
        clock = ContinuousClock.now
        let full = try LogVerifier.verify(path: storePath)
        let fullSeconds = (ContinuousClock.now - clock) / .seconds(1)
        precondition(full.isValid, "the generated log must verify")
        say(
            String(
                format: "verify, with signatures: %.0f entries/s, %.0f signatures/s (%.2f s)",
                Double(full.entriesChecked) / fullSeconds, Double(full.signaturesChecked) / fullSeconds, fullSeconds))
        return Results(
            events: Int(written), replayPerSecond: rebuild.eventsPerSecond,
            hashesPerSecond: Double(hashes.entriesChecked) / hashSeconds,
            signaturesPerSecond: Double(full.signaturesChecked) / fullSeconds
        )
    }

    static func verified(_ payload: EventPayload, _ author: SigningKey) -> VerifiedEvent {
        let envelope = Envelope.sign(payload: payload.jsonBytes, author: author)
        return VerifiedEvent(envelopeBytes: envelope.jsonBytes, envelope: envelope, payload: payload)
    }
}
