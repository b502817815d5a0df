import Foundation
package import VigilModel
@_spi(Verification) package import VigilStore

/// A cast of keys, one per role, fresh for each test.
package struct TestKeys: Sendable {
    package let admin = SigningKey()
    package let clinician = SigningKey()
    package let clinician2 = SigningKey()
    package let pharmacist = SigningKey()
    package let pharmacist2 = SigningKey()
    package let device = SigningKey()
    package let officer = SigningKey()
    package let daemon = SigningKey()

    package init() {}

    /// The configured anchors: the admin root and the daemon's key.
    package var anchors: [TrustAnchor] {
        [
            TrustAnchor(publicKey: admin.publicKey, role: .admin, name: "Test Admin"),
            TrustAnchor(publicKey: daemon.publicKey, role: .daemon, name: "vigild"),
        ]
    }

    /// Every non-admin key with its role and printed name.
    package var registrable: [(key: SigningKey, role: Role, name: String)] {
        [
            (clinician, .clinician, "Dr. Clare Clinician"),
            (clinician2, .clinician, "Dr. Colin Clinician"),
            (pharmacist, .pharmacist, "Phil Pharmacist"),
            (pharmacist2, .pharmacist, "Pia Pharmacist"),
            (device, .device, "Vitals Monitor 7"),
            (officer, .safetyOfficer, "Sam Safety"),
        ]
    }

    /// The cast's key that may author an event of this type (nil for key events, which change the registry).
    package func author(of type: EventType) -> SigningKey? {
        switch type {
        case .keyRegistered, .keyRevoked: nil
        case .alertRaised: daemon
        case .alertAcknowledged, .alertResolved, .adverseEventSubmitted, .adverseEventUpdated: officer
        case .inventoryReceived, .doseDispensed, .doseWasted, .inventoryDestroyed, .inventoryCounted,
            .inventoryLossReported, .inventoryLossReportFiled:
            pharmacist
        case .vitalsRecorded: device
        default: clinician
        }
    }

    /// The witnesses the type calls for, from the cast.
    package func witnesses(of type: EventType) -> [SigningKey] {
        Array([clinician2, pharmacist2].prefix(type.requiredWitnesses))
    }

    /// The cast's registrations as events for a store, by the admin.
    package func verifiedRegistrations(at time: Timestamp) -> [VerifiedEvent] {
        registrable.map {
            Fixtures.verified(Fixtures.registration(of: $0.key, role: $0.role, name: $0.name, at: time), by: admin)
        }
    }

    /// An event signed by the cast's author for its type, with the witnesses it calls for.
    package func signed(
        _ data: EventData, participant: String? = nil, session: String? = nil, at time: Timestamp
    ) -> VerifiedEvent {
        let payload = Fixtures.payload(data, participant: participant, session: session, at: time)
        return Fixtures.verified(payload, by: author(of: payload.type)!, witnesses: witnesses(of: payload.type))
    }

    /// Signed `key.registered` envelopes for every non-admin key, by the admin.
    package func registrations(at time: Timestamp = SystemWallClock().now()) -> [[UInt8]] {
        registrable.map {
            Fixtures.envelope(Fixtures.registration(of: $0.key, role: $0.role, name: $0.name, at: time), by: admin)
        }
    }
}

/// Builders of events and envelopes for tests.
package enum Fixtures {
    package static func now() -> Timestamp { SystemWallClock().now() }

    package static func payload(
        _ data: EventData, participant: String? = nil, session: String? = nil, at time: Timestamp? = nil,
        id: EventID? = nil
    ) -> EventPayload {
        let time = time ?? now()
        return EventPayload(
            id: id ?? EventID.v7(at: time), occurredAt: time, participant: participant, session: session, data: data)
    }

    package static func registration(
        of key: SigningKey, role: Role, name: String, at time: Timestamp? = nil
    ) -> EventPayload {
        payload(.keyRegistered(KeyRegistered(publicKey: key.publicKey, name: name, role: role)), at: time)
    }

    package static func revocation(of key: SigningKey, at time: Timestamp? = nil) -> EventPayload {
        payload(.keyRevoked(KeyRevoked(keyID: key.id, reason: "key lost")), at: time)
    }

    package static func vitals(
        systolic: Double? = 128, diastolic: Double? = 82, heartRate: Double? = 76, participant: String = "P-0001",
        session: String = "P-0001-S1", at time: Timestamp? = nil
    ) -> EventPayload {
        payload(
            .vitalsRecorded(VitalsRecorded(systolic: systolic, diastolic: diastolic, heartRate: heartRate)),
            participant: participant, session: session, at: time
        )
    }

    package static func received(lot: String = "L-9", mg: Int = 10_000, at time: Timestamp? = nil) -> EventPayload {
        payload(
            .inventoryReceived(
                InventoryReceived(lot: lot, substance: "MDMA HCl", quantity: Milligrams(mg), supplier: "Acme Pharma")),
            at: time)
    }

    package static func wasted(lot: String = "L-9", mg: Int = 20) -> EventPayload {
        payload(.doseWasted(DoseWasted(lot: lot, quantity: Milligrams(mg), reason: "spilled")), participant: "P-0001")
    }

    /// The body of `POST /v1/events/batch`: the envelopes as one JSON array.
    package static func batch(_ envelopes: [[UInt8]]) -> [UInt8] {
        Array("[".utf8) + envelopes.joined(separator: Array(",".utf8)) + Array("]".utf8)
    }

    /// The JSON bytes of an envelope signed by `author` and `witnesses`.
    package static func envelope(
        _ payload: EventPayload, by author: SigningKey, witnesses: [SigningKey] = []
    ) -> [UInt8] {
        Envelope.sign(payload: payload.jsonBytes, author: author, witnesses: witnesses).jsonBytes
    }

    /// A verified event ready for the store (as the ingest pipeline would hand it over).
    package static func verified(
        _ payload: EventPayload, by author: SigningKey, witnesses: [SigningKey] = []
    ) -> VerifiedEvent {
        let envelope = Envelope.sign(payload: payload.jsonBytes, author: author, witnesses: witnesses)
        return VerifiedEvent(
            envelopeBytes: envelope.jsonBytes, envelope: envelope, payload: payload, sealedBy: VerifierSeal())
    }
}

/// Runs `body` with a fresh temporary folder, removed afterwards.
package func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = NSTemporaryDirectory() + "vigil-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

extension StringProtocol {
    /// Whether `token` appears as a whole word or number (letters, digits and dots), so that a value like 171
    /// is not found inside an event id such as 6f812496-171c-...
    package func containsToken(_ token: String) -> Bool {
        split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == ".") }).contains { $0 == token }
    }
}

/// Runs CPU-heavy test work on a thread of its own. Tests run on the cooperative thread pool, which has one
/// thread per core (two here): a long synchronous loop there holds back the timers of the daemons other tests
/// run in this process, and their timing tests fail for no fault of theirs.
package func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
