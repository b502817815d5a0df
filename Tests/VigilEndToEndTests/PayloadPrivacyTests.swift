import Foundation
import Testing
import VigilModel
import VigilTestSupport

/// Logs and error answers never carry payload content: participant codes and ids may appear, clinical values,
/// free text and custody details may not. vigild runs at log level trace, so every message any part of it
/// (Hummingbird, the store, the rules) can write is in the captured output. The files on disk are the
/// daemon user's alone.
@Suite(.serialized) struct PayloadPrivacyTests {
    /// Values that appear only inside payloads.
    static let canaries = [
        "canarycillin", "Canary syndrome", "canary waste reason", "canary destruction", "CanarySupplier",
        "canary acknowledgement", "canary resolution", "40.73", "187.5", "137.5", "999.25", "313.75",
    ]

    @Test func noPayloadContentInLogsOrErrors() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let daemon = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin, extraEnvironment: ["VIGIL_LOG_LEVEL": "trace"])
            #expect(
                try await daemon.client.post("/v1/events/batch", Fixtures.batch(keys.registrations())).status == 200)
            let now = Fixtures.now()
            let p = "P-0042", s = "P-0042-S1"
            func event(_ data: EventData, participant: String? = p, session: String? = nil) -> EventPayload {
                Fixtures.payload(data, participant: participant, session: session, at: now)
            }
            func again(_ payload: EventPayload) -> EventPayload {
                var copy = payload
                copy.id = EventID.v7(at: now)
                return copy
            }
            let alertID = EventID.v7(at: now)
            let accepted: [(EventPayload, SigningKey, [SigningKey])] = [
                (
                    event(
                        .participantEnrolled(
                            ParticipantEnrolled(
                                site: "SITE-01", medications: [Medication(name: "canarycillin", serotonergic: true)]))),
                    keys.clinician, []
                ),
                (event(.sessionStarted(SessionStarted(number: 1)), session: s), keys.clinician, []),
                (
                    event(
                        .inventoryReceived(
                            InventoryReceived(
                                lot: "L-77", substance: "MDMA HCl", quantity: Milligrams(5_000),
                                supplier: "CanarySupplier"
                            )), participant: nil), keys.pharmacist, []
                ),
                (
                    event(
                        .doseDispensed(
                            DoseDispensed(lot: "L-77", dose: Milligrams(micrograms: 137_500), kind: .initial)),
                        session: s), keys.pharmacist, []
                ),
                // Hypertension, tachycardia and fever: alerts are raised, and logged.
                (
                    event(
                        .vitalsRecorded(
                            VitalsRecorded(
                                systolic: 187.5, diastolic: 101, heartRate: 151, temperatureC: 40.73, spo2: 93)),
                        session: s), keys.clinician, []
                ),
                (
                    event(
                        .doseWasted(
                            DoseWasted(
                                lot: "L-77", quantity: Milligrams(micrograms: 2_500), reason: "canary waste reason"))
                    ), keys.pharmacist, [keys.clinician]
                ),
                (
                    event(
                        .inventoryDestroyed(
                            InventoryDestroyed(
                                lot: "L-77", quantity: Milligrams(100), method: "canary destruction", form41: "F41-X")),
                        participant: nil), keys.pharmacist, [keys.pharmacist2, keys.clinician]
                ),
                (
                    event(
                        .adverseEventReported(
                            AdverseEventReported(
                                aeId: "AE-9", term: "Canary syndrome",
                                onset: CalendarDate(daysSinceEpoch: now.microsecondsSinceEpoch / 86_400_000_000),
                                severity: 4, serious: true, criteria: [.hospitalization], expected: false,
                                suspected: true, awareAt: now))), keys.clinician, []
                ),
                (
                    event(
                        .alertAcknowledged(AlertAcknowledged(alertId: alertID, note: "canary acknowledgement")),
                        participant: nil),
                    keys.officer, []
                ),
                (
                    event(.alertResolved(AlertResolved(alertId: alertID, note: "canary resolution")), participant: nil),
                    keys.officer, []
                ),
            ]
            for (payload, author, witnesses) in accepted {
                let answer = try await daemon.client.post(
                    "/v1/events", Fixtures.envelope(payload, by: author, witnesses: witnesses))
                #expect(answer.status == 201, "\(payload.type): \(answer.text)")
            }

            // Refusals of every kind, each carrying canaries: out of range, wrong role, unknown key, bad
            // signature, conflict, malformed.
            let outOfRange = event(.vitalsRecorded(VitalsRecorded(systolic: 999.25, diastolic: 313.75)), session: s)
            let stranger = SigningKey()
            var tampered = try JSONParser.parse(Fixtures.envelope(accepted[0].0, by: keys.clinician))
            if case .object(var object) = tampered {
                object["payload"] = .string(Base64.encode(Array("{\"medication\":\"canarycillin\"}".utf8)))
                tampered = .object(object)
            }
            let conflicting = Fixtures.payload(
                .participantEnrolled(
                    ParticipantEnrolled(
                        site: "SITE-01", medications: [Medication(name: "canarycillin", serotonergic: false)])),
                participant: p, at: now, id: accepted[0].0.id)
            let refusals: [[UInt8]] = [
                Fixtures.envelope(outOfRange, by: keys.clinician),
                Fixtures.envelope(again(accepted[3].0), by: keys.clinician),
                Fixtures.envelope(again(accepted[0].0), by: stranger),
                JSONWriter.bytes(tampered),
                Fixtures.envelope(conflicting, by: keys.clinician),
                Fixtures.envelope(again(accepted[4].0), by: keys.pharmacist),
                Array("{\"payloadType\": \"canarycillin 137.5\", \"payload\": \"Canary syndrome\"}".utf8),
                Array("[\"canarycillin\"".utf8),
            ]
            for (index, body) in refusals.enumerated() {
                let answer = try await daemon.client.post("/v1/events", body)
                #expect(answer.status >= 400, "refusal \(index): \(answer.text)")
                for canary in Self.canaries {
                    #expect(!answer.text.contains(canary), "the answer \(answer.text) carries \(canary)")
                }
            }
            let batch = try await daemon.client.post("/v1/events/batch", Fixtures.batch(Array(refusals.prefix(6))))
            for canary in Self.canaries {
                #expect(!batch.text.contains(canary), "the batch answer carries \(canary)")
            }
            // Give the rules a moment to raise and log their alerts.
            #expect(try await daemon.waitForLog("alert raised: temperature"), "\(daemon.logText)")

            // The files holding the record and the daemon's key are the owner's alone (umask 0077, a 0700 folder).
            func mode(_ path: String) throws -> Int? {
                try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            }
            #expect(try mode(folder + "/data") == 0o700)
            for file in ["daemon.key", "vigil.sqlite", "vigil.sqlite-wal", "vigil.projections.sqlite"] {
                #expect(try mode(folder + "/data/" + file) == 0o600, "\(file)")
            }
            #expect(try await daemon.stop() == 0)

            let log = daemon.logText
            #expect(log.contains("event refused"))
            #expect(log.contains("P-0042"), "participant codes may appear, and do")
            for canary in Self.canaries {
                let lines = log.split(separator: "\n").filter { $0.contains(canary) }
                #expect(lines.isEmpty, "the log carries \(canary): \(lines.prefix(3))")
            }
        }
    }
}
