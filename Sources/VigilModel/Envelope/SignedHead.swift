/// A statement by the daemon's key: "at `issuedAt` the log held `size` entries ending in `chainHash`".
///
/// Travels as the payload of a DSSE envelope of type ``Envelope/headPayloadType``. Anyone holding a signed
/// head can later prove that the log they are shown extends it, and that nothing before it was removed.
package struct SignedHead: Sendable, Equatable {
    package var size: Int64
    package var chainHash: [UInt8]
    package var issuedAt: Timestamp

    package init(size: Int64, chainHash: [UInt8], issuedAt: Timestamp) {
        self.size = size
        self.chainHash = chainHash
        self.issuedAt = issuedAt
    }

    package var json: JSONValue {
        .object(
            JSONObject([
                "size": .number(JSONNumber(size)), "chainHash": .string(Hex.encode(chainHash)),
                "issuedAt": .string(issuedAt.rfc3339),
            ])
        )
    }

    package func envelope(signedBy key: SigningKey) -> Envelope {
        Envelope.sign(payloadType: Envelope.headPayloadType, payload: JSONWriter.bytes(json), author: key)
    }

    package static func decode(payload: [UInt8]) throws(FieldError) -> SignedHead {
        let value: JSONValue
        do {
            value = try JSONParser.parse(payload)
        } catch {
            throw FieldError(path: "", reason: "the head is not valid JSON")
        }
        let root = try ObjectReader(value, path: "", allowed: ["size", "chainHash", "issuedAt"])
        let size = try root.integer("size", in: 0...Int.max)
        let hex = try root.string("chainHash", maxLength: 64)
        guard let chainHash = Hex.decode(hex), chainHash.count == 32 else {
            throw FieldError(path: "chainHash", reason: "must be 64 hexadecimal digits")
        }
        return SignedHead(size: Int64(size), chainHash: chainHash, issuedAt: try root.timestamp("issuedAt"))
    }
}
