import Foundation
import GRDB
import GRDBSQLite
package import Logging
package import Metrics
package import VigilModel

/// The append-only, hash-chained event log on SQLite (docs/protocol.md §3).
///
/// WAL mode with `synchronous = FULL`: an append returns only after its transaction is on disk. Positions
/// run 1, 2, 3 ... without gaps; each entry keeps the envelope's exact bytes with its leaf and chain hash.
/// Appends go through a group committer (one transaction and one fsync per group); reads run concurrently
/// on WAL readers.
package final class EventStore: Sendable {
    package let path: String
    let database: DatabasePool
    private let committer: GroupCommitter
    private let logger: Logger

    private init(path: String, database: DatabasePool, committer: GroupCommitter, logger: Logger) {
        self.path = path
        self.database = database
        self.committer = committer
        self.logger = logger
    }

    /// Opens (creating if needed) the store at `path`, migrates it, and loads the head and key registry.
    ///
    /// - Parameter anchors: the trust anchors the configuration names now (admin keys and the daemon's key).
    ///   Differences from the anchors last recorded are recorded, effective from the current log size.
    package static func open(
        path: String, anchors: [TrustAnchor], clock: any WallClock = SystemWallClock(), logger: Logger,
        metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance
    ) throws(StoreError) -> EventStore {
        do {
            var configuration = Configuration()
            configuration.label = "vigil.store"
            configuration.busyMode = .timeout(10)
            configuration.prepareDatabase { db in
                // Truncate the WAL back to at most 64 MiB after checkpoints instead of letting it keep its peak size.
                try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
            }
            let database = try DatabasePool(path: path, configuration: configuration)
            // GRDB's DatabasePool sets synchronous = NORMAL on WAL databases; durability needs FULL.
            try database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            try StoreSchema.refuseNewer(database, path: path)
            try StoreSchema.migrator.migrate(database)
            let state = try database.write { db in
                try loadState(db: db, anchors: anchors, now: clock.now().microsecondsSinceEpoch, logger: logger)
            }
            logger.info(
                "event store opened",
                metadata: [
                    "store.path": "\(path)", "store.size": "\(state.head.size)",
                    "store.keys": "\(state.registry.keys.count)",
                ]
            )
            let committer = GroupCommitter(
                database: database, state: state, clock: clock, logger: logger,
                metrics: StoreMetrics(factory: metricsFactory)
            )
            return EventStore(path: path, database: database, committer: committer, logger: logger)
        } catch {
            throw StoreError(error, while: "cannot open the event store at \(path)")
        }
    }

    /// A file that belongs beside the store at `storePath`: `vigil.sqlite` with `"projections"` is
    /// `vigil.projections.sqlite` (the read models), with `"outbox"` `vigil.outbox.sqlite` (the webhook outbox).
    package static func companionPath(forStore storePath: String, _ name: String) -> String {
        let url = URL(fileURLWithPath: storePath)
        let base = url.pathExtension == "sqlite" ? url.deletingPathExtension().path : storePath
        return base + "." + name + ".sqlite"
    }

    /// Stores events in order; each is stored, found to be a duplicate, or refused on its own.
    ///
    /// Stored events are durable when this returns. If the database cannot commit (disk full, I/O error),
    /// nothing of the group is stored and every event is refused with `unavailable`.
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

    /// Every change of the configured trust anchors, in the order recorded.
    package func anchorHistory() async throws -> [AnchorChange] {
        try await database.read { db in try EventStore.fetchAnchorChanges(db) }
    }

    /// Entries after `position`, in order, at most `limit` of them.
    package func entries(after position: Int64, limit: Int) async throws -> [StoredEntry] {
        try await database.read { db in
            try EventStore.fetchEntries(db, after: position, limit: limit)
        }
    }

    /// Whether the log holds an event with this id (read on a reader, synchronously: for checks made inside
    /// another database's transaction).
    package func contains(eventID: EventID) throws -> Bool {
        try database.read { db in try EventStore.contains(eventID, db) }
    }

    static func contains(_ id: EventID, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM events WHERE event_id = ?)"),
            arguments: [Data(id.bytes)]) ?? false
    }

    /// The log position of the event with this id, if the log has one.
    package func position(of eventID: EventID) async throws -> Int64? {
        try await database.read { db in
            try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT position FROM events WHERE event_id = ?"),
                arguments: [Data(eventID.bytes)])
        }
    }

    /// The entry holding the event with this id, if the log has one.
    package func entry(eventID: EventID) async throws -> StoredEntry? {
        guard let position = try await position(of: eventID) else { return nil }
        return try await entry(at: position)
    }

    /// The entries at these positions that the log has, in the order given, read in one transaction.
    package func entries(at positions: [Int64]) async throws -> [StoredEntry] {
        try await database.read { db in
            try positions.compactMap { position in
                try EventStore.fetchEntries(db, after: position - 1, limit: 1).first { $0.position == position }
            }
        }
    }

    /// The entry at `position`, if the log has one.
    package func entry(at position: Int64) async throws -> StoredEntry? {
        try await entries(after: position - 1, limit: 1).first { $0.position == position }
    }

    /// Refuses new appends, waits for the ones under way to be committed and answered, and closes the file.
    package func close() async {
        await committer.close()
        do {
            try database.close()
        } catch {
            logger.warning("closing the event store failed", metadata: ["store.error": "\(type(of: error))"])
        }
        logger.info("event store closed", metadata: ["store.size": "\(head.size)"])
    }

    // MARK: - Loading

    static func fetchEntries(_ db: Database, after position: Int64, limit: Int) throws -> [StoredEntry] {
        var entries: [StoredEntry] = []
        entries.reserveCapacity(min(limit, 65_536))
        let statement = try db.cachedStatement(
            sql: """
                SELECT position, event_id, recorded_at, envelope, leaf_hash, chain_hash FROM events
                WHERE position > ? ORDER BY position LIMIT ?
                """)
        let rows = try Row.fetchCursor(statement, arguments: [position, limit])
        // The blobs are copied once, straight from SQLite's buffers: replays read millions of entries.
        let sqlite = statement.sqliteStatement
        while try rows.next() != nil {
            let position = sqlite3_column_int64(sqlite, 0)
            guard let id = EventID(bytes: blob(sqlite, 1)) else {
                throw StoreError(.corrupt, "the entry at position \(position) has an event id that is not 16 bytes")
            }
            entries.append(
                StoredEntry(
                    position: position, eventID: id, recordedAt: sqlite3_column_int64(sqlite, 2),
                    envelope: blob(sqlite, 3), leafHash: blob(sqlite, 4), chainHash: blob(sqlite, 5)))
        }
        return entries
    }

    /// A blob column of the current row, copied out of SQLite's buffer.
    static func blob(_ statement: OpaquePointer, _ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// Reads the head, replays the registry from the anchor history and the key events, and records any
    /// change of the configured anchors.
    static func loadState(db: Database, anchors: [TrustAnchor], now: Int64, logger: Logger) throws -> WriterState {
        var head = LogHead.empty
        if let row = try Row.fetchOne(
            db, sql: "SELECT position, chain_hash, recorded_at FROM events ORDER BY position DESC LIMIT 1")
        {
            head = LogHead(size: row[0], chainHash: [UInt8](row[1] as Data), lastRecordedAt: row[2])
        }
        let changes = try fetchAnchorChanges(db)
        var replay = RegistryReplay(anchorChanges: changes)
        let keyRows = try Row.fetchCursor(
            db, sql: "SELECT position, key_id, change, public_key, role, name FROM key_events ORDER BY position")
        while let row = try keyRows.next() {
            let position: Int64 = row[0]
            replay.advance(to: position)
            replay.apply(try keyChange(from: row), at: position)
        }
        replay.advance(to: head.size + 1)
        var registry = replay.registry

        // Record what changed in the configured anchors since the last start.
        let recorded = RegistryReplay.currentAnchors(changes)
        let wanted = Dictionary(anchors.map { ($0.keyID, $0) }, uniquingKeysWith: { first, _ in first })
        var newChanges: [AnchorChange] = []
        for (id, anchor) in recorded.sorted(by: { $0.key < $1.key }) where wanted[id] != anchor {
            newChanges.append(AnchorChange(logSize: head.size, anchor: anchor, kind: .removed))
        }
        for (id, anchor) in wanted.sorted(by: { $0.key < $1.key }) where recorded[id] != anchor {
            newChanges.append(AnchorChange(logSize: head.size, anchor: anchor, kind: .added))
        }
        for change in newChanges {
            try db.execute(
                sql:
                    "INSERT INTO trust_anchors (log_size, public_key, role, name, change, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    change.logSize, Data(change.anchor.publicKey), change.anchor.role.rawValue, change.anchor.name,
                    change.kind.rawValue, now,
                ]
            )
            switch change.kind {
            case .added: registry.add(anchor: change.anchor)
            case .removed: registry.remove(anchor: change.anchor.keyID)
            }
            logger.notice(
                "trust anchor \(change.kind.rawValue)",
                metadata: [
                    "key.id": "\(change.anchor.keyID.hex)", "key.role": "\(change.anchor.role.rawValue)",
                    "store.size": "\(head.size)",
                ]
            )
        }
        let tree = try MerkleFrontier(size: UInt64(head.size), source: LogTree.Nodes(db: db))
        return WriterState(head: head, registry: registry, tree: tree)
    }

    static func fetchAnchorChanges(_ db: Database) throws -> [AnchorChange] {
        var changes: [AnchorChange] = []
        let rows = try Row.fetchCursor(
            db, sql: "SELECT log_size, public_key, role, name, change FROM trust_anchors ORDER BY seq")
        while let row = try rows.next() {
            guard let role = Role(rawValue: row[2]), let kind = AnchorChange.Kind(rawValue: row[4]) else {
                throw StoreError(.corrupt, "the trust anchor history holds an unknown role or change")
            }
            let anchor = TrustAnchor(publicKey: [UInt8](row[1] as Data), role: role, name: row[3])
            changes.append(AnchorChange(logSize: row[0], anchor: anchor, kind: kind))
        }
        return changes
    }

    static func keyChange(from row: Row) throws -> KeyChange {
        let change: String = row[2]
        if change == "revoked" {
            let id = [UInt8](row[1] as Data)
            guard id.count == 32, let keyID = KeyID(hex: Hex.encode(id)) else {
                throw StoreError(.corrupt, "a key event at position \(row[0] as Int64) names a malformed key id")
            }
            return .revoked(keyID)
        }
        guard let publicKey = row[3] as Data?, let roleName = row[4] as String?, let role = Role(rawValue: roleName),
            let name = row[5] as String?
        else {
            throw StoreError(.corrupt, "a key registration at position \(row[0] as Int64) is incomplete")
        }
        return .registered(KeyRegistered(publicKey: [UInt8](publicKey), name: name, role: role))
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
        let key = signer.key
        let origin = signer.origin
        let current = committer.currentState
        return try await database.write { db in
            let issuedAt = clock.now()
            let head: SignedHead
            let envelope: [UInt8]
            if let row = try Row.fetchOne(
                db, sql: "SELECT size, chain_hash, issued_at, envelope FROM signed_heads ORDER BY seq DESC LIMIT 1"),
                (row[0] as Int64) == current.head.size
            {
                head = SignedHead(
                    size: row[0], chainHash: [UInt8](row[1] as Data),
                    issuedAt: Timestamp(microsecondsSinceEpoch: row[2]))
                envelope = [UInt8](row[3] as Data)
            } else {
                head = SignedHead(size: current.head.size, chainHash: current.head.chainHash, issuedAt: issuedAt)
                envelope = head.envelope(signedBy: key).jsonBytes
                try db.execute(
                    sql: "INSERT INTO signed_heads (size, chain_hash, issued_at, envelope) VALUES (?, ?, ?, ?)",
                    arguments: [head.size, Data(head.chainHash), head.issuedAt.microsecondsSinceEpoch, Data(envelope)]
                )
            }
            if let latest = try Self.latestCheckpoint(db), latest.size == current.head.size,
                let note = try? SignedNote(parsing: latest.note),
                (try? LogCheckpoint(text: note.text))?.origin == origin
            {
                return SignedHeadRecord(head: head, envelope: envelope, checkpoint: note)
            }
            let checkpoint = LogCheckpoint(origin: origin, size: UInt64(current.tree.size), rootHash: current.tree.root)
            let note = SignedNote.sign(checkpoint.text, name: origin, key: key)
            try db.execute(
                sql: "INSERT INTO checkpoints (size, root_hash, issued_at, note) VALUES (?, ?, ?, ?)",
                arguments: [
                    current.head.size, Data(checkpoint.rootHash), issuedAt.microsecondsSinceEpoch,
                    Data(note.serialized.utf8),
                ])
            return SignedHeadRecord(head: head, envelope: envelope, checkpoint: note)
        }
    }

    /// A checkpoint as recorded: its number, its size and the signed note's bytes.
    package struct CheckpointRecord: Sendable {
        package var seq: Int64
        package var size: Int64
        package var note: [UInt8]

        /// The statement the signed note carries (nil for a note that does not read as a checkpoint).
        package var checkpoint: LogCheckpoint? {
            (try? SignedNote(parsing: note)).flatMap { try? LogCheckpoint(text: $0.text) }
        }
    }

    /// The last checkpoint recorded.
    package func latestCheckpoint() async throws -> CheckpointRecord? {
        try await database.read { db in try Self.latestCheckpoint(db) }
    }

    /// The last checkpoint with the witnesses' cosignatures of it appended, as served.
    package func latestCosignedCheckpoint() async throws -> [UInt8]? {
        try await database.read { db in
            guard let latest = try Self.latestCheckpoint(db) else { return nil }
            return latest.note + (try Self.cosignatureLines(of: latest.seq, db))
        }
    }

    static func cosignatureLines(of checkpoint: Int64, _ db: Database) throws -> [UInt8] {
        Array(
            try String.fetchAll(
                db, sql: "SELECT line FROM cosignatures WHERE checkpoint_seq = ? ORDER BY seq", arguments: [checkpoint]
            ).joined().utf8)
    }

    /// Records a witness's cosignature line (verified by the caller) of a checkpoint; a second one by the same
    /// witness of the same checkpoint is not added.
    package func recordCosignature(of checkpoint: Int64, witness: String, line: String, at time: Timestamp) async throws
    {
        try await database.write { db in
            try db.execute(
                sql:
                    "INSERT OR IGNORE INTO cosignatures (checkpoint_seq, witness, line, received_at) VALUES (?, ?, ?, ?)",
                arguments: [checkpoint, witness, line, time.microsecondsSinceEpoch])
        }
    }

    /// The largest checkpoint size each witness cosigned, by witness name.
    package func cosignedSizes() async throws -> [String: Int64] {
        try await database.read { db in
            var sizes: [String: Int64] = [:]
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT s.witness, MAX(c.size) FROM cosignatures s JOIN checkpoints c ON c.seq = s.checkpoint_seq
                    GROUP BY s.witness
                    """)
            for row in rows { sizes[row[0]] = row[1] }
            return sizes
        }
    }

    static func latestCheckpoint(_ db: Database) throws -> CheckpointRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT seq, size, note FROM checkpoints ORDER BY seq DESC LIMIT 1")
        else { return nil }
        return CheckpointRecord(seq: row[0], size: row[1], note: [UInt8](row[2] as Data))
    }
}
