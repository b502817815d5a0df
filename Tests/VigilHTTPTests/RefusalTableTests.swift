import Foundation
import Testing
import VigilModel
import VigilStore
import VigilTestSupport

/// Bad input of every kind, each with the status and code a client gets, and proof that nothing was stored.
@Suite struct RefusalTableTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let status: Int
        let code: String
        let body: @Sendable (Cast) -> [UInt8]
        var testDescription: String { name }
    }

    /// The keys of the test, plus one registered key that was later revoked.
    struct Cast: Sendable {
        let keys: TestKeys
        let retired: SigningKey
    }

    static func vitalsJSON(_ edit: (inout JSONObject) -> Void = { _ in }) -> [UInt8] {
        guard case .object(var object) = Fixtures.vitals().json else { return [] }
        edit(&object)
        return JSONWriter.bytes(.object(object))
    }

    static func data(_ key: String, _ value: JSONValue?) -> @Sendable (inout JSONObject) -> Void {
        { object in
            guard case .object(var data)? = object["data"] else { return }
            data[key] = value
            object["data"] = .object(data)
        }
    }

    static func payloadOf(
        _ type: EventType, _ edit: @escaping @Sendable (inout JSONObject) -> Void
    ) -> @Sendable (Cast) -> [UInt8] {
        { cast in
            let sample = Samples.everyType(keys: cast.keys).first { $0.payload.type == type }!
            guard case .object(var object) = sample.payload.json else { return [] }
            edit(&object)
            return Envelope.sign(
                payload: JSONWriter.bytes(.object(object)), author: sample.author, witnesses: sample.witnesses
            ).jsonBytes
        }
    }

    static func signedVitals(_ edit: @escaping @Sendable (inout JSONObject) -> Void) -> @Sendable (Cast) -> [UInt8] {
        { cast in Envelope.sign(payload: vitalsJSON(edit), author: cast.keys.clinician).jsonBytes }
    }

    static func envelopeText(_ text: String) -> @Sendable (Cast) -> [UInt8] {
        { _ in Array(text.utf8) }
    }

    static func envelopeJSON(
        _ edit: @escaping @Sendable (Cast, inout JSONObject) -> Void
    ) -> @Sendable (Cast) -> [UInt8] {
        { cast in
            guard case .object(var object) = Envelope.sign(payload: vitalsJSON(), author: cast.keys.clinician).json
            else { return [] }
            edit(cast, &object)
            return JSONWriter.bytes(.object(object))
        }
    }

    static func signatureField(_ key: String, _ value: JSONValue) -> @Sendable (Cast) -> [UInt8] {
        envelopeJSON { _, object in
            guard case .array(var signatures)? = object["signatures"], case .object(var first) = signatures[0] else {
                return
            }
            first[key] = value
            signatures[0] = .object(first)
            object["signatures"] = .array(signatures)
        }
    }

    static let type = "application/vnd.vigil.event+json"

    static let cases: [Case] = [
        // The envelope (400 malformed_envelope).
        Case(name: "empty body", status: 400, code: "malformed_envelope", body: envelopeText("")),
        Case(name: "not JSON", status: 400, code: "malformed_envelope", body: envelopeText("hello")),
        Case(name: "a JSON array", status: 400, code: "malformed_envelope", body: envelopeText("[]")),
        Case(name: "a JSON string", status: 400, code: "malformed_envelope", body: envelopeText("\"x\"")),
        Case(name: "truncated JSON", status: 400, code: "malformed_envelope", body: envelopeText(#"{"payloadType": "#)),
        Case(
            name: "no payload", status: 400, code: "malformed_envelope",
            body: envelopeJSON { _, o in o["payload"] = nil }),
        Case(
            name: "no signatures", status: 400, code: "malformed_envelope",
            body: envelopeJSON { _, o in o["signatures"] = nil }),
        Case(
            name: "empty signatures", status: 400, code: "malformed_envelope",
            body: envelopeJSON { _, o in o["signatures"] = .array([]) }),
        Case(
            name: "signatures not a list", status: 400, code: "malformed_envelope",
            body: envelopeJSON { _, o in o["signatures"] = .string("x") }),
        Case(
            name: "other payloadType", status: 400, code: "malformed_envelope",
            body: envelopeJSON { _, o in o["payloadType"] = .string("application/json") }),
        Case(
            name: "payload not base64", status: 400, code: "malformed_envelope",
            body: envelopeJSON { _, o in o["payload"] = .string("%%%%") }),
        Case(
            name: "payload base64 unpadded", status: 400, code: "malformed_envelope",
            body: envelopeJSON { _, o in o["payload"] = .string("e30") }),
        Case(
            name: "an extra envelope field", status: 400, code: "malformed_envelope",
            body: envelopeJSON { _, o in o["comment"] = .string("hi") }),
        Case(
            name: "keyid in upper case", status: 400, code: "malformed_envelope",
            body: { cast in
                signatureField("keyid", .string(cast.keys.clinician.id.hex.uppercased()))(cast)
            }),
        Case(
            name: "keyid too short", status: 400, code: "malformed_envelope",
            body: signatureField("keyid", .string("abcd"))),
        Case(
            name: "sig of 32 bytes", status: 400, code: "malformed_envelope",
            body: signatureField("sig", .string(Base64.encode([UInt8](repeating: 1, count: 32))))),
        Case(
            name: "sig not base64", status: 400, code: "malformed_envelope",
            body: signatureField("sig", .string("not base64!"))),
        Case(
            name: "duplicate key in the envelope", status: 400, code: "malformed_envelope",
            body: { cast in
                let text = String(
                    decoding: Envelope.sign(payload: vitalsJSON(), author: cast.keys.clinician).jsonBytes, as: UTF8.self
                )
                return Array(
                    text.replacingOccurrences(of: "{\"payloadType\"", with: "{\"payloadType\":\"x\",\"payloadType\"")
                        .utf8)
            }),
        Case(
            name: "the same key twice", status: 400, code: "malformed_envelope",
            body: envelopeJSON { _, o in
                guard case .array(let signatures)? = o["signatures"] else { return }
                o["signatures"] = .array(signatures + signatures)
            }),
        Case(
            name: "nine signatures", status: 400, code: "malformed_envelope",
            body: { cast in
                let witnesses = (0..<8).map { _ in SigningKey() }
                return Envelope.sign(payload: vitalsJSON(), author: cast.keys.clinician, witnesses: witnesses).jsonBytes
            }),
        Case(
            name: "bytes after the envelope", status: 400, code: "malformed_envelope",
            body: { cast in
                Envelope.sign(payload: vitalsJSON(), author: cast.keys.clinician).jsonBytes + Array(" {}".utf8)
            }),
        Case(
            name: "nesting bomb", status: 400, code: "malformed_envelope",
            body: envelopeText(String(repeating: "[", count: 5000))),

        // The event (422 invalid_event).
        Case(
            name: "payload not JSON", status: 422, code: "invalid_event",
            body: { cast in
                Envelope.sign(payload: Array("systolic=120".utf8), author: cast.keys.clinician).jsonBytes
            }),
        Case(
            name: "payload a JSON array", status: 422, code: "invalid_event",
            body: { cast in
                Envelope.sign(payload: Array("[1]".utf8), author: cast.keys.clinician).jsonBytes
            }),
        Case(
            name: "duplicate key in the payload", status: 422, code: "invalid_event",
            body: { cast in
                let text = String(decoding: vitalsJSON(), as: UTF8.self).replacingOccurrences(
                    of: "\"systolic\":128", with: "\"systolic\":128,\"systolic\":210")
                return Envelope.sign(payload: Array(text.utf8), author: cast.keys.clinician).jsonBytes
            }),
        Case(name: "no id", status: 422, code: "invalid_event", body: signedVitals { $0["id"] = nil }),
        Case(
            name: "id not a UUID", status: 422, code: "invalid_event",
            body: signedVitals { $0["id"] = .string("12345") }),
        Case(
            name: "unknown type", status: 422, code: "invalid_event",
            body: signedVitals { $0["type"] = .string("vitals.taken") }),
        Case(
            name: "occurredAt without zone", status: 422, code: "invalid_event",
            body: signedVitals { $0["occurredAt"] = .string("2026-11-21T10:15:00") }),
        Case(
            name: "occurredAt a day ahead", status: 422, code: "invalid_event",
            body: signedVitals {
                $0["occurredAt"] = .string(Fixtures.now().adding(seconds: 86_400).rfc3339)
            }),
        Case(
            name: "unknown top-level field", status: 422, code: "invalid_event",
            body: signedVitals { $0["site"] = .string("S1") }),
        Case(
            name: "typo in data (hartRate)", status: 422, code: "invalid_event",
            body: signedVitals(data("hartRate", .number(JSONNumber(80))))),
        Case(name: "data null", status: 422, code: "invalid_event", body: signedVitals { $0["data"] = .null }),
        Case(
            name: "systolic 400", status: 422, code: "invalid_event",
            body: signedVitals(data("systolic", .number(JSONNumber(400))))),
        Case(
            name: "diastolic above systolic", status: 422, code: "invalid_event",
            body: signedVitals(data("diastolic", .number(JSONNumber(140))))),
        Case(
            name: "temperature 3 C", status: 422, code: "invalid_event",
            body: signedVitals(data("temperatureC", .number(JSONNumber(3))))),
        Case(
            name: "SpO2 120 %", status: 422, code: "invalid_event",
            body: signedVitals(data("spo2", .number(JSONNumber(120))))),
        Case(
            name: "heart rate as text", status: 422, code: "invalid_event",
            body: signedVitals(data("heartRate", .string("fast")))),
        Case(
            name: "vitals without participant", status: 422, code: "invalid_event",
            body: signedVitals { $0["participant"] = nil }),
        Case(
            name: "a name as participant code", status: 422, code: "invalid_event",
            body: signedVitals { $0["participant"] = .string("Jane Doe") }),
        Case(
            name: "negative dose", status: 422, code: "invalid_event",
            body: payloadOf(.doseDispensed, data("doseMg", .number(JSONNumber(-40))))),
        Case(
            name: "dose above the ceiling", status: 422, code: "invalid_event",
            body: payloadOf(.doseDispensed, data("doseMg", .number(JSONNumber(1200))))),
        Case(
            name: "dose kind unknown", status: 422, code: "invalid_event",
            body: payloadOf(.doseDispensed, data("kind", .string("booster")))),
        Case(
            name: "dose without session", status: 422, code: "invalid_event",
            body: payloadOf(.doseDispensed) { $0["session"] = nil }),
        Case(
            name: "PHQ-9 with 8 answers", status: 422, code: "invalid_event",
            body: payloadOf(.moodCheckCompleted, data("phq9", .array((0..<8).map { _ in .number(JSONNumber(1)) })))),
        Case(
            name: "PHQ-9 answer 4", status: 422, code: "invalid_event",
            body: payloadOf(.moodCheckCompleted, data("phq9", .array((0..<9).map { _ in .number(JSONNumber(4)) })))),
        Case(
            name: "C-SSRS without q2", status: 422, code: "invalid_event",
            body: payloadOf(
                .moodCheckCompleted, data("cssrs", .object(JSONObject(["q1": .bool(false), "q6": .bool(false)]))))),
        Case(
            name: "day 91 after a session", status: 422, code: "invalid_event",
            body: payloadOf(.moodCheckCompleted, data("day", .number(JSONNumber(91))))),
        Case(
            name: "CTCAE grade 6", status: 422, code: "invalid_event",
            body: payloadOf(.adverseEventReported, data("severity", .number(JSONNumber(6))))),
        Case(
            name: "serious without criteria", status: 422, code: "invalid_event",
            body: payloadOf(.adverseEventReported, data("criteria", .array([])))),
        Case(
            name: "count with negative mg", status: 422, code: "invalid_event",
            body: payloadOf(.inventoryCounted, data("countedMg", .number(JSONNumber(-1))))),
        Case(
            name: "registering a daemon key", status: 422, code: "invalid_event",
            body: payloadOf(.keyRegistered, data("role", .string("daemon")))),
        Case(
            name: "registering a 31-byte key", status: 422, code: "invalid_event",
            body: payloadOf(.keyRegistered, data("publicKey", .string(Base64.encode([UInt8](repeating: 7, count: 31)))))
        ),
        Case(
            name: "registering a key twice", status: 422, code: "invalid_event",
            body: { cast in
                Fixtures.envelope(
                    Fixtures.registration(of: cast.keys.clinician, role: .admin, name: "Again"), by: cast.keys.admin)
            }),

        // The signers (403).
        Case(
            name: "unknown author", status: 403, code: "unknown_key",
            body: { _ in Fixtures.envelope(Fixtures.vitals(), by: SigningKey()) }),
        Case(
            name: "revoked author", status: 403, code: "revoked_key",
            body: { cast in Fixtures.envelope(Fixtures.vitals(), by: cast.retired) }),
        Case(
            name: "payload altered after signing", status: 403, code: "bad_signature",
            body: envelopeJSON { _, o in
                o["payload"] = .string(Base64.encode(vitalsJSON { $0["participant"] = .string("P-0002") }))
            }),
        Case(
            name: "signature of another payload", status: 403, code: "bad_signature",
            body: { cast in
                let other = Envelope.sign(payload: vitalsJSON(), author: cast.keys.clinician)
                var envelope = Envelope.sign(payload: vitalsJSON(), author: cast.keys.clinician)
                envelope.signatures = other.signatures
                return envelope.jsonBytes
            }),
        Case(
            name: "pharmacist authoring vitals", status: 403, code: "forbidden_type",
            body: { cast in Fixtures.envelope(Fixtures.vitals(), by: cast.keys.pharmacist) }),
        Case(
            name: "clinician registering a key", status: 403, code: "forbidden_type",
            body: { cast in
                Fixtures.envelope(
                    Fixtures.registration(of: SigningKey(), role: .clinician, name: "X"), by: cast.keys.clinician)
            }),
        Case(
            name: "officer raising an alert", status: 403, code: "forbidden_type",
            body: { cast in
                let sample = Samples.everyType(keys: cast.keys).first { $0.payload.type == .alertRaised }!
                return Fixtures.envelope(sample.payload, by: cast.keys.officer)
            }),
        Case(
            name: "device witnessing a waste", status: 403, code: "forbidden_type",
            body: { cast in
                Fixtures.envelope(Fixtures.wasted(), by: cast.keys.pharmacist, witnesses: [cast.keys.device])
            }),
        Case(
            name: "unknown witness", status: 403, code: "unknown_key",
            body: { cast in
                Fixtures.envelope(Fixtures.wasted(), by: cast.keys.pharmacist, witnesses: [SigningKey()])
            }),
        Case(
            name: "bad witness signature", status: 403, code: "bad_signature",
            body: { cast in
                var envelope = Envelope.sign(
                    payload: Fixtures.wasted().jsonBytes, author: cast.keys.pharmacist, witnesses: [cast.keys.clinician]
                )
                envelope.signatures[1].signature[10] ^= 0x40
                return envelope.jsonBytes
            }),
        Case(
            name: "a witness on vitals", status: 403, code: "forbidden_type",
            body: { cast in
                Fixtures.envelope(Fixtures.vitals(), by: cast.keys.clinician, witnesses: [cast.keys.pharmacist])
            }),
    ]

    @Test func everyBadInputGetsItsCodeAndStoresNothing() async throws {
        #expect(Self.cases.count >= 40)
        try await LiveDaemon.run { daemon in
            let retired = SigningKey()
            _ = try await daemon.submit(
                Fixtures.registration(of: retired, role: .clinician, name: "Retired"), by: daemon.keys.admin)
            _ = try await daemon.submit(Fixtures.revocation(of: retired), by: daemon.keys.admin)
            let cast = Cast(keys: daemon.keys, retired: retired)
            let before = try await daemon.logHead()
            for testCase in Self.cases {
                let response = try await daemon.submit(testCase.body(cast))
                #expect(response.status == testCase.status, "\(testCase.name): \(response.text)")
                #expect(response.errorCode == testCase.code, "\(testCase.name): \(response.text)")
                #expect(response.errorMessage?.isEmpty == false, "\(testCase.name)")
                #expect(response.headers["content-type"]?.hasPrefix("application/json") == true)
                let after = try await daemon.logHead()
                #expect(after == before, "\(testCase.name) changed the log")
            }
            // The same inputs in one batch: each refused on its own, with the same codes.
            let items = Self.cases.map { $0.body(cast) }.filter { (try? JSONParser.parse($0)) != nil }
            let batch = try await daemon.batch(items)
            #expect(batch.status == 200)
            guard case .array(let results)? = batch.field("results") else {
                Issue.record("no results: \(batch.text)")
                return
            }
            #expect(results.count == items.count)
            for case .object(let result) in results {
                #expect(result["error"] != nil)
                #expect(result["position"] == nil)
            }
            let after = try await daemon.logHead()
            #expect(after == before)
        }
    }

    @Test func errorMessagesNeverCarryClinicalValues() async throws {
        try await LiveDaemon.run { daemon in
            let response = try await daemon.submit(
                Fixtures.envelope(Fixtures.vitals(systolic: 287, diastolic: 291), by: daemon.keys.clinician)
            )
            #expect(response.errorCode == "invalid_event")
            #expect(!response.text.containsToken("287") && !response.text.containsToken("291"), "\(response.text)")
        }
    }
}
