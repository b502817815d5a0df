import Dispatch
import Foundation
import GRDB
import Synchronization
import VigilModel

// Signed heads: each must lie on the chain and verify with a daemon key of its time; and the quick start
// from the last one.

extension LogVerifier.Run {
    /// The daemon keys that may have signed a statement about the log at `size`: those in force before
    /// the changes recorded at that size, and those the changes added (a key rotated at a restart).
    func daemonKeys(atSize size: Int64) -> [TrustAnchor] {
        let before = RegistryReplay.currentAnchors(anchorChanges.filter { $0.logSize < size }).values
        let addedAtSize = anchorChanges.filter { $0.logSize == size && $0.kind == .added }.map(\.anchor)
        return (Array(before) + addedAtSize).filter { $0.role == .daemon }
    }

    /// Why a signed head's envelope is not a valid statement by a daemon key of its time, or nil.
    func problem(with head: SignedHeadRow) -> String? {
        guard let envelope = try? Envelope.decode(head.envelope, expectedPayloadType: Envelope.headPayloadType),
            let signed = try? SignedHead.decode(payload: envelope.payload),
            signed.size == head.size, signed.chainHash == head.chainHash
        else {
            return "the signed head of size \(head.size) is malformed"
        }
        let valid = daemonKeys(atSize: head.size).contains { anchor in
            guard let key = try? VerifyingKey(rawRepresentation: anchor.publicKey),
                envelope.signatures.first?.keyID == key.id
            else { return false }
            return key.isValidSignature(envelope.signatures[0].signature, for: envelope.pae)
        }
        return valid
            ? nil : "the head signed at size \(head.size) does not carry a valid signature of the daemon's key"
    }

    /// Every head the daemon signed (since the start of this check) must lie on this chain, and its
    /// signature must verify.
    mutating func checkSignedHeads() -> Int {
        var checked = 0
        let size = expected - 1
        for head in signedHeads {
            guard head.size <= size else {
                fail(
                    size + 1,
                    "the log holds \(size) entries but the daemon signed a head of size \(head.size): entries were removed"
                )
                continue
            }
            guard chainAtSize[head.size] == head.chainHash else {
                fail(
                    max(head.size, 1), "the chain hash differs from the head the daemon signed at size \(head.size)"
                )
                continue
            }
            if options.checkSignatures, let problem = problem(with: head) {
                fail(max(head.size, 1), problem)
                continue
            }
            checked += 1
        }
        return checked
    }

    /// Starts after a signed head: its entry must carry the signed chain hash; the key registry is
    /// replayed from the key events of the log before it (read from their envelopes, not from the copy).
    mutating func start(at head: SignedHeadRow) throws {
        if let problem = problem(with: head) {
            fail(head.size, problem)
            return
        }
        guard let entry = try log.rawEntries(after: head.size - 1, limit: 1).first, entry.position == head.size
        else {
            fail(
                head.size,
                "the log holds fewer entries than the head of size \(head.size) the daemon signed: entries were removed"
            )
            return
        }
        guard entry.chainHash == head.chainHash else {
            fail(head.size, "the chain hash differs from the head the daemon signed at size \(head.size)")
            return
        }
        chain = head.chainHash
        chainAtSize[head.size] = head.chainHash
        if tree != nil {
            // The stored tree up to the head; the checkpoint signed with the head vouches for its root
            // (checked with the others at the end).
            do {
                let start = try MerkleFrontier(size: UInt64(head.size), source: StoredNodes(log.nodes))
                tree = start
                rootAtSize[head.size] = start.root
            } catch {
                fail(head.size, "the Merkle tree up to the signed head cannot be read: \(error)")
                return
            }
        }
        expected = head.size + 1
        lastRecordedAt = entry.recordedAt
        let positions = try log.keyEvents().map(\.position).filter { $0 <= head.size }
        for position in positions {
            guard let keyEntry = try log.rawEntries(after: position - 1, limit: 1).first,
                keyEntry.position == position,
                let envelope = try? Envelope.decode(keyEntry.envelope),
                let payload = try? EventPayload.decode(envelope.payload, context: .replay),
                let change = KeyChange(payload)
            else {
                fail(position, "the key_events table names a key event the log does not hold")
                return
            }
            replay.advance(to: position)
            derivedKeyChanges[position] = change
            replay.apply(change, at: position)
        }
    }
}
