import Foundation
import Logging
import VigilModel
@_spi(Verification) import VigilStore

/// A generated clinic log, written straight into a store (no HTTP), shaped like a multi-site programme.
///
/// Each participant is enrolled and has three dosing sessions four weeks apart. A session has its start, an
/// initial and a supplemental dose (120 + 60 mg, 100 minutes apart), 60 vital-signs readings 8 minutes apart,
/// its end, and mood checks on days 1 to 7: 214 events per participant. Participants start in waves of 1,000
/// whose events interleave, as a clinic's days interleave its participants; each wave's doses come from a lot
/// received before it and counted after it (with a witness). One session in 200 has a hypertensive reading, so
/// alerts are raised, as in life. Every event is signed.
enum ClinicLog {
    static let participantsPerWave = 1000
    static let readingsPerSession = 60
    static let sessionsPerParticipant = 3

    /// One event of a participant's course.
    enum Step {
        case enrolled
        case started(session: Int)
        case dose(session: Int, kind: DoseKind)
        case reading(session: Int, index: Int)
        case ended(session: Int)
        case mood(session: Int, day: Int)
    }

    /// A participant's course, in the order its events are recorded.
    static let course: [Step] = {
        var steps: [Step] = [.enrolled]
        for session in 0..<sessionsPerParticipant {
            steps.append(.started(session: session))
            steps.append(.dose(session: session, kind: .initial))
            for index in 0..<13 { steps.append(.reading(session: session, index: index)) }
            steps.append(.dose(session: session, kind: .supplemental))
            for index in 13..<readingsPerSession { steps.append(.reading(session: session, index: index)) }
            steps.append(.ended(session: session))
            for day in 1...7 { steps.append(.mood(session: session, day: day)) }
        }
        return steps
    }()

    /// A lot's receipt, the participants' interleaved courses, the lot's count.
    static var waveSize: Int { course.count * participantsPerWave + 2 }

    struct Cast {
        let admin: SigningKey
        let clinician = SigningKey()
        let pharmacist = SigningKey()
        let witness = SigningKey()
        let device = SigningKey()
    }

    /// Writes `count` events to a new store at `path`, trusting `admin` and `daemon`, and ends with a head
    /// signed by `daemon` (as a daemon that stopped cleanly leaves it). Returns the log's size.
    static func write(_ count: Int, to path: String, admin: SigningKey, daemon: SigningKey) async throws -> Int64 {
        let cast = Cast(admin: admin)
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
        let waves = (count + waveSize - 1) / waveSize
        // Every course ends before now: waves start four days apart, the last one about 100 days ago.
        let firstWave = now.adding(seconds: -Int64(waves) * 4 * 86_400 - 100 * 86_400)
        func registration(_ key: SigningKey, _ role: Role, _ name: String) -> VerifiedEvent {
            verified(
                EventPayload(
                    id: .v7(at: firstWave), occurredAt: firstWave,
                    data: .keyRegistered(KeyRegistered(publicKey: key.publicKey, name: name, role: role))), admin)
        }
        _ = await store.append([
            registration(cast.clinician, .clinician, "Clinician"),
            registration(cast.pharmacist, .pharmacist, "Pharmacist"),
            registration(cast.witness, .pharmacist, "Second Pharmacist"), registration(cast.device, .device, "Monitor"),
        ])
        for chunk in stride(from: 0, to: count, by: 10_000) {
            let size = min(10_000, count - chunk)
            let batch = await Parallel.map(Array(0..<size), minimumChunk: 500) { offset in
                event(at: chunk + offset, cast: cast, firstWave: firstWave)
            }
            _ = await store.append(batch)
        }
        _ = try await store.signHead(with: LogSigner(key: daemon, origin: "bench.invalid/vigil"))
        let written = store.head.size
        await store.close()
        return written
    }

