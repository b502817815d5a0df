/// A key the configuration trusts without a log entry: an admin root of trust, or the daemon's own key.
package struct TrustAnchor: Sendable, Equatable {
    package var publicKey: [UInt8]
    package var role: Role
    package var name: String

    package init(publicKey: [UInt8], role: Role, name: String) {
        self.publicKey = publicKey
        self.role = role
        self.name = name
    }

    package var keyID: KeyID { KeyID(publicKey: publicKey) }
}

/// A key known to the registry, with its standing.
package struct RegisteredKey: Sendable {
    package enum Origin: Sendable, Equatable {
        /// Trusted through the configuration (admin anchors, the daemon key).
        case anchor
        /// Registered by a `key.registered` event at this position.
        case registered(position: Int64)
    }

    package let key: VerifyingKey
    /// The holder's printed name.
    package let name: String
    package let role: Role
    package let origin: Origin
    /// The position of the `key.revoked` event, if any. Signatures are refused from that position on.
    package fileprivate(set) var revokedAt: Int64?

    package var id: KeyID { key.id }
}

/// Who may sign what, derived from the trust anchors and the key events of the log.
///
/// A pure state machine: ``authorize(_:payload:)`` checks an event against the state as it stands, and
/// ``apply(_:at:)`` advances the state once the event is stored. The writer runs it in log order, and the
/// offline verifier replays it the same way, so both reach the same verdict at every position.
package struct KeyRegistry: Sendable {
    package private(set) var keys: [KeyID: RegisteredKey] = [:]

    package init(anchors: [TrustAnchor] = []) {
        for anchor in anchors {
            add(anchor: anchor)
        }
    }

    /// Adds (or re-adds) a configured anchor. A key already in the registry keeps its standing.
    package mutating func add(anchor: TrustAnchor) {
        guard let key = try? VerifyingKey(rawRepresentation: anchor.publicKey), keys[key.id] == nil else { return }
        keys[key.id] = RegisteredKey(key: key, name: anchor.name, role: anchor.role, origin: .anchor, revokedAt: nil)
    }

    /// Removes an anchor the configuration no longer lists. Keys registered in the log are never removed, and
    /// neither is a revoked anchor: revocation is final, even if the configuration names the key again.
    package mutating func remove(anchor id: KeyID) {
        if let key = keys[id], key.origin == .anchor, key.revokedAt == nil { keys[id] = nil }
    }

    package subscript(id: KeyID) -> RegisteredKey? { keys[id] }

    /// The public key for an id, whatever its standing (a revoked key's old signatures still verify).
    package func verifyingKey(for id: KeyID) -> VerifyingKey? { keys[id]?.key }

    /// Checks that every signer may sign this event now, and that a key event makes sense.
    ///
    /// Signatures must already have been verified cryptographically (``Envelope/verifySignatures(keys:)``).
    package func authorize(_ envelope: Envelope, payload: EventPayload) throws(IngestError) {
        let type = payload.type
        let author = try standing(of: envelope.author.keyID, as: "author")
        guard type.authorRoles.contains(author.role) else {
            throw IngestError(
                .forbiddenType, "a \(author.role.rawValue) key (\(author.id.short)) may not author \(type.rawValue)")
        }
        if !envelope.witnesses.isEmpty && !type.takesWitnesses {
            throw IngestError(.forbiddenType, "\(type.rawValue) takes no witness signatures")
        }
        for signature in envelope.witnesses {
            let witness = try standing(of: signature.keyID, as: "witness")
            guard EventType.witnessRoles.contains(witness.role) else {
                throw IngestError(
                    .forbiddenType,
                    "a \(witness.role.rawValue) key (\(witness.id.short)) may not witness \(type.rawValue)")
            }
        }
        switch payload.data {
        case .keyRegistered(let body):
            if let existing = keys[body.keyID] {
                let state = existing.revokedAt.map { "was revoked at position \($0)" } ?? "is already registered"
                throw IngestError(
                    .invalidEvent, "data.publicKey: key \(existing.id.short) \(state); rotate by registering a new key")
            }
        case .keyRevoked(let body):
            guard let target = keys[body.keyID] else {
                throw IngestError(.invalidEvent, "data.keyid: key \(body.keyID.short) is not registered")
            }
            if let revokedAt = target.revokedAt {
                throw IngestError(
                    .invalidEvent, "data.keyid: key \(target.id.short) was already revoked at position \(revokedAt)")
            }
        default:
            break
        }
    }

    private func standing(of id: KeyID, as part: String) throws(IngestError) -> RegisteredKey {
        guard let key = keys[id] else {
            throw IngestError(.unknownKey, "the \(part) key \(id.short) is not registered")
        }
        if let revokedAt = key.revokedAt {
            throw IngestError(.revokedKey, "the \(part) key \(id.short) was revoked at position \(revokedAt)")
        }
        return key
    }

    /// Advances the registry past a stored event.
    package mutating func apply(_ payload: EventPayload, at position: Int64) {
        if let change = KeyChange(payload) { apply(change, at: position) }
    }

    /// Advances the registry past a stored key event.
    package mutating func apply(_ change: KeyChange, at position: Int64) {
        switch change {
        case .registered(let body):
            guard keys[body.keyID] == nil, let key = try? VerifyingKey(rawRepresentation: body.publicKey) else {
                return
            }
            keys[key.id] = RegisteredKey(
                key: key, name: body.name, role: body.role, origin: .registered(position: position), revokedAt: nil)
        case .revoked(let id):
            if keys[id] != nil, keys[id]?.revokedAt == nil {
                keys[id]?.revokedAt = position
            }
        }
    }
}

/// The part of a key event that changes the registry.
package enum KeyChange: Sendable, Equatable {
    case registered(KeyRegistered)
    case revoked(KeyID)

    package init?(_ payload: EventPayload) {
        switch payload.data {
        case .keyRegistered(let body): self = .registered(body)
        case .keyRevoked(let body): self = .revoked(body.keyID)
        default: return nil
        }
    }
}

extension Envelope {
    /// Verifies every signature against the public key its key id names.
    ///
    /// - Parameter keys: resolves a key id to its public key (any key ever registered, revoked or not).
    /// - Throws: `unknown_key` when a key id resolves to nothing, `bad_signature` when a signature fails.
    package func verifySignatures(keys: (KeyID) -> VerifyingKey?) throws(IngestError) {
        var resolved: [VerifyingKey] = []
        resolved.reserveCapacity(signatures.count)
        for (index, signature) in signatures.enumerated() {
            guard let key = keys(signature.keyID) else {
                let part = index == 0 ? "author" : "witness"
                throw IngestError(.unknownKey, "the \(part) key \(signature.keyID.short) is not registered")
            }
            resolved.append(key)
        }
        let message = pae
        for (index, signature) in signatures.enumerated()
        where !resolved[index].isValidSignature(signature.signature, for: message) {
            let part = index == 0 ? "author's" : "witness"
            throw IngestError(.badSignature, "the \(part) signature by key \(signature.keyID.short) does not verify")
        }
    }
}
