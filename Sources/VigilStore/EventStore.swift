import Foundation
package import Logging
package import Metrics
import Synchronization
package import VigilModel

/// The append-only, hash-chained event log (docs/protocol.md §3), in the database its ``LogBackend`` names:
/// an SQLite file (the default) or PostgreSQL.
///
/// An append returns only once its transaction is durable. Positions run 1, 2, 3 ... without gaps; each entry
/// keeps the envelope's exact bytes with its leaf and chain hash. Appends go through a group committer (one
/// transaction and one durable commit per group); reads run concurrently.
package final class EventStore: Sendable {
    package let backend: any LogBackend
    private let committer: GroupCommitter
    private let logger: Logger
    /// Heads are signed one at a time, so two callers at one size record one head, not two.
    private let signing = OneAtATime()

    private init(
        backend: any LogBackend, state: WriterState, clock: any WallClock, logger: Logger,
        metricsFactory: any MetricsFactory
    ) {
        self.backend = backend
        self.committer = GroupCommitter(
            backend: backend, state: state, clock: clock, logger: logger, metrics: StoreMetrics(factory: metricsFactory)
        )
        self.logger = logger
        logger.info(
            "event store opened",
            metadata: [
                "store.location": "\(backend.location)", "store.size": "\(state.head.size)",
                "store.keys": "\(state.registry.keys.count)",
            ]
        )
    }

    /// Opens (creating if needed) the SQLite store at `path`, migrates it, and loads the head and key registry.
    ///
    /// - Parameter anchors: the trust anchors the configuration names now (admin keys and the daemon's key).
    ///   Differences from the anchors last recorded are recorded, effective from the current log size.
    package static func open(
        path: String, anchors: [TrustAnchor], clock: any WallClock = SystemWallClock(), logger: Logger,
        metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance
    ) throws(StoreError) -> EventStore {
        let backend = try SQLiteLog(path: path, logger: logger)
        do {
            let state = try backend.loadStateNow(
                anchors: anchors, now: clock.now().microsecondsSinceEpoch, logger: logger)
            return EventStore(
                backend: backend, state: state, clock: clock, logger: logger, metricsFactory: metricsFactory)
        } catch {
            try? backend.closeNow()
            throw StoreError(error, while: "cannot open the event store at \(path)")
        }
    }

    /// Opens the log `backend` holds and loads its head and key registry (as ``open(path:anchors:clock:logger:metricsFactory:)``).
    package static func open(
        backend: any LogBackend, anchors: [TrustAnchor], clock: any WallClock = SystemWallClock(), logger: Logger,
        metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance
    ) async throws(StoreError) -> EventStore {
        do {
            let state = try await backend.loadState(
                anchors: anchors, now: clock.now().microsecondsSinceEpoch, logger: logger)
            return EventStore(
                backend: backend, state: state, clock: clock, logger: logger, metricsFactory: metricsFactory)
        } catch {
            await backend.close()
            throw StoreError(error, while: "cannot open the event store at \(backend.location)")
        }
    }

    /// The SQLite file that holds the log, if one does.
    package var file: String? { backend.file }

    /// A file that belongs beside the store at `storePath`: `vigil.sqlite` with `"projections"` is
    /// `vigil.projections.sqlite` (the read models), with `"outbox"` `vigil.outbox.sqlite` (the webhook outbox).
    package static func companionPath(forStore storePath: String, _ name: String) -> String {
        let url = URL(fileURLWithPath: storePath)
        let base = url.pathExtension == "sqlite" ? url.deletingPathExtension().path : storePath
        return base + "." + name + ".sqlite"
    }

    /// Stores events in order; each is stored, found to be a duplicate, or refused on its own.
    ///
    /// Stored events are durable when this returns. If the database cannot commit (disk full, I/O error, the
    /// server away), nothing of the group is stored and every event is refused with `unavailable`.
    package func append(_ events: [VerifiedEvent]) async -> [AppendOutcome] {
        await committer.append(events)
    }

    /// The current head of the log.
    package var head: LogHead { committer.currentState.head }

    /// The key registry as of the head of the log.
    package var registry: KeyRegistry { committer.currentState.registry }

    /// The Unix microseconds at which the commit under way started, or nil when the writer is idle.
    package var commitInProgressSince: Int64? { committer.commitInProgressSince }

    /// Why the last commit failed (a full disk, an I/O error), until a commit succeeds again.
    package var lastCommitFailure: String? { committer.lastCommitFailure }

    /// The log size after each commit that stored something, starting with the current size; ends when the
    /// store closes. Keeps only the newest value.
    package func heads() -> AsyncStream<Int64> {
        committer.heads()
    }

    /// Learns what other nodes appended to a shared database since this process last looked: the head, the key
    /// registry and the tree move to the database's, and followers of ``heads()`` hear of the new size. Returns
    /// the head as now known. On a database only this process writes, nothing changes.
    @discardableResult
    package func refresh() async throws -> LogHead {
        if let newer = try await backend.newerState(than: committer.currentState) { committer.observe(newer) }
        return head
    }

    /// Every change of the configured trust anchors, in the order recorded.
    package func anchorHistory() async throws -> [AnchorChange] {
        try await backend.anchorHistory()
    }

    /// Entries after `position`, in order, at most `limit` of them.
    package func entries(after position: Int64, limit: Int) async throws -> [StoredEntry] {
        try await backend.entries(after: position, limit: limit)
    }

    /// Whether the log holds an event with this id (answered on the calling thread: for checks made inside
    /// another database's transaction).
    package func contains(eventID: EventID) throws -> Bool {
        try backend.containsBlocking(eventID: eventID)
    }

    /// The log position of the event with this id, if the log has one.
    package func position(of eventID: EventID) async throws -> Int64? {
        try await backend.position(of: eventID)
    }

    /// The entry holding the event with this id, if the log has one.
    package func entry(eventID: EventID) async throws -> StoredEntry? {
        guard let position = try await position(of: eventID) else { return nil }
        return try await entry(at: position)
    }

    /// The entries at these positions that the log has, in the order given.
    package func entries(at positions: [Int64]) async throws -> [StoredEntry] {
        try await backend.entries(at: positions)
    }

    /// The entry at `position`, if the log has one.
    package func entry(at position: Int64) async throws -> StoredEntry? {
        try await entries(after: position - 1, limit: 1).first { $0.position == position }
    }

    /// Verifies the log as stored (``LogVerifier``) on a thread of its own; with a share, paced to that share of
    /// one core at a lower priority.
    package func verify(_ options: LogVerifier.Options) async -> Result<VerificationReport, StoreError> {
        await backend.verify(options)
    }

    /// Refuses new appends, waits for the ones under way to be committed and answered, and closes the database.
    package func close() async {
        await committer.close()
        await backend.close()
        logger.info("event store closed", metadata: ["store.size": "\(head.size)"])
    }
}

