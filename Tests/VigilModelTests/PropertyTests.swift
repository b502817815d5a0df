import PropertyBased
import Testing
import VigilModel
import VigilTestSupport

@Suite struct PropertyTests {
    static let now = Fixtures.now()

    static let payloads = Generator<EventPayload, Shrink.None<EventPayload>> { rng in
        RandomEvents.payload(using: &rng, now: now)
    }

    @Test func everyEventRoundTripsThroughJSON() async {
        await propertyCheck(count: 2000, input: Self.payloads) { payload in
            let context = ValidationContext(
                limits: ValidationLimits(maxDose: Milligrams(250), maxQuantity: Milligrams(1_000_000)), now: Self.now)
            #expect(throws: Never.self, "\(payload.type)") {
                let decoded = try EventPayload.decode(payload.jsonBytes, context: context)
                #expect(decoded == payload)
                // Encoding is deterministic: the decoded value prints to the same bytes.
                #expect(decoded.jsonBytes == payload.jsonBytes)
            }
        }
    }

    @Test func envelopesRoundTripAndVerify() async {
        let keys = (0..<4).map { _ in SigningKey() }
        await propertyCheck(count: 300, input: Self.payloads, Gen.int(in: 0...3)) { payload, witnessCount in
            let envelope = Envelope.sign(
                payload: payload.jsonBytes, author: keys[0], witnesses: Array(keys[1...].prefix(witnessCount)))
            let decoded = try Envelope.decode(envelope.jsonBytes)
            #expect(decoded == envelope)
            try decoded.verifySignatures { id in keys.first { $0.id == id }?.verifyingKey }
        }
    }

    @Test func randomBytesNeverCrashTheDecoders() async {
        await propertyCheck(count: 3000, input: Gen.uint8().array(of: 0...300)) { bytes in
            _ = try? JSONParser.parse(bytes)
            _ = try? Envelope.decode(bytes)
            _ = try? EventPayload.decode(bytes, context: .replay)
        }
    }

    @Test func jsonLikeNoiseNeverCrashesTheDecoders() async {
        let alphabet = Array(#"{}[]":,.-+eE0123456789 truefalsnl\u"abcxyz"#.utf8)
        await propertyCheck(count: 3000, input: Gen.int(in: 0..<alphabet.count).array(of: 0...200)) { indices in
            let bytes = indices.map { alphabet[$0] }
            _ = try? JSONParser.parse(bytes)
            _ = try? EventPayload.decode(bytes, context: .replay)
        }
    }

    @Test func base64AndTimestampsRoundTrip() async {
        await propertyCheck(
            count: 1000, input: Gen.uint8().array(of: 0...100),
            Gen.int64(in: -62_135_596_800_000_000...253_402_300_799_999_999)
        ) {
            bytes, micros in
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
            let time = Timestamp(microsecondsSinceEpoch: micros)
            #expect(Timestamp(rfc3339: time.rfc3339) == time)
        }
    }
}
