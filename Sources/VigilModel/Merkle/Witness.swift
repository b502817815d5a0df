/// A C2SP tlog-witness `add-checkpoint` request: the size of the last checkpoint the witness cosigned, a
/// consistency proof from it, and the new checkpoint (a signed note).
///
///     old <size>\n<base64 hash>\n...\n\n<checkpoint note>
package struct AddCheckpointRequest: Sendable, Equatable {
    package var oldSize: UInt64
    package var proof: [[UInt8]]
    package var checkpoint: [UInt8]

    /// The spec allows at most 63 proof lines.
    package static let maximumProofHashes = 63

    package init(oldSize: UInt64, proof: [[UInt8]], checkpoint: [UInt8]) {
        self.oldSize = oldSize
        self.proof = proof
        self.checkpoint = checkpoint
    }

    package var body: [UInt8] {
        var text = "old \(oldSize)\n"
        for hash in proof { text += Base64.encode(hash) + "\n" }
        return Array((text + "\n").utf8) + checkpoint
    }

    package init(parsing body: [UInt8]) throws(NoteError) {
        guard let blank = body.indices.dropLast().first(where: { body[$0] == 0x0A && body[$0 + 1] == 0x0A }) else {
            throw NoteError("the request has no blank line before the checkpoint")
        }
        let lines = String(decoding: body[...blank], as: UTF8.self).split(separator: "\n")
        guard let first = lines.first, first.hasPrefix("old "), let size = UInt64(first.dropFirst(4)),
            String(size) == first.dropFirst(4)
        else { throw NoteError("the request's first line is not 'old <size>'") }
        guard lines.count - 1 <= Self.maximumProofHashes else { throw NoteError("the proof has more than 63 hashes") }
        var proof: [[UInt8]] = []
        for line in lines.dropFirst() {
            guard let hash = Base64.decode(String(line)), hash.count == 32 else {
                throw NoteError("a proof line is not a base64 SHA-256 hash")
            }
            proof.append(hash)
        }
        self.init(oldSize: size, proof: proof, checkpoint: Array(body[(blank + 2)...]))
    }
}

/// What a witness keeps per log: the size and root of the last checkpoint it cosigned.
package struct WitnessedTree: Sendable, Equatable {
    package var size: UInt64
    package var rootHash: [UInt8]

    package init(size: UInt64, rootHash: [UInt8]) {
        self.size = size
        self.rootHash = rootHash
    }
}

/// The decisions of a C2SP tlog-witness over one `add-checkpoint` request, apart from HTTP and storage.
package enum WitnessRules {
    /// Why a witness refuses a checkpoint, as the spec maps it to HTTP.
    package enum Refusal: Error, Sendable, Equatable {
        /// 400: the request is malformed, or the old size is past the checkpoint's.
        case badRequest(String)
        /// 403: no signature by a key the witness trusts for this origin.
        case untrusted(String)
        /// 404: the witness follows no log of this origin.
        case unknownLog(String)
        /// 409: the old size is not the size the witness last cosigned (given), or a checkpoint of the same size
        /// names another root.
        case conflict(latestSize: UInt64, String)
        /// 422: the consistency proof does not verify: the log is not an extension of what the witness saw.
        case inconsistent(String)
    }

    /// Checks `request` against the logs the witness trusts and what it last cosigned for the origin; returns
    /// the checkpoint to cosign (and to record as the latest) when everything holds.
    package static func check(
        _ request: AddCheckpointRequest, trusted: [NoteKey], latest: (String) -> WitnessedTree?
    ) throws(Refusal) -> (origin: String, note: SignedNote, tree: WitnessedTree) {
        let note: SignedNote
        let checkpoint: LogCheckpoint
        do {
            note = try SignedNote(parsing: request.checkpoint)
            checkpoint = try LogCheckpoint(text: note.text)
        } catch {
            throw .badRequest("the checkpoint cannot be read: \(error)")
        }
        let keys = trusted.filter { $0.name == checkpoint.origin && $0.kind == .ed25519 }
        guard !keys.isEmpty else { throw .unknownLog("this witness follows no log named \(checkpoint.origin)") }
        guard keys.contains(where: { (try? note.verify(by: $0)) != nil }) else {
            throw .untrusted("no signature by a key this witness trusts for \(checkpoint.origin) verifies")
        }
        guard request.oldSize <= checkpoint.size else {
            throw .badRequest("the old size \(request.oldSize) is past the checkpoint's \(checkpoint.size)")
        }
        let previous = latest(checkpoint.origin)
        let previousSize = previous?.size ?? 0
        guard request.oldSize == previousSize else {
            throw .conflict(latestSize: previousSize, "the last checkpoint cosigned has size \(previousSize)")
        }
        let tree = WitnessedTree(size: checkpoint.size, rootHash: checkpoint.rootHash)
        if let previous, previous.size == checkpoint.size {
            guard previous.rootHash == checkpoint.rootHash else {
                throw .conflict(latestSize: previous.size, "a checkpoint of this size with another root was cosigned")
            }
            guard request.proof.isEmpty else { throw .inconsistent("a proof between equal sizes must be empty") }
        } else if let previous, previous.size > 0 {
            guard
                MerkleTree.verifyConsistency(
                    first: previous.size, second: checkpoint.size, firstRoot: previous.rootHash,
                    secondRoot: checkpoint.rootHash, proof: request.proof)
            else {
                throw .inconsistent(
                    "the consistency proof from \(previous.size) to \(checkpoint.size) does not verify: this log does not extend the one cosigned"
                )
            }
        } else if !request.proof.isEmpty {
            throw .inconsistent("a proof from the empty tree must be empty")
        }
        return (checkpoint.origin, note, tree)
    }
}