// MARK: - Signed heads and checkpoints

/// What the daemon signs the log's heads with: its key, and the log's name (the checkpoints' origin line,
/// also the name of the key in their signed notes).
package struct LogSigner: Sendable {
    package let key: SigningKey
    package let origin: String

    package init(key: SigningKey, origin: String) {
        self.key = key
        self.origin = origin
    }

    /// The verifier key of the checkpoints, in the text form tlog tools read.
    package var noteKey: NoteKey {
        // The origin is checked where it is configured; a key derived from a signing key is always valid.
        try! NoteKey(name: origin, publicKey: key.verifyingKey)
    }
}

extension EventStore {
    /// A head signed by the daemon, with its envelope's bytes, and the checkpoint of the same size.
    package struct SignedHeadRecord: Sendable {
        package var head: SignedHead
        package var envelope: [UInt8]
        package var checkpoint: SignedNote
    }

    /// Signs the current head with the daemon's key, as a DSSE signed head and as a C2SP checkpoint of the
    /// log, and records both in one transaction; when the last recorded ones already have this size, those
    /// are returned instead.
    package func signHead(
        with signer: LogSigner, clock: any WallClock = SystemWallClock()
    ) async throws -> SignedHeadRecord {
        try await signing.run { try await signHeadNow(with: signer, clock: clock) }
    }

