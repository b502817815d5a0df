import Crypto

/// A statement of the log's tree: its origin (the log's name), size and root hash, in the text form of
/// C2SP tlog-checkpoint, so that standard transparency-log clients and witnesses read it.
///
///     <origin>\n<size>\n<base64 root hash>\n
package struct LogCheckpoint: Sendable, Equatable {
    package var origin: String
    package var size: UInt64
    package var rootHash: [UInt8]

    package init(origin: String, size: UInt64, rootHash: [UInt8]) {
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
    }

    /// The note text: three lines, each ending in a newline.
    package var text: String { "\(origin)\n\(size)\n\(Base64.encode(rootHash))\n" }

    /// Reads a checkpoint from a note's text. Extension lines after the third (which Vigil never writes) are
    /// allowed, as the spec says, and ignored; they stay part of the signed text.
    package init(text: String) throws(NoteError) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 4, lines.last!.isEmpty, lines.dropLast().dropFirst(3).allSatisfy({ !$0.isEmpty }) else {
            throw NoteError("a checkpoint's lines are its origin, size and root hash, then any non-empty extensions")
        }
        let origin = String(lines[0])
        guard !origin.isEmpty, SignedNote.isPrintable(origin) else {
            throw NoteError("the checkpoint's origin is empty")
        }
        guard let size = UInt64(lines[1]), String(size) == lines[1], size <= UInt64(Int64.max) else {
            throw NoteError("the checkpoint's size is not a decimal number below 2^63 without leading zeros")
        }
        guard let root = Base64.decode(String(lines[2])), root.count == 32 else {
            throw NoteError("the checkpoint's root hash is not 32 bytes in base64")
        }
        self.init(origin: origin, size: size, rootHash: root)
    }
}

