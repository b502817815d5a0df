/// One signature of a DSSE envelope.
package struct EnvelopeSignature: Sendable, Equatable {
    package var keyID: KeyID
    /// The 64-byte Ed25519 signature over the envelope's PAE.
    package var signature: [UInt8]

    package init(keyID: KeyID, signature: [UInt8]) {
        self.keyID = keyID
        self.signature = signature
    }
}

/// A DSSE v1 envelope (docs/protocol.md §1): a typed payload and the Ed25519 signatures over its PAE.
///
/// The first signature is the author's; any further ones are witnesses. Decoding is strict: exactly the
/// fields `payloadType`, `payload` and `signatures`; standard padded base64; each key id at most once.
package struct Envelope: Sendable, Equatable {
    /// The payload type of every Vigil event.
    package static let eventPayloadType = "application/vnd.vigil.event+json"
    /// The payload type of a log head signed by the daemon.
    package static let headPayloadType = "application/vnd.vigil.head+json"
    /// At most one author and seven witnesses.
    package static let maximumSignatures = 8

    package var payloadType: String
    /// The decoded payload bytes.
    package var payload: [UInt8]
    package var signatures: [EnvelopeSignature]

    package init(payloadType: String, payload: [UInt8], signatures: [EnvelopeSignature]) {
        self.payloadType = payloadType
        self.payload = payload
        self.signatures = signatures
    }

    /// Signs `payload` as `payloadType` by the author, then by each witness.
    package static func sign(
        payloadType: String = eventPayloadType, payload: [UInt8], author: SigningKey, witnesses: [SigningKey] = []
    ) -> Envelope {
        let message = pae(payloadType: payloadType, payload: payload)
        let signatures = ([author] + witnesses).map {
            EnvelopeSignature(keyID: $0.id, signature: $0.signature(for: message))
        }
        return Envelope(payloadType: payloadType, payload: payload, signatures: signatures)
    }

    /// Adds a witness signature over the same payload.
    package func countersigned(by witness: SigningKey) -> Envelope {
        var copy = self
        copy.signatures.append(EnvelopeSignature(keyID: witness.id, signature: witness.signature(for: pae)))
        return copy
    }

    /// The author's signature.
    package var author: EnvelopeSignature { signatures[0] }
    /// The witnesses' signatures, in order.
    package var witnesses: ArraySlice<EnvelopeSignature> { signatures.dropFirst() }

    /// `PAE(type, body) = "DSSEv1" SP len(type) SP type SP len(body) SP body`.
    package static func pae(payloadType: String, payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + payloadType.utf8.count + 32)
        out.append(contentsOf: "DSSEv1 ".utf8)
        out.append(contentsOf: String(payloadType.utf8.count).utf8)
        out.append(0x20)
        out.append(contentsOf: payloadType.utf8)
        out.append(0x20)
        out.append(contentsOf: String(payload.count).utf8)
        out.append(0x20)
        out.append(contentsOf: payload)
        return out
    }

    package var pae: [UInt8] { Envelope.pae(payloadType: payloadType, payload: payload) }

    /// Parses and checks an envelope's JSON bytes held in an array (the parser's fast path).
    package static func decode(
        _ bytes: [UInt8], expectedPayloadType: String = eventPayloadType
    ) throws(IngestError) -> Envelope {
        try decode(expectedPayloadType: expectedPayloadType) { () throws(JSONParseError) in try JSONParser.parse(bytes)
        }
    }

    /// Parses and checks an envelope's JSON bytes.
    ///
    /// - Parameter expectedPayloadType: refused with `malformed_envelope` if the envelope says otherwise.
    package static func decode(
        _ bytes: some Collection<UInt8>, expectedPayloadType: String = eventPayloadType
    ) throws(IngestError) -> Envelope {
        try decode(expectedPayloadType: expectedPayloadType) { () throws(JSONParseError) in try JSONParser.parse(bytes)
        }
    }

    private static func decode(
        expectedPayloadType: String, parse: () throws(JSONParseError) -> JSONValue
    ) throws(IngestError) -> Envelope {
        let value: JSONValue
        do {
            value = try parse()
        } catch {
            throw IngestError(
                .malformedEnvelope, "the envelope is not valid JSON: \(error.reason) at byte \(error.offset)")
        }
        return try decode(value, expectedPayloadType: expectedPayloadType)
    }

    package static func decode(
        _ value: JSONValue, expectedPayloadType: String = eventPayloadType
    ) throws(IngestError) -> Envelope {
        do {
            return try decodeFields(value, expectedPayloadType: expectedPayloadType)
        } catch {
            throw IngestError(.malformedEnvelope, "envelope \(error.description)")
        }
    }

    private static func decodeFields(_ value: JSONValue, expectedPayloadType: String) throws(FieldError) -> Envelope {
        let root = try ObjectReader(value, path: "", allowed: ["payloadType", "payload", "signatures"])
        let payloadType = try root.string("payloadType", maxLength: 200)
        guard payloadType == expectedPayloadType else {
            throw FieldError(path: "payloadType", reason: "must be \(expectedPayloadType)")
        }
        guard case .string(let encoded) = try root.required("payload") else {
            throw FieldError(path: "payload", reason: "must be a base64 string")
        }
        guard let payload = Base64.decode(encoded), !payload.isEmpty else {
            throw FieldError(path: "payload", reason: "must be non-empty standard base64 with padding")
        }
        let entries = try root.array("signatures", maxCount: maximumSignatures)
        guard !entries.isEmpty else {
            throw FieldError(path: "signatures", reason: "must hold at least the author's signature")
        }
        var signatures: [EnvelopeSignature] = []
        for (index, entry) in entries.enumerated() {
            let path = "signatures[\(index)]"
            let item = try ObjectReader(entry, path: path, allowed: ["keyid", "sig"])
            let keyText = try item.string("keyid", maxLength: 64)
            guard let keyID = KeyID(hex: keyText) else {
                throw FieldError(
                    path: path + ".keyid", reason: "must be 64 lowercase hexadecimal digits (SHA-256 of the public key)"
                )
            }
            guard case .string(let sigText) = try item.required("sig"), let signature = Base64.decode(sigText),
                signature.count == 64
            else {
                throw FieldError(
                    path: path + ".sig", reason: "must be the standard base64 of a 64-byte Ed25519 signature")
            }
            guard !signatures.contains(where: { $0.keyID == keyID }) else {
                throw FieldError(
                    path: path + ".keyid", reason: "repeats a key: each key signs an envelope at most once")
            }
            signatures.append(EnvelopeSignature(keyID: keyID, signature: signature))
        }
        return Envelope(payloadType: payloadType, payload: payload, signatures: signatures)
    }

    /// The envelope as JSON, in DSSE field order.
    package var json: JSONValue {
        .object(
            JSONObject([
                "payloadType": .string(payloadType),
                "payload": .string(Base64.encode(payload)),
                "signatures": .array(
                    signatures.map {
                        .object(
                            JSONObject(["keyid": .string($0.keyID.hex), "sig": .string(Base64.encode($0.signature))]))
                    }
                ),
            ])
        )
    }

    package var jsonBytes: [UInt8] { JSONWriter.bytes(json) }
}
