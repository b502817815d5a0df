import Dispatch
import Foundation
import GRDB
import GRDBSQLite
import Synchronization
package import VigilModel

/// The first thing found wrong in a log, and where.
package struct VerificationFailure: Sendable, Equatable, CustomStringConvertible {
    /// The first position that does not hold (for a truncated log, the first missing position).
    package var position: Int64
    package var reason: String

    package var description: String { "position \(position): \(reason)" }

    package init(position: Int64, reason: String) {
        self.position = position
        self.reason = reason
    }
}

/// What an offline verification found.
package struct VerificationReport: Sendable {
    /// Entries read and checked.
    package var entriesChecked: Int64
    /// Signatures verified (0 when signatures were not checked).
    package var signaturesChecked: Int64
    /// Heads signed by the daemon that were checked against the chain.
    package var signedHeadsChecked: Int
    /// Checkpoints that were checked against the Merkle tree recomputed from the entries.
    package var checkpointsChecked = 0
    /// The head as recomputed (size and chain hash of the last good entry).
    package var head: LogHead
    /// The first failure, or nil if the whole log holds.
    package var failure: VerificationFailure?
    /// In a check from the last signed head: the head's size (entries up to it were not rehashed).
    package var startedAfter: Int64 = 0
    /// Seconds spent checking, and from start to end (pauses included, when the check was paced).
    package var busySeconds: Double = 0
    package var elapsedSeconds: Double = 0

    package var isValid: Bool { failure == nil }
}