    /// The event at `index` of the generated log (after the cast's registrations).
    static func event(at index: Int, cast: Cast, firstWave: Timestamp) -> VerifiedEvent {
        let wave = index / waveSize
        let offset = index % waveSize
        let waveStart = firstWave.adding(seconds: Int64(wave) * 4 * 86_400)
        let lot = "L-\(wave)"
        let perLot = Milligrams(Int(180 * sessionsPerParticipant * participantsPerWave) + 60_000)
        if offset == 0 {
            return verified(
                EventPayload(
                    id: .v7(at: waveStart), occurredAt: waveStart,
                    data: .inventoryReceived(
                        InventoryReceived(lot: lot, substance: "MDMA HCl", quantity: perLot, supplier: "Acme"))),
                cast.pharmacist)
        }
        if offset == waveSize - 1 {
            let at = waveStart.adding(seconds: 70 * 86_400)
            return verified(
                EventPayload(
                    id: .v7(at: at), occurredAt: at,
                    data: .inventoryCounted(InventoryCounted(lot: lot, counted: Milligrams(60_000)))),
                cast.pharmacist, witnesses: [cast.witness])
        }
        let step = (offset - 1) / participantsPerWave
        let member = (offset - 1) % participantsPerWave
        let participant = "P-\(wave)-\(member)"
        let courseStart = waveStart.adding(seconds: Int64(member) * 60 + 3600)
        func session(_ number: Int) -> (id: String, start: Timestamp) {
            (participant + "-S\(number + 1)", courseStart.adding(seconds: Int64(number) * 28 * 86_400))
        }
        func payload(_ time: Timestamp, session: String? = nil, _ data: EventData) -> EventPayload {
            EventPayload(id: .v7(at: time), occurredAt: time, participant: participant, session: session, data: data)
        }
        switch course[step] {
        case .enrolled:
            return verified(
                payload(
                    courseStart.adding(seconds: -7 * 86_400),
                    .participantEnrolled(
                        ParticipantEnrolled(
                            site: "SITE-\(member % 12)",
                            medications: [Medication(name: "propranolol", serotonergic: false)]))), cast.clinician)
        case .started(let number):
            let (id, start) = session(number)
            return verified(
                payload(start, session: id, .sessionStarted(SessionStarted(number: number + 1))), cast.clinician)
        case .dose(let number, let kind):
            let (id, start) = session(number)
            let at = start.adding(seconds: kind == .initial ? 600 : 6600)
            let dose = Milligrams(kind == .initial ? 120 : 60)
            return verified(
                payload(at, session: id, .doseDispensed(DoseDispensed(lot: lot, dose: dose, kind: kind))),
                cast.pharmacist)
        case .reading(let number, let reading):
            let (id, start) = session(number)
            let hypertensive = reading == 30 && (member * sessionsPerParticipant + number) % 200 == 7
            let values = VitalsRecorded(
                systolic: hypertensive ? 165 : 112 + Double((member + reading) % 26), diastolic: 78,
                heartRate: 68 + Double((member * 7 + reading) % 28), temperatureC: 36.8)
            return verified(
                payload(start.adding(seconds: Int64(reading) * 480), session: id, .vitalsRecorded(values)), cast.device)
        case .ended(let number):
            let (id, start) = session(number)
            return verified(
                payload(start.adding(seconds: 8 * 3600), session: id, .sessionEnded(SessionEnded())), cast.clinician)
        case .mood(let number, let day):
            let (id, start) = session(number)
            return verified(
                payload(
                    start.adding(seconds: Int64(day) * 86_400 + 3600), session: id,
                    .moodCheckCompleted(MoodCheckCompleted(day: day, phq9: [1, 0, 1, 0, 1, 0, 1, 0, 0], mood: 6))),
                cast.clinician)
        }
    }

    static func verified(_ payload: EventPayload, _ author: SigningKey, witnesses: [SigningKey] = []) -> VerifiedEvent {
        let envelope = Envelope.sign(payload: payload.jsonBytes, author: author, witnesses: witnesses)
        return VerifiedEvent(
            envelopeBytes: envelope.jsonBytes, envelope: envelope, payload: payload, sealedBy: VerifierSeal())
    }
}
