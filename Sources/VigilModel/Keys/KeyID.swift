import Crypto

/// A key id: the SHA-256 of the raw 32-byte Ed25519 public key, printed as 64 lowercase hex digits.
package struct KeyID: Sendable, Hashable, Comparable, CustomStringConvertible {
    package let bytes: [UInt8]

    package init(publicKey: some Collection<UInt8>) {
        self.bytes = Array(SHA256.hash(data: Array(publicKey)))
    }

    /// Parses a key id; only the canonical lowercase form is accepted.
    package init?(hex: String) {
        guard let parsed = KeyID(lowercaseHex: hex.utf8) else { return nil }
        self = parsed
    }

    /// From 64 lowercase hexadecimal digits as UTF-8.
    init?(lowercaseHex utf8: some Collection<UInt8>) {
        guard utf8.count == 64 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 32)
        var index = 0
        var high: UInt8 = 0
        for byte in utf8 {
            let nibble: UInt8
            switch byte {
            case 0x30...0x39: nibble = byte - 0x30
            case 0x61...0x66: nibble = byte - 0x61 + 10
            default: return nil
            }
            if index % 2 == 0 { high = nibble } else { bytes[index / 2] = high << 4 | nibble }
            index += 1
        }
        self.bytes = bytes
    }

    package var hex: String { Hex.encode(bytes) }
    package var description: String { hex }

    /// The first 12 hex digits, for tables and log lines.
    package var short: String { String(hex.prefix(12)) }

    package static func < (lhs: KeyID, rhs: KeyID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}

/// An Ed25519 public key with its id, ready to verify signatures.
package struct VerifyingKey: Sendable {
    package let id: KeyID
    package let rawRepresentation: [UInt8]
    private let key: Curve25519.Signing.PublicKey

    package init(rawRepresentation: [UInt8]) throws(IngestError) {
        guard rawRepresentation.count == 32,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: rawRepresentation)
        else { throw IngestError(.invalidEvent, "not a raw 32-byte Ed25519 public key") }
        self.key = key
        self.rawRepresentation = rawRepresentation
        self.id = KeyID(publicKey: rawRepresentation)
    }

    /// Whether `signature` is this key's Ed25519 signature over `message`.
    package func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        signature.count == 64 && key.isValidSignature(signature, for: message)
    }
}

/// An Ed25519 private key that signs envelopes.
package struct SigningKey: Sendable {
    private let key: Curve25519.Signing.PrivateKey

    /// A fresh random key.
    package init() {
        self.key = Curve25519.Signing.PrivateKey()
    }

    /// A key from its 32-byte seed.
    package init(seed: [UInt8]) throws(IngestError) {
        guard seed.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else {
            throw IngestError(.malformedEnvelope, "an Ed25519 private key is a 32-byte seed")
        }
        self.key = key
    }

    package var seed: [UInt8] { Array(key.rawRepresentation) }
    package var publicKey: [UInt8] { Array(key.publicKey.rawRepresentation) }
    package var id: KeyID { KeyID(publicKey: publicKey) }

    package var verifyingKey: VerifyingKey {
        // A key derived from a valid private key is always a valid public key.
        try! VerifyingKey(rawRepresentation: publicKey)
    }

    package func signature(for message: [UInt8]) -> [UInt8] {
        // BoringSSL's Ed25519 signing cannot fail for a well-formed key.
        Array(try! key.signature(for: message))
    }
}
