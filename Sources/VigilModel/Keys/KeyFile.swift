/// Ed25519 keys in PEM files, interoperable with OpenSSL (`openssl genpkey -algorithm ed25519`).
///
/// Private keys are PKCS#8 (`-----BEGIN PRIVATE KEY-----`), public keys SubjectPublicKeyInfo
/// (`-----BEGIN PUBLIC KEY-----`), both with the RFC 8410 algorithm identifier for Ed25519.
package enum KeyFile {
    /// DER prefix of a PKCS#8 v1 Ed25519 private key, before the 32-byte seed.
    static let privateKeyPrefix: [UInt8] = [
        0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]
    /// DER prefix of an Ed25519 SubjectPublicKeyInfo, before the 32-byte key.
    static let publicKeyPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]

    package static func pem(privateKey: SigningKey) -> String {
        pem(label: "PRIVATE KEY", der: privateKeyPrefix + privateKey.seed)
    }

    package static func pem(publicKey: [UInt8]) -> String {
        pem(label: "PUBLIC KEY", der: publicKeyPrefix + publicKey)
    }

    /// Reads a PEM private key file's text.
    package static func signingKey(pem text: String) throws(KeyFileError) -> SigningKey {
        let der = try derFromPEM(text, label: "PRIVATE KEY")
        guard der.count == privateKeyPrefix.count + 32, Array(der.prefix(privateKeyPrefix.count)) == privateKeyPrefix,
            let key = try? SigningKey(seed: Array(der.suffix(32)))
        else { throw KeyFileError("not an Ed25519 PKCS#8 private key") }
        return key
    }

    /// Reads a PEM public key file's text.
    package static func publicKey(pem text: String) throws(KeyFileError) -> [UInt8] {
        let der = try derFromPEM(text, label: "PUBLIC KEY")
        guard der.count == publicKeyPrefix.count + 32, Array(der.prefix(publicKeyPrefix.count)) == publicKeyPrefix
        else {
            throw KeyFileError("not an Ed25519 public key")
        }
        return Array(der.suffix(32))
    }

    static func pem(label: String, der: [UInt8]) -> String {
        let body = Base64.encode(der)
        var lines: [String] = ["-----BEGIN \(label)-----"]
        var rest = Substring(body)
        while !rest.isEmpty {
            lines.append(String(rest.prefix(64)))
            rest = rest.dropFirst(64)
        }
        lines.append("-----END \(label)-----")
        return lines.joined(separator: "\n") + "\n"
    }

    static func derFromPEM(_ text: String, label: String) throws(KeyFileError) -> [UInt8] {
        let lines = text.split(whereSeparator: \.isNewline).map(trimmed)
        guard let begin = lines.firstIndex(of: "-----BEGIN \(label)-----"),
            let end = lines.firstIndex(of: "-----END \(label)-----"), begin < end
        else { throw KeyFileError("no \(label) block found") }
        guard let der = Base64.decode(lines[(begin + 1)..<end].joined()) else {
            throw KeyFileError("the \(label) block is not valid base64")
        }
        return der
    }
}

package struct KeyFileError: Error, Sendable, CustomStringConvertible {
    package var message: String

    package init(_ message: String) {
        self.message = message
    }

    package var description: String { message }
}

private func trimmed(_ line: Substring) -> String {
    var slice = line
    while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
    while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
    return String(slice)
}