    private func signHeadNow(with signer: LogSigner, clock: any WallClock) async throws -> SignedHeadRecord {
        let key = signer.key
        let origin = signer.origin
        let current = committer.currentState
        let issuedAt = clock.now()
        var newHead: (head: SignedHead, envelope: [UInt8])?
        let head: SignedHead
        let envelope: [UInt8]
        // Another node may have signed a later head than this one knows yet: never sign one that goes back.
        if let last = try await backend.latestSignedHead(), last.head.size >= current.head.size {
            (head, envelope) = last
        } else {
            head = SignedHead(size: current.head.size, chainHash: current.head.chainHash, issuedAt: issuedAt)
            envelope = head.envelope(signedBy: key).jsonBytes
            newHead = (head, envelope)
        }
        if let latest = try await backend.latestCheckpoint(), latest.size >= current.head.size,
            let note = try? SignedNote(parsing: latest.note),
            (try? LogCheckpoint(text: note.text))?.origin == origin
        {
            if let newHead { try await backend.record(signedHead: newHead, checkpoint: nil) }
            return SignedHeadRecord(head: head, envelope: envelope, checkpoint: note)
        }
        let checkpoint = LogCheckpoint(origin: origin, size: UInt64(current.tree.size), rootHash: current.tree.root)
        let note = SignedNote.sign(checkpoint.text, name: origin, key: key)
        try await backend.record(
            signedHead: newHead,
            checkpoint: NewCheckpoint(
                size: current.head.size, rootHash: checkpoint.rootHash, issuedAt: issuedAt.microsecondsSinceEpoch,
                note: Array(note.serialized.utf8)))
        return SignedHeadRecord(head: head, envelope: envelope, checkpoint: note)
    }

    /// A checkpoint as recorded: its number, its size and the signed note's bytes.
    package struct CheckpointRecord: Sendable {
        package var seq: Int64
        package var size: Int64
        package var note: [UInt8]

        package init(seq: Int64, size: Int64, note: [UInt8]) {
            self.seq = seq
            self.size = size
            self.note = note
        }

        /// The statement the signed note carries (nil for a note that does not read as a checkpoint).
        package var checkpoint: LogCheckpoint? {
            (try? SignedNote(parsing: note)).flatMap { try? LogCheckpoint(text: $0.text) }
        }
    }

    /// The last checkpoint recorded.
    package func latestCheckpoint() async throws -> CheckpointRecord? {
        try await backend.latestCheckpoint()
    }

    /// The last checkpoint with the witnesses' cosignatures of it appended, as served.
    package func latestCosignedCheckpoint() async throws -> [UInt8]? {
        guard let latest = try await backend.latestCheckpoint() else { return nil }
        return latest.note + (try await backend.cosignatureLines(of: latest.seq))
    }

    /// Records a witness's cosignature line (verified by the caller) of a checkpoint; a second one by the same
    /// witness of the same checkpoint is not added.
    package func recordCosignature(of checkpoint: Int64, witness: String, line: String, at time: Timestamp) async throws
    {
        try await backend.recordCosignature(of: checkpoint, witness: witness, line: line, at: time)
    }

    /// The largest checkpoint size each witness cosigned, by witness name.
    package func cosignedSizes() async throws -> [String: Int64] {
        try await backend.cosignedSizes()
    }
}

/// Runs bodies one at a time, in the order they arrive, across their suspension points.
final class OneAtATime: Sendable {
    private struct State {
        var busy = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.busy {
                    state.waiting.append(continuation)
                    return false
                }
                state.busy = true
                return true
            }
            if now { continuation.resume() }
        }
        defer {
            let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if state.waiting.isEmpty {
                    state.busy = false
                    return nil
                }
                return state.waiting.removeFirst()
            }
            next?.resume()
        }
        return try await body()
    }
}
