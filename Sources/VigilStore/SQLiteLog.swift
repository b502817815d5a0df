import Foundation
import GRDB
import GRDBSQLite
package import Logging
import Synchronization
package import VigilModel

/// The log on SQLite (the embedded default): one file in WAL mode with `synchronous = FULL`, so a commit
/// returns only once its transaction is on disk; reads run concurrently on WAL readers.
package final class SQLiteLog: LogBackend {
    package let path: String
    let database: DatabasePool
    /// Copies the write-ahead log into the file beside the appends (none checkpoints at commit).
    let logMover: WriteAheadLogMover
    private let logger: Logger
    private let closed = Atomic<Bool>(false)

    /// Opens (creating if needed) the store file at `path` and migrates it.
    package init(path: String, logger: Logger) throws(StoreError) {
        self.path = path
        self.logger = logger
        do {
            var configuration = Configuration()
            configuration.label = "vigil.store"
            configuration.busyMode = .timeout(10)
            configuration.prepareDatabase { db in
                // Truncate the WAL back to at most 64 MiB after checkpoints instead of letting it keep its peak size.
                try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
                // No checkpoint at commit: the append that crossed SQLite's threshold (1000 pages) copied the log
                // into the file and synced it before it was acknowledged. `logMover` does it beside the appends.
                try WriteAheadLogMover.disableAutomaticCheckpoints(db)
            }
            database = try DatabasePool(path: path, configuration: configuration)
            // GRDB's DatabasePool sets synchronous = NORMAL on WAL databases; durability needs FULL.
            try database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            try StoreSchema.refuseNewer(database, path: path)
            try StoreSchema.migrator.migrate(database)
        } catch {
            throw StoreError(error, while: "cannot open the event store at \(path)")
        }
        logMover = WriteAheadLogMover(path: path, writer: database, label: "vigil.store.checkpoint", busyTimeout: 10)
    }

    /// How often, at most, the write-ahead log is copied into the file after commits.
    static let logMoveInterval = Duration.seconds(1)

    package var location: String { path }
    package var file: String? { path }

    package func loadState(anchors: [TrustAnchor], now: Int64, logger: Logger) async throws -> WriterState {
        try loadStateNow(anchors: anchors, now: now, logger: logger)
    }

    /// ``loadState(anchors:now:logger:)`` on the calling thread.
    func loadStateNow(anchors: [TrustAnchor], now: Int64, logger: Logger) throws -> WriterState {
        try database.write { db in
            let head = try Self.head(db)
            var registry = try Self.registryReplay(db, upTo: head.size).registry
            let changes = StoredAnchors.changes(
                recorded: try Self.fetchAnchorChanges(db), configured: anchors, logSize: head.size)
            for change in changes {
                try db.execute(
                    sql:
                        "INSERT INTO trust_anchors (log_size, public_key, role, name, change, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [
                        change.logSize, Data(change.anchor.publicKey), change.anchor.role.rawValue, change.anchor.name,
                        change.kind.rawValue, now,
                    ]
                )
                StoredAnchors.apply(change, to: &registry, logger: logger)
            }
            let tree = try MerkleFrontier(size: UInt64(head.size), source: LogTree.Nodes(db: db))
            return WriterState(head: head, registry: registry, tree: tree)
        }
    }

    package func commit(
        _ requests: [[VerifiedEvent]], from state: WriterState, recordedAt: Int64
    ) async throws -> (WriterState, [[AppendOutcome]]) {
        let result: Result<(WriterState, [[AppendOutcome]]), any Error> = await withCheckedContinuation {
            continuation in
            // asyncWriteWithoutTransaction is not tied to the calling task: a client that disconnects (and cancels
            // its task) must not roll back a group that carries other clients' events.
            database.asyncWriteWithoutTransaction { db in
                continuation.resume(
                    returning: Result { try Self.write(requests, from: state, recordedAt: recordedAt, db: db) })
            }
        }
        logMover.moveInBackground(atMostEvery: Self.logMoveInterval) { [logger] (error: any Error) in
            logger.warning(
                "the store's write-ahead log cannot be copied into its file; later commits try again",
                metadata: ["store.error": "\(StoreError(error, while: "checkpoint"))"])
        } recovered: { [logger] in
            logger.notice("the store's write-ahead log is copied into its file again")
        }
        return try result.get()
    }

    /// The body of one commit: runs on GRDB's writer queue inside one IMMEDIATE transaction.
    private static func write(
        _ requests: [[VerifiedEvent]], from before: WriterState, recordedAt: Int64, db: Database
    ) throws -> (WriterState, [[AppendOutcome]]) {
        var plan: AppendPlan?
        try db.inTransaction(.immediate) {
            let find = try db.cachedStatement(
                sql: "SELECT position, envelope, chain_hash FROM events WHERE event_id = ?")
            let planned = try AppendPlan(requests, from: before, recordedAt: recordedAt) { id in
                guard let row = try Row.fetchOne(find, arguments: [Data(id.bytes)]) else { return nil }
                return AppendPlan.Stored(
                    position: row[0], envelope: [UInt8](row[1] as Data), chainHash: [UInt8](row[2] as Data))
            }
            let insert = try db.cachedStatement(
                sql:
                    "INSERT INTO events (position, event_id, recorded_at, envelope, leaf_hash, chain_hash) VALUES (?, ?, ?, ?, ?, ?)"
            )
            for entry in planned.entries {
                try insert.execute(arguments: [
                    entry.position, Data(entry.eventID.bytes), entry.recordedAt, Data(entry.envelope),
                    Data(entry.leafHash), Data(entry.chainHash),
                ])
            }
            for node in planned.treeNodes {
                try LogTree.insertNode(level: node.level, index: node.index, hash: node.hash, db: db)
            }
            for (position, change) in planned.keyChanges {
                try recordKeyChange(change, at: position, db: db)
            }
            plan = planned
            return .commit
        }
        return (plan!.state, plan!.outcomes)
    }

    static func recordKeyChange(_ change: KeyChange, at position: Int64, db: Database) throws {
        switch change {
        case .registered(let body):
            try db.execute(
                sql:
                    "INSERT INTO key_events (position, key_id, change, public_key, role, name) VALUES (?, ?, 'registered', ?, ?, ?)",
                arguments: [position, Data(body.keyID.bytes), Data(body.publicKey), body.role.rawValue, body.name]
            )
        case .revoked(let id):
            try db.execute(
                sql: "INSERT INTO key_events (position, key_id, change) VALUES (?, ?, 'revoked')",
                arguments: [position, Data(id.bytes)]
            )
        }
    }

    package func unavailableMessage(for error: any Error) -> String {
        if let error = error as? DatabaseError {
            switch error.resultCode {
            case .SQLITE_FULL: return "the event store's disk is full; nothing was stored; retry once space is freed"
            case .SQLITE_IOERR: return "the event store could not write to disk; nothing was stored; retry later"
            case .SQLITE_BUSY, .SQLITE_LOCKED: return "the event store is busy; nothing was stored; retry"
            case .SQLITE_READONLY: return "the event store is read-only; nothing was stored"
            default: break
            }
        }
        return "the event store could not commit; nothing was stored; retry later"
    }

    package func errorCode(of error: any Error) -> String {
        (error as? DatabaseError).map { "SQLite error \($0.extendedResultCode.rawValue)" } ?? "\(type(of: error))"
    }

    // MARK: - Reads

    package func entries(after position: Int64, limit: Int) async throws -> [StoredEntry] {
        try await database.read { db in try Self.fetchEntries(db, after: position, limit: limit) }
    }

    package func entries(at positions: [Int64]) async throws -> [StoredEntry] {
        try await database.read { db in
            try positions.compactMap { position in
                try Self.fetchEntries(db, after: position - 1, limit: 1).first { $0.position == position }
            }
        }
    }

    package func position(of eventID: EventID) async throws -> Int64? {
        try await database.read { db in
            try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT position FROM events WHERE event_id = ?"),
                arguments: [Data(eventID.bytes)])
        }
    }

    package func containsBlocking(eventID: EventID) throws -> Bool {
        try database.read { db in try Self.contains(eventID, db) }
    }

    package func anchorHistory() async throws -> [AnchorChange] {
        try await database.read { db in try Self.fetchAnchorChanges(db) }
    }

    package func readTree<T: Sendable>(_ body: @escaping @Sendable (StoredNodes) throws -> T) async throws -> T {
        try await database.read { db in try body(StoredNodes(LogTree.Nodes(db: db))) }
    }

    package func storedHashes(level: Int, first: UInt64, count: Int) async throws -> [[UInt8]] {
        try await database.read { db in try LogTree.storedHashes(level: level, first: first, count: count, db: db) }
    }

    package func latestSignedHead() async throws -> (head: SignedHead, envelope: [UInt8])? {
        try await database.read { db in
            try Row.fetchOne(
                db, sql: "SELECT size, chain_hash, issued_at, envelope FROM signed_heads ORDER BY seq DESC LIMIT 1"
            ).map { row in
                (
                    SignedHead(
                        size: row[0], chainHash: [UInt8](row[1] as Data),
                        issuedAt: Timestamp(microsecondsSinceEpoch: row[2])),
                    [UInt8](row[3] as Data)
                )
            }
        }
    }

    package func latestCheckpoint() async throws -> EventStore.CheckpointRecord? {
        try await database.read { db in try Self.latestCheckpoint(db) }
    }

    package func newestCosignedCheckpoint(covering position: Int64) async throws -> EventStore.CheckpointRecord? {
        try await database.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT seq, size, note FROM checkpoints c WHERE size >= ?
                    AND EXISTS (SELECT 1 FROM cosignatures s WHERE s.checkpoint_seq = c.seq)
                    ORDER BY seq DESC LIMIT 1
                    """, arguments: [position]
            ).map { EventStore.CheckpointRecord(seq: $0[0], size: $0[1], note: [UInt8]($0[2] as Data)) }
        }
    }

    package func record(signedHead: (head: SignedHead, envelope: [UInt8])?, checkpoint: NewCheckpoint?) async throws {
        try await database.write { db in
            if let (head, envelope) = signedHead {
                try db.execute(
                    sql: "INSERT INTO signed_heads (size, chain_hash, issued_at, envelope) VALUES (?, ?, ?, ?)",
                    arguments: [head.size, Data(head.chainHash), head.issuedAt.microsecondsSinceEpoch, Data(envelope)]
                )
            }
            if let checkpoint {
                try db.execute(
                    sql: "INSERT INTO checkpoints (size, root_hash, issued_at, note) VALUES (?, ?, ?, ?)",
                    arguments: [
                        checkpoint.size, Data(checkpoint.rootHash), checkpoint.issuedAt, Data(checkpoint.note),
                    ])
            }
        }
    }

    package func cosignatureLines(of checkpoint: Int64) async throws -> [UInt8] {
        try await database.read { db in try Self.cosignatureLines(of: checkpoint, db) }
    }

    package func recordCosignature(of checkpoint: Int64, witness: String, line: String, at time: Timestamp) async throws
    {
        try await database.write { db in
            try db.execute(
                sql:
                    "INSERT OR IGNORE INTO cosignatures (checkpoint_seq, witness, line, received_at) VALUES (?, ?, ?, ?)",
                arguments: [checkpoint, witness, line, time.microsecondsSinceEpoch])
        }
    }

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

    package func lastRegistration(of key: KeyID, before position: Int64) async throws -> StoredEntry? {
        try await database.read { db in
            guard
                let found = try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT position FROM key_events WHERE key_id = ? AND change = 'registered' AND position < ?
                        ORDER BY position DESC LIMIT 1
                        """, arguments: [Data(key.bytes), position])
            else { return nil }
            return try Self.fetchEntries(db, after: found - 1, limit: 1).first
        }
    }

    package func newerState(than known: WriterState) async throws -> WriterState? { nil }

    package func lead() async -> Bool { true }

    package func resign() async {}

    package func verify(_ options: LogVerifier.Options) async -> Result<VerificationReport, StoreError> {
        let path = path
        return await LogVerifier.onThreadOfItsOwn(lowerPriority: options.share != nil) {
            try LogVerifier.verify(path: path, options: options)
        }
    }

    /// Closes the file. The WAL is folded into the file first (a passive checkpoint, which waits for nobody): GRDB
    /// closes the writer before the readers, and a reader (read-only) cannot fold it, so a store that served reads
    /// would otherwise keep its last writes in the WAL alone.
    package func close() async {
        // A second close does nothing (GRDB's writer must not be used once closed).
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        do {
            try await logMover.close()
            _ = try await database.writeWithoutTransaction { db in try db.checkpoint(.passive) }
            try database.close()
        } catch {
            logger.warning("closing the event store failed", metadata: ["store.error": "\(errorCode(of: error))"])
        }
    }

    /// Closes the file at once, reporting a failure (a store that could not be opened).
    func closeNow() throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try logMover.closeNow()
        try database.close()
    }

    // MARK: - Rows

    static func head(_ db: Database) throws -> LogHead {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT position, chain_hash, recorded_at FROM events ORDER BY position DESC LIMIT 1")
        else { return .empty }
        return LogHead(size: row[0], chainHash: [UInt8](row[1] as Data), lastRecordedAt: row[2])
    }

    /// The key registry replayed from the anchor history and the key events, as of `size` entries.
    static func registryReplay(_ db: Database, upTo size: Int64) throws -> RegistryReplay {
        var replay = RegistryReplay(anchorChanges: try fetchAnchorChanges(db))
        let keyRows = try Row.fetchCursor(
            db, sql: "SELECT position, key_id, change, public_key, role, name FROM key_events ORDER BY position")
        while let row = try keyRows.next() {
            let position: Int64 = row[0]
            replay.advance(to: position)
            replay.apply(try keyChange(position: position, row: row), at: position)
        }
        replay.advance(to: size + 1)
        return replay
    }

    static func contains(_ id: EventID, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM events WHERE event_id = ?)"),
            arguments: [Data(id.bytes)]) ?? false
    }

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

    static func fetchAnchorChanges(_ db: Database) throws -> [AnchorChange] {
        var changes: [AnchorChange] = []
        let rows = try Row.fetchCursor(
            db, sql: "SELECT log_size, public_key, role, name, change FROM trust_anchors ORDER BY seq")
        while let row = try rows.next() {
            changes.append(
                try StoredAnchors.change(
                    logSize: row[0], publicKey: [UInt8](row[1] as Data), role: row[2], name: row[3], kind: row[4]))
        }
        return changes
    }

    /// A row of `key_events` (position, key_id, change, public_key, role, name) as the change it records.
    static func keyChange(position: Int64, row: Row) throws -> KeyChange {
        try StoredAnchors.keyChange(
            position: position, keyID: [UInt8](row[1] as Data), change: row[2],
            publicKey: (row[3] as Data?).map { [UInt8]($0) }, role: row[4], name: row[5])
    }

    static func latestCheckpoint(_ db: Database) throws -> EventStore.CheckpointRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT seq, size, note FROM checkpoints ORDER BY seq DESC LIMIT 1")
        else { return nil }
        return EventStore.CheckpointRecord(seq: row[0], size: row[1], note: [UInt8](row[2] as Data))
    }

    static func cosignatureLines(of checkpoint: Int64, _ db: Database) throws -> [UInt8] {
        Array(
            try String.fetchAll(
                db, sql: "SELECT line FROM cosignatures WHERE checkpoint_seq = ? ORDER BY seq", arguments: [checkpoint]
            ).joined().utf8)
    }
}
