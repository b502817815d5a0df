/// Why an envelope was refused, with a stable code a client can act on.
///
/// The message is for people. It names fields, positions and key ids, never payload values: a clinical
/// value must not leak into logs or error bodies.
package struct IngestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable, documented codes (docs/protocol.md §4, "Errors"). Their raw values are the wire form.
    package enum Code: String, Sendable, CaseIterable {
        /// Not a DSSE envelope: bad JSON, bad base64, missing or unknown envelope fields, wrong payloadType.
        case malformedEnvelope = "malformed_envelope"
        /// The payload is not a valid event: schema, ranges, times, references.
        case invalidEvent = "invalid_event"
        /// A signature names a key that is not registered (at that point in the log).
        case unknownKey = "unknown_key"
        /// A signature names a key that was revoked.
        case revokedKey = "revoked_key"
        /// A signature does not verify.
        case badSignature = "bad_signature"
        /// The signer's role may not author (or witness) this event type.
        case forbiddenType = "forbidden_type"
        /// The event id is already stored with other bytes.
        case conflict = "conflict"
        /// The request or envelope is larger than allowed.
        case tooLarge = "too_large"
        /// The store cannot take writes now (disk full, shutting down, integrity hold). Retry later.
        case unavailable = "unavailable"
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(code.rawValue): \(message)" }
}

/// A field that failed validation, named by its path in the payload (`data.systolic`, `data.phq9[8]`).
package struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
    package var path: String
    package var reason: String

    package init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    package var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
}