/// Verifies a store file without the daemon: every leaf and chain hash, every signature against the key
/// history of the log, the signers' standing at each position, the stored Merkle tree, and the heads and
/// checkpoints the daemon signed.
///
/// Works on a read-only connection, so it can run beside a live daemon (it checks the log as of the moment it
/// started, without holding a read transaction for the whole check: ``SQLiteSnapshot``) or on a backup copy.
package enum LogVerifier {
    package struct Options: Sendable {
        /// Re-verify every signature and the signers' standing (otherwise hashes and positions only).
        package var checkSignatures = true
        /// Trust anchors to verify with, in force from position 1. Nil: the anchor history recorded in the file.
        package var anchors: [TrustAnchor]? = nil
        /// Entries per chunk; signatures of a chunk are verified in parallel on every core.
        package var chunkSize = 4096
        /// Start at the last head the daemon signed instead of position 1: that head's signature and chain
        /// hash vouch for the entries before it, and only the entries after it are rehashed and their
        /// signatures verified (the quick check at start-up and in the background).
        package var fromLastSignedHead = false
        /// At most this share of one core (0-1), on the calling thread alone: after each chunk the check
        /// pauses long enough that its work stays under the share, so a check in the background never takes
        /// the machine from the requests. Nil: every core, as fast as it can (an offline check, the start).
        package var share: Double? = nil
        /// Called on the checking thread after each chunk with the position verified through (hashes and
        /// positions; that chunk's signatures are still being checked): for a long check's progress report.
        package var progress: (@Sendable (_ position: Int64) -> Void)? = nil

        package init(
            checkSignatures: Bool = true, anchors: [TrustAnchor]? = nil, fromLastSignedHead: Bool = false,
            share: Double? = nil, progress: (@Sendable (_ position: Int64) -> Void)? = nil
        ) {
            self.checkSignatures = checkSignatures
            self.anchors = anchors
            self.fromLastSignedHead = fromLastSignedHead
            self.share = share
            self.progress = progress
            if share != nil { chunkSize = 256 }
        }
    }

    package static func verify(path: String, options: Options = Options()) throws(StoreError) -> VerificationReport {
        let database = try LogReader.openReadOnly(path, label: "vigil.verify")
        defer { try? database.close() }
        do {
            var run = try Run(log: SQLiteSnapshot(database), options: options)
            return try run.verify()
        } catch {
            throw StoreError(error, while: "cannot read \(path)")
        }
    }

    /// One signature to check: the key, the message (shared by all signatures of an envelope), where.
    struct PendingSignature: Sendable {
        let key: VerifyingKey
        let message: Int
        let signature: [UInt8]
        let position: Int64
    }

    /// The first position whose signature failed, among those verified on other threads.
    final class SignatureVerdict: Sendable {
        let firstBad = Mutex<Int64>(.max)
    }

    /// Verifies the log `snapshot` reads (one consistent view of it, whichever database holds it).
    package static func verify(_ snapshot: some LogSnapshot, options: Options = Options()) throws -> VerificationReport
    {
        var run = try Run(log: snapshot, options: options)
        return try run.verify()
    }

    struct Run {
        let log: any LogSnapshot
        /// The size of the signed head this check started after (0: from the first entry).
        var startedAfter: Int64 = 0
        /// Signatures being verified on other threads.
        var inFlight: (group: DispatchGroup, verdict: SignatureVerdict)?
        let options: Options
        var replay: RegistryReplay
        var expected: Int64 = 1
        var chain = ChainHash.zero
        var lastRecordedAt: Int64 = 0
        var failure: VerificationFailure?
        var signaturesChecked: Int64 = 0
        /// Key changes derived from the log, to compare with the key_events copy.
        var derivedKeyChanges: [Int64: KeyChange] = [:]
        /// Chain hashes at the sizes the daemon signed.
        typealias SignedHeadRow = LogSnapshotSignedHead
        /// The heads signed at or after the size this check starts from (a check from the last signed head
        /// reads none of the older ones, which grow by one a minute).
        var signedHeads: [SignedHeadRow] = []
        var chainAtSize: [Int64: [UInt8]] = [:]
        let anchorChanges: [AnchorChange]
        /// The Merkle tree recomputed from the leaf hashes, compared with the stored nodes as they complete
        /// (nil for a store from before the tree).
        var tree: MerkleFrontier?
        typealias CheckpointRow = LogSnapshotCheckpoint
        /// The checkpoints at or after the size this check starts from, like the signed heads.
        var checkpoints: [CheckpointRow] = []
        var rootAtSize: [Int64: [UInt8]] = [0: MerkleTree.emptyRoot]
        var checkpointSizes: Set<Int64> = []

        init(log: any LogSnapshot, options: Options) throws {
            self.log = log
            self.options = options
            let recorded = try log.anchorChanges()
            if let anchors = options.anchors {
                // The auditor's own anchors replace the recorded admin anchors; the daemon's key history
                // (needed for alerts and signed heads) still comes from the file.
                anchorChanges =
                    anchors.map { AnchorChange(logSize: 0, anchor: $0, kind: .added) }
                    + recorded.filter { $0.anchor.role == .daemon }
            } else {
                anchorChanges = recorded
            }
            replay = RegistryReplay(anchorChanges: anchorChanges)
            chainAtSize[0] = ChainHash.zero
            if try log.hasTree() { tree = MerkleFrontier() }
        }

        /// Reads the signed heads and checkpoints this check compares with: those of `size` entries or more.
        mutating func loadStatements(from size: Int64) throws {
            signedHeads = try log.signedHeads(fromSize: size)
            guard tree != nil else { return }
            checkpoints = try log.checkpoints(fromSize: size)
            checkpointSizes = Set(checkpoints.map(\.size))
        }

        mutating func fail(_ position: Int64, _ reason: String) {
            if failure == nil || position < failure!.position {
                failure = VerificationFailure(position: position, reason: reason)
            }
        }

        mutating func verify() throws -> VerificationReport {
            let clock = ContinuousClock()
            let started = clock.now
            var busy = Duration.zero
            var after: Int64 = 0
            if options.fromLastSignedHead,
                let last = try log.largestSignedHead(), last.size > 0
            {
                try start(at: last)
                after = last.size
                startedAfter = last.size
            }
            try loadStatements(from: startedAfter)
            let wantedSizes = Set(signedHeads.map(\.size))
            chunks: while failure == nil {
                let chunkStarted = clock.now
                defer {
                    let spent = clock.now - chunkStarted
                    busy += spent
                    // Paced: pause so that the work stays under its share of one core.
                    if let share = options.share, share > 0, share < 1 {
                        Thread.sleep(forTimeInterval: (spent / .seconds(1)) * (1 / share - 1))
                    }
                }
                let entries = try log.rawEntries(after: after, limit: options.chunkSize)
                if entries.isEmpty { break }
                // Hashing and decoding need nothing but the entry and its predecessor: on every core (or on
                // this thread alone, paced). The positions, the registry and the signers' standing follow in
                // order; then the signatures, on every core.
                let checkSignatures = options.checkSignatures
                let prepared =
                    options.share == nil
                    ? Parallel.mapBlocking(Array(entries.indices), minimumChunk: 256) {
                        Prepared(entries, at: $0, decoding: checkSignatures)
                    } : entries.indices.map { Prepared(entries, at: $0, decoding: checkSignatures) }
                var messages: [[UInt8]] = []
                var pending: [PendingSignature] = []
                for (entry, prepared) in zip(entries, prepared) {
                    guard check(entry, prepared, messages: &messages, pending: &pending) else { break }
                    if wantedSizes.contains(entry.position) { chainAtSize[entry.position] = chain }
                }
                // This chunk's signatures are verified on other threads while the next chunk is read and
                // checked here; the previous chunk's verdict is collected first.
                finishVerifying()
                if options.checkSignatures { startVerifying(pending, messages: messages) }
                if failure != nil { break chunks }
                after = entries.last!.position
                options.progress?(after)
            }
            finishVerifying()
            if failure == nil { try compareKeyEvents() }
            let headsChecked = failure == nil ? checkSignedHeads() : 0
            let checkpointsChecked = failure == nil ? try checkTree() : 0
            let size = expected - 1
            return VerificationReport(
                entriesChecked: size - startedAfter, signaturesChecked: signaturesChecked,
                signedHeadsChecked: headsChecked, checkpointsChecked: checkpointsChecked,
                head: LogHead(size: size, chainHash: chain, lastRecordedAt: lastRecordedAt), failure: failure,
                startedAfter: startedAfter, busySeconds: busy / .seconds(1),
                elapsedSeconds: (clock.now - started) / .seconds(1)
            )
        }

        typealias RawEntry = LogSnapshotEntry

        /// What can be worked out from one entry and its predecessor's stored chain hash: its leaf hash, the
        /// chain hash that follows from them and, when signatures are checked, the decoded envelope and payload.
        ///
        /// Checking each stored chain hash against its predecessor's stored one proves the whole chain by
        /// induction, once the check in order has found every entry's predecessor intact.
        struct Prepared {
            let leaf: [UInt8]
            /// The chain hash after this entry, if the entry had the chunk's previous entry before it.
            let chain: [UInt8]?
            let decoded: Result<(Envelope, EventPayload), any Error>?

            init(_ entries: [RawEntry], at index: Int, decoding: Bool) {
                let entry = entries[index]
                leaf = ChainHash.leafHash(
                    position: entry.position, recordedAt: entry.recordedAt, envelope: entry.envelope)
                chain = index > 0 ? ChainHash.chainHash(previous: entries[index - 1].chainHash, leaf: leaf) : nil
                decoded =
                    decoding
                    ? Result {
                        let envelope = try Envelope.decode(entry.envelope)
                        return (envelope, try EventPayload.decode(envelope.payload, context: .replay))
                    } : nil
            }
        }

        /// Checks one entry's place, hashes and (optionally) authorisation; queues its signatures.
        mutating func check(
            _ entry: RawEntry, _ prepared: Prepared, messages: inout [[UInt8]], pending: inout [PendingSignature]
        ) -> Bool {
            let position = entry.position
            guard position == expected else {
                fail(
                    expected,
                    position > expected
                        ? "missing: the log jumps from position \(expected - 1) to \(position)" : "out of order")
                return false
            }
            let leaf = prepared.leaf
            guard leaf == entry.leafHash else {
                fail(
                    position,
                    "the leaf hash does not match the entry's bytes (the envelope, position or recordedAt was altered)")
                return false
            }
            // Within a chunk the previous entry passed this check, so its stored chain hash is `chain`.
            let next = prepared.chain ?? ChainHash.chainHash(previous: chain, leaf: leaf)
            guard next == entry.chainHash else {
                fail(position, "the chain hash does not follow from the previous entry")
                return false
            }
            if entry.recordedAt < lastRecordedAt {
                fail(position, "recordedAt goes backwards")
                return false
            }
            chain = next
            lastRecordedAt = entry.recordedAt
            expected += 1
            guard extendTree(leaf, at: position) else { return false }
            guard let decoded = prepared.decoded else { return true }

            let envelope: Envelope
            let payload: EventPayload
            do {
                (envelope, payload) = try decoded.get()
            } catch {
                fail(position, "the stored event does not decode: \(error)")
                return false
            }
            guard payload.id.bytes == entry.eventID else {
                fail(position, "the event_id column does not match the payload's id")
                return false
            }
            replay.advance(to: position)
            var keys: [VerifyingKey] = []
            for signature in envelope.signatures {
                guard let key = replay.registry.verifyingKey(for: signature.keyID) else {
                    fail(position, "signed by key \(signature.keyID.short), unknown at this position")
                    return false
                }
                keys.append(key)
            }
            do {
                try replay.registry.authorize(envelope, payload: payload)
            } catch {
                fail(position, "the signer was not authorised at this position: \(error)")
                return false
            }
            messages.append(envelope.pae)
            for (index, signature) in envelope.signatures.enumerated() {
                pending.append(
                    PendingSignature(
                        key: keys[index], message: messages.count - 1, signature: signature.signature,
                        position: position))
            }
            if let change = KeyChange(payload) {
                derivedKeyChanges[position] = change
                replay.apply(change, at: position)
            }
            return true
        }

    }
}