/// A failure to read or verify a signed note, with what was wrong.
package struct NoteError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// An Ed25519 key that signs notes under a name (C2SP signed-note): a log's key (signature type 0x01), or a
/// witness's cosigning key (C2SP tlog-cosignature, type 0x04, whose signatures carry a timestamp).
package struct NoteKey: Sendable {
    package enum Kind: UInt8, Sendable {
        /// Ed25519 over the note text.
        case ed25519 = 0x01
        /// A timestamped Ed25519 cosignature over "cosignature/v1", the time and the note text.
        case cosignature = 0x04
    }

    package let name: String
    package let publicKey: VerifyingKey
    package let kind: Kind

    /// The signed-note key id: the first four bytes of SHA-256(name || 0x0A || type || public key).
    package var id: UInt32 { Self.keyID(name: name, type: kind.rawValue, publicKey: publicKey.rawRepresentation) }

    package init(name: String, publicKey: VerifyingKey, kind: Kind = .ed25519) throws(NoteError) {
        guard SignedNote.isValidKeyName(name) else {
            throw NoteError("a note key's name is non-empty and has no spaces or '+'")
        }
        self.name = name
        self.publicKey = publicKey
        self.kind = kind
    }

    static func keyID(name: String, type: UInt8, publicKey: [UInt8]) -> UInt32 {
        var hasher = SHA256()
        hasher.update(data: Array(name.utf8) + [0x0A, type])
        hasher.update(data: publicKey)
        return Array(hasher.finalize()).prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The verifier key in the text form Go's `note` package and other tlog tools read:
    /// `<name>+<hex key id>+<base64(type || public key)>`.
    package var verifierKey: String {
        let hexID = String(id, radix: 16)
        let padded = String(repeating: "0", count: 8 - hexID.count) + hexID
        return "\(name)+\(padded)+\(Base64.encode([kind.rawValue] + publicKey.rawRepresentation))"
    }

    /// Reads a verifier key written as ``verifierKey`` (the base64 may itself hold '+').
    package init(verifierKey: String) throws(NoteError) {
        let parts = verifierKey.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let id = UInt32(parts[1], radix: 16), parts[1].count == 8,
            let bytes = Base64.decode(String(parts[2])), bytes.count == 33, let kind = Kind(rawValue: bytes[0]),
            let key = try? VerifyingKey(rawRepresentation: Array(bytes[1...]))
        else {
            throw NoteError(
                "a verifier key reads <name>+<8 hex digits>+<base64 of 0x01 or 0x04 and a 32-byte Ed25519 key>")
        }
        try self.init(name: String(parts[0]), publicKey: key, kind: kind)
        guard self.id == id else { throw NoteError("the verifier key's id does not match its name and key") }
    }
}

/// C2SP tlog-cosignature, Ed25519 (type 0x04): a witness's statement that, at a time, the checkpoint is the
/// largest consistent one it has seen of the log.
package enum Cosignature {
    /// The message a cosignature signs.
    static func message(text: String, timestamp: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(timestamp)\n\(text)".utf8)
    }

    /// A cosignature line for `text` (a checkpoint's note text) by `key` under `name`, at `timestamp` (POSIX
    /// seconds).
    package static func sign(_ text: String, name: String, key: SigningKey, timestamp: UInt64) -> SignedNote.Signature {
        let id = NoteKey.keyID(name: name, type: NoteKey.Kind.cosignature.rawValue, publicKey: key.publicKey)
        let time = (0..<8).map { UInt8(truncatingIfNeeded: timestamp >> (56 - 8 * UInt64($0))) }
        return SignedNote.Signature(
            name: name, keyID: id, bytes: time + key.signature(for: message(text: text, timestamp: timestamp)))
    }
}

/// A C2SP signed note: a text ending in a newline, a blank line, and signature lines
/// `— <key name> <base64(key id || signature)>`.
package struct SignedNote: Sendable, Equatable {
    package struct Signature: Sendable, Equatable {
        package var name: String
        package var keyID: UInt32
        package var bytes: [UInt8]
    }

    package var text: String
    package var signatures: [Signature]

    /// Notes larger than this are refused before they are read: room for the 16 signatures the spec asks
    /// verifiers to accept, even post-quantum ones of nearly 5 kB.
    package static let maximumSize = 96 * 1024
    /// Signature lines beyond this many are refused (the spec asks verifiers to accept at least 16).
    package static let maximumSignatures = 64

    /// Signs `text` (which must end in a newline) with `key` under `name`.
    package static func sign(_ text: String, name: String, key: SigningKey) -> SignedNote {
        precondition(text.hasSuffix("\n") && isValidKeyName(name))
        let id = NoteKey.keyID(name: name, type: 0x01, publicKey: key.publicKey)
        return SignedNote(
            text: text, signatures: [Signature(name: name, keyID: id, bytes: key.signature(for: Array(text.utf8)))])
    }

    /// The note as served: text, blank line, one line per signature.
    package var serialized: String {
        var out = text + "\n"
        for signature in signatures {
            let idBytes = (0..<4).map { UInt8(truncatingIfNeeded: signature.keyID >> (24 - 8 * UInt32($0))) }
            out += "\u{2014} \(signature.name) \(Base64.encode(idBytes + signature.bytes))\n"
        }
        return out
    }

    package init(text: String, signatures: [Signature]) {
        self.text = text
        self.signatures = signatures
    }

    /// Parses a signed note; refuses control characters, a missing separator and malformed signature lines.
    package init(parsing bytes: [UInt8]) throws(NoteError) {
        guard bytes.count <= Self.maximumSize else { throw NoteError("the note is larger than 96 KiB") }
        guard let note = String(validating: bytes, as: UTF8.self) else { throw NoteError("the note is not UTF-8") }
        guard note.unicodeScalars.allSatisfy({ $0 == "\n" || $0.value >= 0x20 }) else {
            throw NoteError("the note holds a control character")
        }
        // The text ends at the last blank line (signature lines are never empty).
        guard bytes.last == 0x0A,
            let blank = bytes.indices.dropLast().last(where: { bytes[$0] == 0x0A && bytes[$0 + 1] == 0x0A })
        else { throw NoteError("the note has no blank line before its signatures") }
        let text = String(decoding: bytes[...blank], as: UTF8.self)
        let lines = String(decoding: bytes[(blank + 2)...], as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard !lines.isEmpty else { throw NoteError("the note has no signature") }
        guard lines.count <= Self.maximumSignatures else { throw NoteError("the note has too many signatures") }
        var signatures: [Signature] = []
        for line in lines {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 3, fields[0] == "\u{2014}", Self.isValidKeyName(String(fields[1])),
                let blob = Base64.decode(String(fields[2])), blob.count > 4
            else { throw NoteError("a signature line reads '\u{2014} <key name> <base64 signature>'") }
            let id = blob.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            signatures.append(Signature(name: String(fields[1]), keyID: id, bytes: Array(blob.dropFirst(4))))
        }
        self.init(text: text, signatures: signatures)
    }

    /// Checks the signatures by `key`: at least one must be present and every one must verify. Signatures
    /// by other keys are ignored, as the spec asks. Returns the newest cosignature's time (0 for a log's
    /// signature).
    @discardableResult
    package func verify(by key: NoteKey) throws(NoteError) -> UInt64 {
        let mine = signatures.filter { $0.name == key.name && $0.keyID == key.id }
        guard !mine.isEmpty else { throw NoteError("the note carries no signature by \(key.name)") }
        var newest: UInt64 = 0
        for signature in mine {
            let valid: Bool
            switch key.kind {
            case .ed25519:
                valid = key.publicKey.isValidSignature(signature.bytes, for: Array(text.utf8))
            case .cosignature:
                guard signature.bytes.count == 72 else {
                    throw NoteError("the cosignature by \(key.name) is not a timestamp and an Ed25519 signature")
                }
                let timestamp = signature.bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                valid =
                    timestamp < 1 << 63
                    && key.publicKey.isValidSignature(
                        Array(signature.bytes.dropFirst(8)), for: Cosignature.message(text: text, timestamp: timestamp))
                newest = max(newest, timestamp)
            }
            guard valid else { throw NoteError("the signature by \(key.name) does not verify") }
        }
        return newest
    }

    static func isValidKeyName(_ name: String) -> Bool {
        !name.isEmpty && isPrintable(name) && !name.unicodeScalars.contains { $0 == "+" || $0.properties.isWhitespace }
    }

    static func isPrintable(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0 != "\u{7F}" }
    }
}
