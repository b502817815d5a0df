import Testing
import VigilModel
import VigilTestSupport

@Suite struct EnvelopeTests {
    @Test func paeMatchesTheDSSESpecification() {
        // The example of the DSSE protocol document.
        let pae = Envelope.pae(payloadType: "http://example.com/HelloWorld", payload: Array("hello world".utf8))
        #expect(String(decoding: pae, as: UTF8.self) == "DSSEv1 29 http://example.com/HelloWorld 11 hello world")
    }

    @Test func keyIDIsTheSHA256OfTheRawPublicKey() {
        // RFC 8032 test vector 1's public key.
        let publicKey = Hex.decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")!
        #expect(KeyID(publicKey: publicKey).hex == "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9")
    }

    @Test func signaturesVerifyAndTamperingIsDetected() throws {
        let keys = TestKeys()
        let payload = Fixtures.vitals().jsonBytes
        let envelope = Envelope.sign(payload: payload, author: keys.clinician)
        let lookup: (KeyID) -> VerifyingKey? = { $0 == keys.clinician.id ? keys.clinician.verifyingKey : nil }
        try envelope.verifySignatures(keys: lookup)

        var tampered = envelope
        tampered.payload[tampered.payload.count - 3] ^= 0x01
        #expect(
            throws: IngestError(
                .badSignature, "the author's signature by key \(keys.clinician.id.short) does not verify")
        ) {
            try tampered.verifySignatures(keys: lookup)
        }
        let witnessed = envelope.countersigned(by: keys.pharmacist)
        #expect {
            try witnessed.verifySignatures(keys: lookup)
        } throws: { ($0 as? IngestError)?.code == .unknownKey }
    }

    @Test func decodesWhatItEncodes() throws {
        let keys = TestKeys()
        let envelope = Envelope.sign(
            payload: Fixtures.wasted().jsonBytes, author: keys.pharmacist, witnesses: [keys.clinician])
        #expect(try Envelope.decode(envelope.jsonBytes) == envelope)
    }

    @Test(arguments: [
        (#"[]"#, "must be an object"),
        (
            #"{"payloadType":"application/vnd.vigil.event+json","payload":"e30=","signatures":[]}"#,
            "at least the author"
        ),
        (#"{"payloadType":"text/plain","payload":"e30=","signatures":[]}"#, "payloadType: must be"),
        (
            #"{"payloadType":"application/vnd.vigil.event+json","payload":"e30","signatures":[]}"#,
            "payload: must be non-empty standard base64"
        ),
        (
            #"{"payloadType":"application/vnd.vigil.event+json","payload":"e30=","signatures":[],"extra":1}"#,
            "extra: unknown field"
        ),
        (
            #"{"payloadType":"application/vnd.vigil.event+json","payload":"e30=","signatures":[{"keyid":"AB","sig":"AA=="}]}"#,
            "keyid: must be 64"
        ),
        (#"{"payloadType":"application/vnd.vigil.event+json","signatures":[]}"#, "payload: is required"),
    ])
    func refusesMalformedEnvelopes(text: String, fragment: String) {
        #expect {
            try Envelope.decode(Array(text.utf8))
        } throws: { error in
            guard let error = error as? IngestError else { return false }
            return error.code == .malformedEnvelope && error.message.contains(fragment)
        }
    }

    @Test func refusesTheSameKeySigningTwice() {
        let keys = TestKeys()
        var envelope = Envelope.sign(
            payload: Fixtures.wasted().jsonBytes, author: keys.pharmacist, witnesses: [keys.clinician])
        envelope.signatures[1] = envelope.signatures[0]
        #expect {
            try Envelope.decode(envelope.jsonBytes)
        } throws: { ($0 as? IngestError)?.message.contains("repeats a key") == true }
    }

    @Test func pemKeyFilesRoundTripAndMatchOpenSSLFormat() throws {
        let key = SigningKey()
        let pem = KeyFile.pem(privateKey: key)
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"))
        #expect(try KeyFile.signingKey(pem: pem).publicKey == key.publicKey)
        let publicPEM = KeyFile.pem(publicKey: key.publicKey)
        #expect(publicPEM.hasPrefix("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"))
        #expect(try KeyFile.publicKey(pem: publicPEM) == key.publicKey)
        #expect(throws: KeyFileError.self) { try KeyFile.signingKey(pem: publicPEM) }
    }
}
