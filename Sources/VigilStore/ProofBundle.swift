package import VigilModel

/// Everything needed to prove one event offline, with no database: the event's entry, the entries that
/// registered its signers' keys, an inclusion proof for each, and the checkpoint (with any witnesses'
/// cosignatures) the proofs lead to. docs/protocol.md specifies the JSON form.
///
/// Verification checks, in order: the checkpoint's signature by the log's key (and each witness key asked
/// for), each entry's leaf hash and inclusion proof against the checkpoint's root, each signer's registration,
/// and the event's signatures under the registered keys.
package struct ProofBundle: Sendable, Equatable {
    package static let format = "vigil-proof-bundle/1"

    /// One entry of the log with its inclusion proof in the checkpoint's tree.
    package struct Entry: Sendable, Equatable {
        package var position: Int64
        package var recordedAtMicros: Int64
        /// The envelope's exact stored bytes.
        package var envelope: [UInt8]
        /// The audit path of leaf `position - 1`, RFC 9162 order.
        package var inclusion: [[UInt8]]

        package init(position: Int64, recordedAtMicros: Int64, envelope: [UInt8], inclusion: [[UInt8]]) {
            self.position = position
            self.recordedAtMicros = recordedAtMicros
            self.envelope = envelope
            self.inclusion = inclusion
        }

        package var leafHash: [UInt8] {
            ChainHash.leafHash(position: position, recordedAt: recordedAtMicros, envelope: envelope)
        }
    }

    /// The checkpoint as a signed note, exactly as served (its cosignature lines included).
    package var checkpoint: [UInt8]
    package var event: Entry
    /// The `key.registered` entries of the event's signers (none for a signature by the log's own key).
    package var registrations: [Entry]

    package init(checkpoint: [UInt8], event: Entry, registrations: [Entry]) {
        self.checkpoint = checkpoint
        self.event = event
        self.registrations = registrations
    }

    // MARK: - JSON

    package var json: JSONValue {
        func entry(_ entry: Entry) -> JSONValue {
            .object(
                JSONObject([
                    "position": .number(JSONNumber(entry.position)),
                    "recordedAtMicros": .number(JSONNumber(entry.recordedAtMicros)),
                    "envelope": .string(Base64.encode(entry.envelope)),
                    "leafHash": .string(Base64.encode(entry.leafHash)),
                    "inclusion": .array(entry.inclusion.map { .string(Base64.encode($0)) }),
                ]))
        }
        return .object(
            JSONObject([
                "format": .string(Self.format),
                "checkpoint": .string(String(decoding: checkpoint, as: UTF8.self)),
                "event": entry(event),
                "registrations": .array(registrations.map(entry)),
            ]))
    }

    /// Reads a bundle; the message of a refusal names the field.
    package init(json bytes: [UInt8]) throws(BundleError) {
        do {
            let value: JSONValue
            do {
                value = try JSONParser.parse(bytes)
            } catch {
                throw BundleError("the bundle is not valid JSON")
            }
            let root = try ObjectReader(
                value, path: "", allowed: ["format", "checkpoint", "event", "registrations"])
            guard try root.string("format", maxLength: 64) == Self.format else {
                throw BundleError("the bundle is not a \(Self.format) bundle")
            }
            let checkpoint = Array(try root.string("checkpoint", maxLength: SignedNote.maximumSize).utf8)
            func entry(_ value: JSONValue, path: String) throws -> Entry {
                let object = try ObjectReader(
                    value, path: path, allowed: ["position", "recordedAtMicros", "envelope", "leafHash", "inclusion"])
                func base64(_ text: String, _ field: String) throws -> [UInt8] {
                    guard let bytes = Base64.decode(text) else { throw BundleError("\(path).\(field) is not base64") }
                    return bytes
                }
                let hashes = try object.array("inclusion", maxCount: 64).enumerated().map { index, item in
                    guard case .string(let text) = item, let hash = Base64.decode(text), hash.count == 32 else {
                        throw BundleError("\(path).inclusion[\(index)] is not a base64 SHA-256 hash")
                    }
                    return hash
                }
                let entry = Entry(
                    position: Int64(try object.integer("position", in: 1...Int.max)),
                    recordedAtMicros: Int64(try object.integer("recordedAtMicros", in: 0...Int.max)),
                    envelope: try base64(try object.string("envelope", maxLength: 1 << 24), "envelope"),
                    inclusion: hashes)
                // The leaf hash is written for readers' convenience; it must be the one the fields give.
                guard try base64(try object.string("leafHash", maxLength: 44), "leafHash") == entry.leafHash else {
                    throw BundleError(
                        "\(path).leafHash is not the hash of its position, recordedAtMicros and envelope (one was altered)"
                    )
                }
                return entry
            }
            let event = try entry(try root.required("event"), path: "event")
            let registrations = try root.array("registrations", maxCount: Envelope.maximumSignatures).enumerated()
                .map { try entry($0.element, path: "registrations[\($0.offset)]") }
            self.init(checkpoint: checkpoint, event: event, registrations: registrations)
        } catch let error as BundleError {
            throw error
        } catch let error as FieldError {
            throw BundleError("the bundle's \(error)")
        } catch {
            throw BundleError("the bundle cannot be read: \(error)")
        }
    }

    // MARK: - Verification

    /// What a bundle proved.
    package struct Proved: Sendable {
        package var checkpoint: LogCheckpoint
        package var position: Int64
        package var eventID: EventID
        package var eventType: String
        /// The signers, author first: printed name and role as registered, or the log's own key.
        package var signers: [String]
        /// The witnesses (by key name) whose cosignatures verified.
        package var witnesses: [String]
    }

    /// Checks the bundle against the log's key and, for each of `witnessKeys`, that witness's cosignature.
    package func verify(logKey: NoteKey, witnessKeys: [NoteKey] = []) throws(BundleError) -> Proved {
        // The checkpoint: signed by the log, cosigned by every witness asked for.
        let note: SignedNote
        let statement: LogCheckpoint
        do {
            note = try SignedNote(parsing: checkpoint)
            statement = try LogCheckpoint(text: note.text)
        } catch {
            throw BundleError("checkpoint: \(error)")
        }
        guard statement.origin == logKey.name else {
            throw BundleError("checkpoint: it is for the log \(statement.origin), not \(logKey.name)")
        }
        do {
            try note.verify(by: logKey)
        } catch {
            throw BundleError("checkpoint: \(error)")
        }
        var witnesses: [String] = []
        for witness in witnessKeys {
            do {
                try note.verify(by: witness)
            } catch {
                throw BundleError("checkpoint: witness \(witness.name): \(error)")
            }
            witnesses.append(witness.name)
        }

        // Every entry is in the tree the checkpoint names.
        for (label, entry) in [("event", event)] + registrations.enumerated().map({ ("registrations[\($0)]", $1) }) {
            guard entry.position <= Int64(statement.size) else {
                throw BundleError(
                    "\(label): position \(entry.position) is past the checkpoint's \(statement.size) entries")
            }
            guard
                MerkleTree.verifyInclusion(
                    leafHash: entry.leafHash, index: UInt64(entry.position - 1), size: statement.size,
                    proof: entry.inclusion, root: statement.rootHash)
            else {
                throw BundleError(
                    "\(label): the inclusion proof of position \(entry.position) does not lead to the checkpoint's root (the entry or the proof was altered)"
                )
            }
        }

        // The signers' keys, as the log registered them before the event.
        var keys: [KeyID: (key: VerifyingKey, who: String)] = [logKey.publicKey.id: (logKey.publicKey, "the log's key")]
        for (index, registration) in registrations.enumerated() {
            let label = "registrations[\(index)]"
            guard registration.position < event.position else {
                throw BundleError("\(label): the key was registered at \(registration.position), after the event")
            }
            guard let envelope = try? Envelope.decode(registration.envelope),
                let payload = try? EventPayload.decode(envelope.payload, context: .replay),
                case .keyRegistered(let body) = payload.data,
                let key = try? VerifyingKey(rawRepresentation: body.publicKey)
            else { throw BundleError("\(label): not a key.registered event") }
            keys[key.id] = (key, "\(body.name) (\(body.role.rawValue))")
        }

        // The event's signatures.
        let envelope: Envelope
        let payload: EventPayload
        do {
            envelope = try Envelope.decode(event.envelope)
            payload = try EventPayload.decode(envelope.payload, context: .replay)
        } catch {
            throw BundleError("event: the envelope does not decode: \(error)")
        }
        var signers: [String] = []
        for signature in envelope.signatures {
            guard let signer = keys[signature.keyID] else {
                throw BundleError("event: signed by key \(signature.keyID.short), which the bundle does not register")
            }
            guard signer.key.isValidSignature(signature.signature, for: envelope.pae) else {
                throw BundleError("event: the signature by \(signer.who) does not verify")
            }
            signers.append(signer.who)
        }
        return Proved(
            checkpoint: statement, position: event.position, eventID: payload.id,
            eventType: payload.type.rawValue, signers: signers, witnesses: witnesses)
    }
}

/// Why a bundle does not prove what it claims, naming the part that broke.
package struct BundleError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
