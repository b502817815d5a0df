#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// The parts of a stored envelope that replaying the log needs (the payload and who signed it), read without
/// building the envelope's JSON tree or decoding its signatures.
///
/// For envelopes the store accepted: they passed ``Envelope/decode(_:expectedPayloadType:)`` at ingest, and the
/// chain and signatures vouch that they have not changed since. Anything unexpected (a field twice, a value of
/// another kind, bytes past the end) gives nil, and the caller decodes strictly instead, so both paths always
/// agree on what an envelope means.
package struct EnvelopeSkim: Sendable, Equatable {
    /// The decoded payload bytes.
    package var payload: [UInt8]
    /// The signers' key ids: the author first, then the witnesses.
    package var signers: [KeyID]

    package static func read(_ bytes: [UInt8]) -> EnvelopeSkim? {
        bytes.withUnsafeBufferPointer { buffer in
            var scanner = Scanner(bytes: buffer)
            return scanner.envelope()
        }
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        mutating func envelope() -> EnvelopeSkim? {
            var payload: [UInt8]?
            var signers: [KeyID]?
            var sawType = false
            guard
                object({ scanner, key in
                    switch true {
                    case Self.matches(key, "payload"):
                        guard payload == nil, let text = scanner.string(), let decoded = Base64.decode(utf8: text),
                            !decoded.isEmpty
                        else { return false }
                        payload = decoded
                        return true
                    case Self.matches(key, "signatures"):
                        guard signers == nil, let found = scanner.signatures() else { return false }
                        signers = found
                        return true
                    case Self.matches(key, "payloadType"):
                        guard !sawType, let text = scanner.string(),
                            Self.matches(text, "application/vnd.vigil.event+json")
                        else { return false }
                        sawType = true
                        return true
                    default:
                        return false
                    }
                })
            else { return nil }
            skipWhitespace()
            guard index == bytes.count, sawType, let payload, let signers, !signers.isEmpty else { return nil }
            return EnvelopeSkim(payload: payload, signers: signers)
        }

        mutating func signatures() -> [KeyID]? {
            skipWhitespace()
            guard next() == UInt8(ascii: "[") else { return nil }
            var signers: [KeyID] = []
            skipWhitespace()
            if peek() == UInt8(ascii: "]") {
                index += 1
                return signers
            }
            while true {
                var keyID: KeyID?
                var sawSignature = false
                guard
                    object({ scanner, key in
                        switch true {
                        case Self.matches(key, "keyid"):
                            guard keyID == nil, let text = scanner.string(), let id = KeyID(lowercaseHex: text) else {
                                return false
                            }
                            keyID = id
                            return true
                        case Self.matches(key, "sig"):
                            guard !sawSignature, scanner.string() != nil else { return false }
                            sawSignature = true
                            return true
                        default:
                            return false
                        }
                    }), let keyID, sawSignature
                else { return nil }
                signers.append(keyID)
                skipWhitespace()
                switch next() {
                case UInt8(ascii: ","): skipWhitespace()
                case UInt8(ascii: "]"): return signers
                default: return nil
                }
            }
        }

        static func matches(_ key: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
            key.count == literal.utf8CodeUnitCount && memcmp(key.baseAddress!, literal.utf8Start, key.count) == 0
        }

        /// An object whose every member `member` reads (it returns false for a key it does not accept).
        mutating func object(_ member: (inout Scanner, UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
            skipWhitespace()
            guard next() == UInt8(ascii: "{") else { return false }
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                index += 1
                return true
            }
            while true {
                skipWhitespace()
                guard let key = string() else { return false }
                skipWhitespace()
                guard next() == UInt8(ascii: ":") else { return false }
                skipWhitespace()
                guard member(&self, key) else { return false }
                skipWhitespace()
                switch next() {
                case UInt8(ascii: ","): continue
                case UInt8(ascii: "}"): return true
                default: return false
                }
            }
        }

        /// The raw bytes of a string up to its closing quote. Base64, hex and the envelope's keys have no
        /// escapes; a string that had one would not match a key nor decode as base64 or hex, and then the
        /// caller decodes strictly.
        mutating func string() -> UnsafeBufferPointer<UInt8>? {
            guard next() == UInt8(ascii: "\""), index < bytes.count,
                let quote = memchr(bytes.baseAddress! + index, Int32(UInt8(ascii: "\"")), bytes.count - index)
            else { return nil }
            let start = index
            index = bytes.baseAddress!.distance(to: quote.assumingMemoryBound(to: UInt8.self)) + 1
            return UnsafeBufferPointer(rebasing: bytes[start..<(index - 1)])
        }

        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func next() -> UInt8? {
            guard index < bytes.count else { return nil }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }
    }
}
