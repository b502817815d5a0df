import Foundation
package import Logging
import NIOCore
import PostgresNIO
import Synchronization
package import VigilModel
package import VigilStore

/// The log on PostgreSQL: the same tables and bytes as on SQLite (``PostgresSchema``). Appends go through a
/// connection of the writer's own; everything else through a pool.
///
/// Several processes may append to one database: each group is stored by one statement whose rows follow the head
/// this process knows; the positions' primary key, the ids' unique index and the gap-free trigger make a group
/// planned on a stale head fail whole, and the process reads the head again and plans anew, so positions stay
/// gap-free and the chain continuous whoever appends. Every
/// session runs with `synchronous_commit = on`: an append is answered once the server has it on disk. A commit whose
/// outcome is unknown (the connection lost before the statement's answer) is settled by reading back, never guessed.
package final class PostgresLog: LogBackend {
    /// The advisory lock held while a process reads the head and records the configured anchors' changes, so two
    /// starting at once do not both record one change.
    static let anchorsLock: Int64 = 0x5649_4749_4C00_0002
    /// The advisory lock the leading vigild of a database holds for as long as it runs, on a connection of its own
    /// (``lead()``): the node that appends the alerts, runs the deadlines, signs checkpoints and sends webhooks.
    static let leaderLock: Int64 = 0x5649_4749_4C00_0003
    /// The advisory lock a writer holds for one group's transaction while other writers are active
    /// (``commitGroup(_:from:recordedAt:on:)``), so that their groups take turns instead of colliding.
    static let appendLock: Int64 = 0x5649_4749_4C00_0004
    /// The advisory lock held while a signed head and a checkpoint are recorded (``record(signedHead:checkpoint:)``).
    static let signLock: Int64 = 0x5649_4749_4C00_0005

    package let database: PostgresLocation
    let client: PostgresClient
    private let logger: Logger
    /// The task that runs the pool's connections; ends at ``close()``.
    private let pool: Task<Void, Never>
    /// The connection ``lead()`` asks for ``leaderLock`` on (and holds it on, once taken).
    private let leaderConnection = Mutex<PostgresConnection?>(nil)
    /// The connection commits go through (``writerConnection()``).
    private let writer = Mutex<PostgresConnection?>(nil)
    /// The head after this process's last commit, and when another writer was last seen appending (the head found
    /// beyond it, or a collision).
    private let writers = Mutex<(ownHead: Int64?, othersSeen: ContinuousClock.Instant?)>((nil, nil))
    /// How long after another writer was last seen this one goes on taking turns.
    static let turnsFor: Duration = .seconds(5)
    /// How long ``lead()`` waits for the server's answer before this node gives up the lead.
    static let leadDeadline: Duration = .seconds(5)
    /// How long a read waits for a connection from the pool before it fails as unreachable.
    static let readDeadline: Duration = .seconds(10)
    /// How long a read (or a write that is not an append) waits for the server's answer once it has its connection.
    static let answerDeadline: Duration = .seconds(10)

    private init(database: PostgresLocation, client: PostgresClient, logger: Logger) {
        self.database = database
        self.client = client
        self.logger = logger
        // PostgresClient does its work in `run()`, which must outlive every use of the client: it runs for as long
        // as this log is open, and close() cancels it and waits for it.
        pool = Task { await client.run() }
    }

    /// Connects to `location`, creates or completes the schema when the role may (a role with SELECT and INSERT
    /// only needs a database its owner migrated), and checks that the database holds a log this release knows.
    ///
    /// - Parameter migrating: create or complete the schema; false (a reader) refuses a database without a log
    ///   instead.
    package static func open(
        _ location: PostgresLocation, migrating: Bool = true, logger: Logger
    ) async throws(PostgresStoreError) -> PostgresLog {
        var configuration = try location.clientConfiguration()
        configuration.options.maximumConnections = 8
        let log = PostgresLog(
            database: location, client: PostgresClient(configuration: configuration), logger: logger)
        do {
            try await log.client.withConnection { connection in
                if migrating {
                    try await PostgresSchema.migrate(connection, logger: logger)
                } else {
                    try await PostgresSchema.requireLog(connection, logger: logger)
                }
            }
        } catch {
            await log.close()
            throw PostgresStoreError(error, while: "cannot open the log in \(location)")
        }
        return log
    }

    /// Takes ``leaderLock`` when no session holds it, and confirms it while this one does (the lock is re-entrant
    /// within a session, so asking again is the check). A failed query drops the connection, and with it the lead:
    /// the server has ended the session or will, freeing the lock for another node.
    package func lead() async -> Bool {
        let held = leaderConnection.withLock { $0 }
        if let held, held.isClosed {
            // The session that held the lock is gone, and the lock with it: not the leader now; the next try connects.
            leaderConnection.withLock { if $0 === held { $0 = nil } }
            return false
        }
        do {
            let connection: PostgresConnection
            if let held {
                connection = held
            } else {
                connection = try await connect(id: 0)
                leaderConnection.withLock { $0 = connection }
            }
            do {
                // A server that stops answering without closing the connection (a network cut) loses this node the
                // lead after `leadDeadline`, before its session ends on the server and another node takes the lock.
                // The query is abandoned rather than waited for: one sent as the server died may never be answered.
                let logger = logger
                return try await PostgresAccess.answered(
                    within: Self.leadDeadline, on: connection, about: "to the leader's lock"
                ) {
                    try await connection.rows("SELECT pg_try_advisory_lock(\(Self.leaderLock))", logger: logger)
                        .first?.decode(Bool.self) ?? false
                }
            } catch {
                leaderConnection.withLock { if $0 === connection { $0 = nil } }
                PostgresAccess.discard(connection)
                throw error
            }
        } catch {
            return false
        }
    }

    /// Gives the lead up at once (its connection closed, and the lock with it), for another node to take: at
    /// shutdown, and when this node cannot do the leader's work.
    package func resign() async {
        if let held = leaderConnection.withLock({ $0.take() }) { PostgresAccess.discard(held) }
    }

    package var location: String { database.description }
    package var file: String? { nil }

    // MARK: - The writer

    package func loadState(anchors: [TrustAnchor], now: Int64, logger: Logger) async throws -> WriterState {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.run("SELECT pg_advisory_xact_lock(\(Self.anchorsLock))", logger: logger)
            var state = try await Self.state(at: try await Self.head(connection, logger), connection, logger)
            let recorded = try await Self.anchorChanges(connection, logger)
            for change in StoredAnchors.changes(recorded: recorded, configured: anchors, logSize: state.head.size) {
                try await connection.run(
                    """
                    INSERT INTO trust_anchors (log_size, public_key, role, name, change, recorded_at)
                    VALUES (\(change.logSize), \(ByteBuffer(bytes: change.anchor.publicKey)),
                        \(change.anchor.role.rawValue), \(change.anchor.name), \(change.kind.rawValue), \(now))
                    """, logger: logger)
                StoredAnchors.apply(change, to: &state.registry, logger: logger)
                state.anchorChanges += 1
            }
            return state
        }
    }

    package func newerState(than known: WriterState) async throws -> WriterState? {
        try await pooled { connection, logger in
            let head = try await Self.head(connection, logger)
            guard head.size > known.head.size else { return nil }
            return try await Self.state(at: head, after: known, connection, logger)
        }
    }

    package func commit(
        _ requests: [[VerifiedEvent]], from state: WriterState, recordedAt: Int64
    ) async throws -> (WriterState, [[AppendOutcome]]) {
        // Not tied to the calling task: a client that disconnects (and cancels its task) must not abort a group
        // that carries other clients' events. And not waited for forever: a server that stops answering (its
        // connection neither answering nor closed) leaves the group's outcome unknown after `commitDeadline`; its
        // connection is given up, and a group that does commit later is answered as duplicates when retried.
        let result = try await PostgresAccess.within(Self.commitDeadline) { [self] in
            try await commitGroup(requests, from: state, recordedAt: recordedAt)
        }
        guard let result else {
            if let connection = writer.withLock({ $0.take() }) { PostgresAccess.discard(connection) }
            logger.error(
                "the database did not answer a commit in time; its outcome is unknown",
                metadata: ["store.seconds": "\(Self.commitDeadline.components.seconds)"])
            throw PostgresStoreError(.unknownOutcome, "the database did not answer a commit within 60 seconds")
        }
        return result
    }

    /// How long a group's commit (with its read-back) may take before its outcome is reported unknown.
    static let commitDeadline: Duration = .seconds(60)

    private func commitGroup(
        _ requests: [[VerifiedEvent]], from known: WriterState, recordedAt: Int64
    ) async throws -> (WriterState, [[AppendOutcome]]) {
        let connection = try await writerConnection()
        do {
            return try await commitGroup(requests, from: known, recordedAt: recordedAt, on: connection)
        } catch {
            // A connection that failed is not trusted again: the next group opens a new one.
            if connection.isClosed || PostgresStoreError.sqlState(of: error) == nil {
                writer.withLock { if $0 === connection { $0 = nil } }
                PostgresAccess.discard(connection)
            }
            throw error
        }
    }

    /// The writer's own connection, opened when there is none (or the last one closed). Commits run one at a time,
    /// so one connection serves them; a database that cannot be reached fails the commit at once instead of
    /// leaving it waiting for a connection from the pool.
    private func writerConnection() async throws -> PostgresConnection {
        if let connection = writer.withLock({ $0 }), !connection.isClosed { return connection }
        let connection = try await connect(id: 2)
        do {
            // A writer cut off in the middle of a turn (its transaction open, the append lock and its rows held) must
            // not hold up the other nodes: the server ends such a session after 10 idle seconds. And no group waits
            // for a lock more than 20 seconds: it is refused as unavailable instead.
            let logger = logger
            try await PostgresAccess.answered(within: .seconds(5), on: connection, about: "from the database") {
                try await connection.run("SET idle_in_transaction_session_timeout = '10s'", logger: logger)
                try await connection.run("SET lock_timeout = '20s'", logger: logger)
            }
        } catch {
            PostgresAccess.discard(connection)
            throw error
        }
        writer.withLock { $0 = connection }
        return connection
    }

    /// A new connection of its own (not the pool's), with the pool's settings.
    private func connect(id: Int) async throws -> PostgresConnection {
        try await PostgresAccess.connect(database, id: id, logger: logger)
    }

    /// One group in two round trips: the head and the ids already stored, then one statement that inserts every row
    /// (its own transaction, committed when it returns). When the head is not the one this process knows, what
    /// another writer appended is read first (its key changes count). If another writer appends between the two
    /// round trips, the statement collides with its rows (a position or an id already taken, or the gap-free
    /// trigger) and nothing of it is stored: the head is read again and the group planned anew.
    ///
    /// While other writers append too (seen within ``turnsFor``), groups take turns instead: each in a transaction
    /// that first takes ``appendLock``, so the head it reads stays the head until it commits. Two more round trips
    /// per group, and no collisions between writers that take turns.
    private func commitGroup(
        _ requests: [[VerifiedEvent]], from known: WriterState, recordedAt: Int64, on connection: PostgresConnection
    ) async throws -> (WriterState, [[AppendOutcome]]) {
        var before = known
        var attempt = 0
        while true {
            attempt += 1
            let turns = writers.withLock { $0.othersSeen.map { ContinuousClock.now - $0 < Self.turnsFor } ?? false }
            let logger = logger
            if turns {
                try await answered(within: .seconds(5), on: connection) {
                    try await connection.run("BEGIN", logger: logger)
                }
            }
            let plan: AppendPlan
            do {
                if turns {
                    // Up to the writer's lock_timeout (20 s) for the other writers' turns.
                    try await answered(within: .seconds(25), on: connection) {
                        try await connection.run("SELECT pg_advisory_xact_lock(\(Self.appendLock))", logger: logger)
                    }
                }
                let ids = AppendPlan.ids(of: requests)
                let (head, stored) = try await answered(within: .seconds(5), on: connection) {
                    try await Self.headAndStored(ids, connection, logger)
                }
                writers.withLock { if let own = $0.ownHead, own != head.size { $0.othersSeen = .now } }
                if head != before.head {
                    // Another writer appended since: its key changes count for this group's events.
                    before = try await answered(within: .seconds(10), on: connection) { [before] in
                        try await Self.state(at: head, after: before, connection, logger)
                    }
                }
                plan = AppendPlan(requests, from: before, recordedAt: max(recordedAt, before.head.lastRecordedAt)) {
                    stored[$0]
                }
            } catch {
                if turns { await rollBack(connection) }
                throw error
            }
            guard let first = plan.entries.first else {
                if turns { await rollBack(connection) }
                return (plan.state, plan.outcomes)
            }
            do {
                let insert = GroupInsert(plan: plan)
                // A group's insert takes well under a second here (8,192 events in about 0.5 s); one unanswered for 5
                // seconds is settled by reading back, and a retry of its events is answered as duplicates.
                _ = try await answered(within: .seconds(5), on: connection) {
                    try await connection.execute(insert, logger: logger)
                }
                if turns {
                    try await answered(within: .seconds(5), on: connection) {
                        try await connection.run("COMMIT", logger: logger)
                    }
                }
                writers.withLock { $0.ownHead = plan.state.head.size }
                return (plan.state, plan.outcomes)
            } catch let error as PSQLError where error.serverInfo != nil {
                // The server refused the statement: nothing of it is stored.
                if turns { await rollBack(connection) }
                let state = error.serverInfo?[.sqlState]
                guard state == "23505" || state == "VG002", attempt < Self.attempts else { throw error }
                writers.withLock { $0.othersSeen = .now }
                logger.info(
                    "the log grew under this writer; planning the group again",
                    metadata: ["store.attempt": "\(attempt)"])
            } catch {
                // The statement (or the transaction's commit) may or may not have been committed: the rows say.
                logger.warning(
                    "the database's answer to a commit was lost; reading back",
                    metadata: ["store.error": "\(errorCode(of: error))", "store.position": "\(first.position)"])
                if try await readBack(first) {
                    writers.withLock { $0.ownHead = plan.state.head.size }
                    return (plan.state, plan.outcomes)
                }
                // Not there when read back, but a statement the server was still running may commit after: the
                // outcome is unknown, not "nothing stored".
                throw PostgresStoreError(
                    .unknownOutcome, "the database did not confirm the commit, and it was not found when read back")
            }
        }
    }

    /// How often a group is planned again when other writers keep taking its positions.
    static let attempts = 16

    /// `work` on the writer's `connection`, answered within `deadline`; otherwise the writer's connection is given
    /// up and this throws `unreachable` (``PostgresAccess/answered(within:on:about:givingUp:_:)``): a group waiting
    /// for a statement that is never answered would hold up every client. An insert so abandoned is settled by
    /// reading back.
    private func answered<T: Sendable>(
        within deadline: Duration, on connection: PostgresConnection, _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await PostgresAccess.answered(
            within: deadline, on: connection, about: "from the database",
            givingUp: { writer.withLock { if $0 === connection { $0 = nil } } }, work)
    }

    /// Ends a turn's transaction that will not commit, if the connection still answers.
    private func rollBack(_ connection: PostgresConnection) async {
        let logger = logger
        _ = try? await answered(within: .seconds(2), on: connection) {
            try await connection.run("ROLLBACK", logger: logger)
        }
    }

    /// Whether `entry`, the first of a group whose commit went unanswered, is stored: the group is all there or not
    /// at all. Tries for a while on new connections; throws ``PostgresStoreError/Code/unknownOutcome`` when the
    /// database cannot be asked.
    private func readBack(_ entry: StoredEntry) async throws -> Bool {
        var delay = Duration.milliseconds(100)
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            do {
                let connection = try await connect(id: 3)
                defer { PostgresAccess.discard(connection) }
                let row = try await connection.rows(
                    "SELECT position, envelope FROM events WHERE event_id = \(ByteBuffer(bytes: entry.eventID.bytes))",
                    logger: logger
                ).first
                guard let row else { return false }
                let (position, envelope) = try row.decode((Int64, ByteBuffer).self)
                return position == entry.position && Array(envelope.readableBytesView) == entry.envelope
            } catch {
                guard ContinuousClock.now + delay < deadline else {
                    throw PostgresStoreError(
                        .unknownOutcome,
                        "the database did not answer a commit and cannot be asked whether it was stored")
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
    }

    /// Runs `body` on a connection from the pool (reads, and the writes that are not appends), failing as
    /// unreachable when none comes within ``readDeadline`` (a database that is away), and naming the server's errors
    /// in words. Once `body` has its connection, it takes as long as it takes.
    private func pooled<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        let client = client
        let location = database
        let logger = logger
        let leased = LeaseFlag()
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await client.withConnection { connection in
                        leased.value.store(true, ordering: .relaxed)
                        // A query on a connection whose server died may never be answered: the connection is given
                        // up (the pool replaces it) and the read fails, rather than waiting forever.
                        return try await PostgresAccess.answered(
                            within: Self.answerDeadline, on: connection, about: "from \(location)"
                        ) { try await body(connection, logger) }
                    }
                }
                group.addTask {
                    try await Task.sleep(for: Self.readDeadline)
                    // Leased in time: wait for the body (this task is cancelled when it ends).
                    while leased.value.load(ordering: .relaxed) { try await Task.sleep(for: .seconds(3600)) }
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    throw PostgresStoreError(.unreachable, "no connection to \(location) within 10 seconds")
                }
                return value
            }
        } catch let error as StoreError {
            throw error
        } catch {
            // A store error as on SQLite: the routes answer 503 unavailable for it.
            throw StoreError(.io, PostgresStoreError(error, while: "reading the log").description)
        }
    }

    package func unavailableMessage(for error: any Error) -> String {
        let error = PostgresStoreError(error, while: "committing")
        switch error.code {
        case .unknownOutcome:
            return "the database did not confirm the commit and cannot be reached to tell; retry: an event that was "
                + "stored is answered as a duplicate with its position"
        case .unreachable:
            return "the database cannot be reached; nothing was stored; retry later"
        default:
            return "the database refused the commit; nothing was stored; retry later"
        }
    }

    package func errorCode(of error: any Error) -> String {
        if let state = PostgresStoreError.sqlState(of: error) { return "SQLSTATE \(state)" }
        return PostgresStoreError(error, while: "").code.rawValue
    }

    // MARK: - Reads

    package func entries(after position: Int64, limit: Int) async throws -> [StoredEntry] {
        try await pooled { connection, logger in
            try await Self.entries(
                """
                SELECT position, event_id, recorded_at, envelope, leaf_hash, chain_hash FROM events
                WHERE position > \(position) ORDER BY position LIMIT \(Int64(limit))
                """, connection, logger)
        }
    }

    package func entries(at positions: [Int64]) async throws -> [StoredEntry] {
        guard !positions.isEmpty else { return [] }
        let found = try await pooled { connection, logger in
            try await Self.entries(
                """
                SELECT position, event_id, recorded_at, envelope, leaf_hash, chain_hash FROM events
                WHERE position = ANY(\(positions))
                """, connection, logger)
        }
        let byPosition = Dictionary(found.map { ($0.position, $0) }, uniquingKeysWith: { first, _ in first })
        return positions.compactMap { byPosition[$0] }
    }

    package func position(of eventID: EventID) async throws -> Int64? {
        try await pooled { connection, logger in
            try await connection.rows(
                "SELECT position FROM events WHERE event_id = \(ByteBuffer(bytes: eventID.bytes))", logger: logger
            ).first?.decode(Int64.self)
        }
    }

    package func containsBlocking(eventID: EventID) throws -> Bool {
        try Blocking.wait { try await self.position(of: eventID) != nil }
    }

    package func anchorHistory() async throws -> [AnchorChange] {
        try await pooled { connection, logger in try await Self.anchorChanges(connection, logger) }
    }

    package func readTree<T: Sendable>(_ body: @escaping @Sendable (StoredNodes) throws -> T) async throws -> T {
        try await pooled { connection, logger in
            try await LogTree.prefetched(body) { spans in try await Self.hashes(spans, connection, logger) }
        }
    }

    package func storedHashes(level: Int, first: UInt64, count: Int) async throws -> [[UInt8]] {
        let span = LogTree.Span(level: level, first: first, count: count)
        let spans = try await pooled { connection, logger in try await Self.hashes([span], connection, logger) }
        guard let hashes = spans[span], hashes.count == count else {
            throw StoreError(.corrupt, "the tree's level \(level) lacks hashes \(first)..<\(first + UInt64(count))")
        }
        return hashes
    }

    package func latestSignedHead() async throws -> (head: SignedHead, envelope: [UInt8])? {
        try await pooled { connection, logger in
            guard
                let row = try await connection.rows(
                    "SELECT size, chain_hash, issued_at, envelope FROM signed_heads ORDER BY seq DESC LIMIT 1",
                    logger: logger
                ).first
            else { return nil }
            let (size, chain, issued, envelope) = try row.decode((Int64, ByteBuffer, Int64, ByteBuffer).self)
            let head = SignedHead(
                size: size, chainHash: Array(chain.readableBytesView),
                issuedAt: Timestamp(microsecondsSinceEpoch: issued))
            return (head, Array(envelope.readableBytesView))
        }
    }

    package func latestCheckpoint() async throws -> EventStore.CheckpointRecord? {
        try await checkpoint("SELECT seq, size, note FROM checkpoints ORDER BY seq DESC LIMIT 1")
    }

    package func newestCosignedCheckpoint(covering position: Int64) async throws -> EventStore.CheckpointRecord? {
        try await checkpoint(
            """
            SELECT seq, size, note FROM checkpoints c WHERE size >= \(position)
            AND EXISTS (SELECT 1 FROM cosignatures s WHERE s.checkpoint_seq = c.seq)
            ORDER BY seq DESC LIMIT 1
            """)
    }

    private func checkpoint(_ query: PostgresQuery) async throws -> EventStore.CheckpointRecord? {
        try await pooled { connection, logger in
            guard let row = try await connection.rows(query, logger: logger).first else { return nil }
            let (seq, size, note) = try row.decode((Int64, Int64, ByteBuffer).self)
            return EventStore.CheckpointRecord(seq: seq, size: size, note: Array(note.readableBytesView))
        }
    }

    package func record(signedHead: (head: SignedHead, envelope: [UInt8])?, checkpoint: NewCheckpoint?) async throws {
        try await pooled { connection, logger in
            try await connection.run("BEGIN", logger: logger)
            do {
                try await Self.record(signedHead: signedHead, checkpoint: checkpoint, connection, logger)
                try await connection.run("COMMIT", logger: logger)
            } catch {
                try? await connection.run("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// The rows of ``record(signedHead:checkpoint:)``, inside its transaction.
    private static func record(
        signedHead: (head: SignedHead, envelope: [UInt8])?, checkpoint: NewCheckpoint?,
        _ connection: PostgresConnection, _ logger: Logger
    ) async throws {
        // Two nodes may sign at once (the leader's interval, an auditor's request to another node): the recorded
        // heads and checkpoints never go back in size, so a witness never sees the log shrink.
        try await connection.run("SELECT pg_advisory_xact_lock(\(Self.signLock))", logger: logger)
        let sizes = try await connection.rows(
            """
            SELECT (SELECT COALESCE(max(size), 0) FROM signed_heads), (SELECT COALESCE(max(size), 0) FROM checkpoints)
            """, logger: logger
        ).first
        var (headSize, checkpointSize): (Int64, Int64) = (0, 0)
        if let sizes { (headSize, checkpointSize) = try sizes.decode((Int64, Int64).self) }
        if let (head, envelope) = signedHead, head.size >= headSize {
            try await connection.run(
                """
                INSERT INTO signed_heads (size, chain_hash, issued_at, envelope)
                VALUES (\(head.size), \(ByteBuffer(bytes: head.chainHash)), \(head.issuedAt.microsecondsSinceEpoch),
                    \(ByteBuffer(bytes: envelope)))
                """, logger: logger)
        }
        if let checkpoint, checkpoint.size >= checkpointSize {
            try await connection.run(
                """
                INSERT INTO checkpoints (size, root_hash, issued_at, note)
                VALUES (\(checkpoint.size), \(ByteBuffer(bytes: checkpoint.rootHash)), \(checkpoint.issuedAt),
                    \(ByteBuffer(bytes: checkpoint.note)))
                """, logger: logger)
        }
    }

    package func cosignatureLines(of checkpoint: Int64) async throws -> [UInt8] {
        try await pooled { connection, logger in
            Array(
                try await connection.rows(
                    "SELECT line FROM cosignatures WHERE checkpoint_seq = \(checkpoint) ORDER BY seq", logger: logger
                ).map { try $0.decode(String.self) }.joined().utf8)
        }
    }

    package func recordCosignature(of checkpoint: Int64, witness: String, line: String, at time: Timestamp) async throws
    {
        try await pooled { connection, logger in
            try await connection.run(
                """
                INSERT INTO cosignatures (checkpoint_seq, witness, line, received_at)
                VALUES (\(checkpoint), \(witness), \(line), \(time.microsecondsSinceEpoch))
                ON CONFLICT (checkpoint_seq, witness) DO NOTHING
                """, logger: logger)
        }
    }

    package func cosignedSizes() async throws -> [String: Int64] {
        try await pooled { connection, logger in
            var sizes: [String: Int64] = [:]
            for try await (witness, size) in try await connection.query(
                """
                SELECT s.witness, MAX(c.size) FROM cosignatures s JOIN checkpoints c ON c.seq = s.checkpoint_seq
                GROUP BY s.witness
                """, logger: logger
            ).decode((String, Int64).self) {
                sizes[witness] = size
            }
            return sizes
        }
    }

    package func lastRegistration(of key: KeyID, before position: Int64) async throws -> StoredEntry? {
        try await pooled { connection, logger in
            try await Self.entries(
                """
                SELECT e.position, e.event_id, e.recorded_at, e.envelope, e.leaf_hash, e.chain_hash
                FROM key_events k JOIN events e ON e.position = k.position
                WHERE k.key_id = \(ByteBuffer(bytes: key.bytes)) AND k.change = 'registered' AND k.position < \(position)
                ORDER BY k.position DESC LIMIT 1
                """, connection, logger
            ).first
        }
    }

    package func verify(_ options: LogVerifier.Options) async -> Result<VerificationReport, StoreError> {
        do {
            return try await pooled { connection, logger in
                // One snapshot for the whole check, as a read transaction gives on SQLite.
                try await connection.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
                let snapshot = PostgresSnapshot(connection: connection, logger: logger)
                let result = await LogVerifier.onThreadOfItsOwn(lowerPriority: options.share != nil) {
                    try LogVerifier.verify(snapshot, options: options)
                }
                try await connection.run("COMMIT", logger: logger)
                return result
            }
        } catch {
            return .failure(
                StoreError(
                    .io,
                    "cannot read the log in \(database) for verification: \(PostgresStoreError(error, while: "reading"))"
                ))
        }
    }

    package func close() async {
        // Not waited for: a server that died may not answer a close.
        if let holder = leaderConnection.withLock({ $0.take() }) { PostgresAccess.discard(holder) }
        if let connection = writer.withLock({ $0.take() }) { PostgresAccess.discard(connection) }
        pool.cancel()
        await pool.value
    }

    // MARK: - Rows

    static func head(_ connection: PostgresConnection, _ logger: Logger) async throws -> LogHead {
        guard
            let row = try await connection.rows(
                "SELECT position, chain_hash, recorded_at FROM events ORDER BY position DESC LIMIT 1", logger: logger
            ).first
        else { return .empty }
        let (position, chain, recordedAt) = try row.decode((Int64, ByteBuffer, Int64).self)
        return LogHead(size: position, chainHash: Array(chain.readableBytesView), lastRecordedAt: recordedAt)
    }

    /// The writer's state at `head`: the registry replayed from the anchors and key events, the tree's frontier.
    static func state(at head: LogHead, _ connection: PostgresConnection, _ logger: Logger) async throws -> WriterState
    {
        let changes = try await anchorChanges(connection, logger)
        var replay = RegistryReplay(anchorChanges: changes)
        // Rows another writer added after `head` was read are not part of this state.
        for (position, change) in try await keyEvents(connection, logger) where position <= head.size {
            replay.advance(to: position)
            replay.apply(try change.get(), at: position)
        }
        replay.advance(to: head.size + 1)
        let tree = try await LogTree.prefetched({ nodes in try MerkleFrontier(size: UInt64(head.size), source: nodes) })
        {
            spans in try await hashes(spans, connection, logger)
        }
        return WriterState(head: head, registry: replay.registry, tree: tree, anchorChanges: changes.count)
    }

    /// The writer's state at `head`, brought up from `known`, an earlier state of this log: the leaf hashes and key
    /// events appended after it, and the anchor changes that take effect there, read in one statement and applied.
    /// What it reads grows with what was appended since, not with the log or its registry (a node that follows
    /// another's appends does this every few hundred milliseconds, and inside each of its turns). When an anchor
    /// change was recorded after `known` was read (a node started with other anchors), or when `known` is further
    /// behind than ``catchUpLimit`` (reading the tree's edge is then cheaper than every leaf since), the whole state
    /// is read again (``state(at:_:_:)``).
    static func state(
        at head: LogHead, after known: WriterState, _ connection: PostgresConnection, _ logger: Logger
    ) async throws -> WriterState {
        guard head.size > known.head.size, head.size - known.head.size <= catchUpLimit else {
            return try await state(at: head, connection, logger)
        }
        var leaves: [[UInt8]] = []
        var keyEvents: [(position: Int64, change: KeyChange)] = []
        var pendingAnchors: [AnchorChange] = []
        var anchorRows: Int64 = -1
        for try await (kind, position, bytes, change, publicKey, role, name) in try await connection.query(
            Growth.query(from: known.head.size, to: head.size), logger: logger
        ).decode((Int32, Int64, ByteBuffer?, String?, ByteBuffer?, String?, String?).self) {
            switch kind {
            case Growth.leaf:
                guard let bytes else {
                    throw StoreError(.corrupt, "the entry at position \(position) has no leaf hash")
                }
                leaves.append(Array(bytes.readableBytesView))
            case Growth.keyEvent:
                guard let bytes, let change else {
                    throw StoreError(.corrupt, "the key event at position \(position) has no key id or change")
                }
                keyEvents.append(
                    (
                        position,
                        try StoredAnchors.keyChange(
                            position: position, keyID: Array(bytes.readableBytesView), change: change,
                            publicKey: publicKey.map { Array($0.readableBytesView) }, role: role, name: name)
                    ))
            case Growth.anchorChange:
                guard let bytes, let change, let role, let name else {
                    throw StoreError(.corrupt, "an anchor change recorded at log size \(position) is incomplete")
                }
                pendingAnchors.append(
                    try StoredAnchors.change(
                        logSize: position, publicKey: Array(bytes.readableBytesView), role: role, name: name,
                        kind: change))
            case Growth.anchorCount:
                anchorRows = position
            default:
                throw StoreError(.corrupt, "the log's growth was read with a row of unknown kind \(kind)")
            }
        }
        guard anchorRows == Int64(known.anchorChanges) else { return try await state(at: head, connection, logger) }
        guard leaves.count == Int(head.size - known.head.size) else {
            throw StoreError(
                .corrupt,
                "positions \(known.head.size + 1)...\(head.size) hold \(leaves.count) entries, not one each")
        }
        var replay = RegistryReplay(continuing: known.registry, anchorChanges: pendingAnchors)
        for (position, change) in keyEvents {
            replay.advance(to: position)
            replay.apply(change, at: position)
        }
        replay.advance(to: head.size + 1)
        var tree = known.tree
        for leaf in leaves { tree.append(leaf) }
        return WriterState(head: head, registry: replay.registry, tree: tree, anchorChanges: known.anchorChanges)
    }

    /// How far behind the head a state may be for ``state(at:after:_:_:)`` to read what was appended since.
    static let catchUpLimit: Int64 = 65_536

    /// What ``state(at:after:_:_:)`` reads, one row each, told apart by the first column: the leaf hashes and key
    /// events after a size up to another, in position order; the anchor changes recorded for sizes between, in the
    /// order recorded; and how many anchor changes are recorded in all.
    enum Growth {
        static let leaf: Int32 = 0
        static let keyEvent: Int32 = 1
        static let anchorChange: Int32 = 2
        static let anchorCount: Int32 = 3

        static func query(from known: Int64, to head: Int64) -> PostgresQuery {
            """
            SELECT 0, position, leaf_hash, NULL::text, NULL::bytea, NULL::text, NULL::text, position AS seq
                FROM events WHERE position > \(known) AND position <= \(head)
            UNION ALL
            SELECT 1, position, key_id, change, public_key, role, name, position
                FROM key_events WHERE position > \(known) AND position <= \(head)
            UNION ALL
            SELECT 2, log_size, public_key, change, NULL::bytea, role, name, seq
                FROM trust_anchors WHERE log_size > \(known) AND log_size <= \(head)
            UNION ALL
            SELECT 3, count(*), NULL::bytea, NULL::text, NULL::bytea, NULL::text, NULL::text, 0 FROM trust_anchors
            ORDER BY 1, seq
            """
        }
    }

    /// The key events table in position order, each row read as the change it records (or why it cannot be).
    static func keyEvents(
        _ connection: PostgresConnection, _ logger: Logger
    ) async throws -> [(position: Int64, change: Result<KeyChange, StoreError>)] {
        var events: [(position: Int64, change: Result<KeyChange, StoreError>)] = []
        for try await (position, keyID, change, publicKey, role, name) in try await connection.query(
            "SELECT position, key_id, change, public_key, role, name FROM key_events ORDER BY position", logger: logger
        ).decode((Int64, ByteBuffer, String, ByteBuffer?, String?, String?).self) {
            let keyChange = Result { () throws(StoreError) in
                try StoredAnchors.keyChange(
                    position: position, keyID: Array(keyID.readableBytesView), change: change,
                    publicKey: publicKey.map { Array($0.readableBytesView) }, role: role, name: name)
            }
            events.append((position, keyChange))
        }
        return events
    }

    static func anchorChanges(_ connection: PostgresConnection, _ logger: Logger) async throws -> [AnchorChange] {
        var changes: [AnchorChange] = []
        for try await (logSize, publicKey, role, name, kind) in try await connection.query(
            "SELECT log_size, public_key, role, name, change FROM trust_anchors ORDER BY seq", logger: logger
        ).decode((Int64, ByteBuffer, String, String, String).self) {
            changes.append(
                try StoredAnchors.change(
                    logSize: logSize, publicKey: Array(publicKey.readableBytesView), role: role, name: name, kind: kind)
            )
        }
        return changes
    }

    /// The head of the log and the events among `ids` it holds (as a duplicate is answered), in one query.
    static func headAndStored(
        _ ids: [EventID], _ connection: PostgresConnection, _ logger: Logger
    ) async throws -> (head: LogHead, stored: [EventID: AppendPlan.Stored]) {
        var head = LogHead.empty
        var found: [EventID: AppendPlan.Stored] = [:]
        for try await (id, position, recordedAt, envelope, chain) in try await connection.execute(
            HeadAndStored(ids: ids), logger: logger)
        {
            guard let id, let envelope else {
                head = LogHead(size: position, chainHash: Array(chain.readableBytesView), lastRecordedAt: recordedAt)
                continue
            }
            guard let eventID = EventID(bytes: Array(id.readableBytesView)) else {
                throw StoreError(.corrupt, "the entry at position \(position) has an event id that is not 16 bytes")
            }
            found[eventID] = AppendPlan.Stored(
                position: position, envelope: Array(envelope.readableBytesView),
                chainHash: Array(chain.readableBytesView))
        }
        return (head, found)
    }

    static func entries(
        _ query: PostgresQuery, _ connection: PostgresConnection, _ logger: Logger
    ) async throws -> [StoredEntry] {
        var entries: [StoredEntry] = []
        for try await (position, id, recordedAt, envelope, leaf, chain) in try await connection.query(
            query, logger: logger
        ).decode((Int64, ByteBuffer, Int64, ByteBuffer, ByteBuffer, ByteBuffer).self) {
            guard let eventID = EventID(bytes: Array(id.readableBytesView)) else {
                throw StoreError(.corrupt, "the entry at position \(position) has an event id that is not 16 bytes")
            }
            entries.append(
                StoredEntry(
                    position: position, eventID: eventID, recordedAt: recordedAt,
                    envelope: Array(envelope.readableBytesView), leafHash: Array(leaf.readableBytesView),
                    chainHash: Array(chain.readableBytesView)))
        }
        return entries
    }

    /// The hashes of `spans`, in two statements at most (leaf hashes, stored nodes).
    static func hashes(
        _ spans: [LogTree.Span], _ connection: PostgresConnection, _ logger: Logger
    ) async throws -> [LogTree.Span: [[UInt8]]] {
        var result: [LogTree.Span: [[UInt8]]] = [:]
        let leaves = spans.filter { $0.level == 0 }
        if !leaves.isEmpty {
            var byPosition: [Int64: [UInt8]] = [:]
            let ranges = leaves.map { span -> String in
                let last = span.first + UInt64(span.count)
                return "(position > \(span.first) AND position <= \(last))"
            }
            for try await (position, hash) in try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT position, leaf_hash FROM events WHERE " + ranges.joined(separator: " OR ")),
                logger: logger
            ).decode((Int64, ByteBuffer).self) {
                byPosition[position] = Array(hash.readableBytesView)
            }
            for span in leaves {
                result[span] = (0..<span.count).compactMap { byPosition[Int64(span.first) + Int64($0) + 1] }
            }
        }
        let nodes = spans.filter { $0.level > 0 }
        if !nodes.isEmpty {
            var byNode: [Int64: [Int64: [UInt8]]] = [:]
            let ranges = nodes.map { span -> String in
                let end = span.first + UInt64(span.count)
                return "(level = \(span.level) AND idx >= \(span.first) AND idx < \(end))"
            }
            for try await (level, index, hash) in try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT level, idx, hash FROM tree_nodes WHERE " + ranges.joined(separator: " OR ")),
                logger: logger
            ).decode((Int64, Int64, ByteBuffer).self) {
                byNode[level, default: [:]][index] = Array(hash.readableBytesView)
            }
            for span in nodes {
                let level = byNode[Int64(span.level)] ?? [:]
                result[span] = (0..<span.count).compactMap { level[Int64(span.first) + Int64($0)] }
            }
        }
        return result
    }
}

// MARK: - The writer's two statements, prepared once per connection

/// The head (the row without an id) and the stored events among some ids.
struct HeadAndStored: PostgresPreparedStatement {
    static let name = "vigil_head_and_stored"
    static let sql = """
        (SELECT NULL::bytea, position, recorded_at, NULL::bytea, chain_hash FROM events ORDER BY position DESC LIMIT 1)
        UNION ALL
        SELECT event_id, position, recorded_at, envelope, chain_hash FROM events WHERE event_id = ANY($1::bytea[])
        """
    typealias Row = (ByteBuffer?, Int64, Int64, ByteBuffer?, ByteBuffer)

    let ids: [EventID]

    func makeBindings() throws -> PostgresBindings {
        var binds = PostgresBindings(capacity: 1)
        binds.append(ids.map { ByteBuffer(bytes: $0.bytes) })
        return binds
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}

/// A planned group's rows, every table's as arrays unnested, in one statement (one transaction).
struct GroupInsert: PostgresPreparedStatement {
    static let name = "vigil_group_insert"
    static let sql = """
        WITH stored_events AS (
            INSERT INTO events (position, event_id, recorded_at, envelope, leaf_hash, chain_hash)
            SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bigint[], $4::bytea[], $5::bytea[], $6::bytea[])
        ), stored_nodes AS (
            INSERT INTO tree_nodes (level, idx, hash) SELECT * FROM unnest($7::bigint[], $8::bigint[], $9::bytea[])
        )
        INSERT INTO key_events (position, key_id, change, public_key, role, name)
        SELECT position, key_id, 'registered', public_key, role, name
            FROM unnest($10::bigint[], $11::bytea[], $12::bytea[], $13::text[], $14::text[])
                AS registered (position, key_id, public_key, role, name)
        UNION ALL
        SELECT position, key_id, 'revoked', NULL, NULL, NULL
            FROM unnest($15::bigint[], $16::bytea[]) AS revoked (position, key_id)
        """
    typealias Row = ()

    let plan: AppendPlan

    func makeBindings() throws -> PostgresBindings {
        let entries = plan.entries
        let registered = plan.keyChanges.compactMap { position, change -> (Int64, KeyRegistered)? in
            if case .registered(let body) = change { (position, body) } else { nil }
        }
        let revoked = plan.keyChanges.compactMap { position, change -> (Int64, KeyID)? in
            if case .revoked(let id) = change { (position, id) } else { nil }
        }
        func bytes(_ values: [[UInt8]]) -> [ByteBuffer] { values.map { ByteBuffer(bytes: $0) } }
        var binds = PostgresBindings(capacity: 16)
        binds.append(entries.map(\.position))
        binds.append(bytes(entries.map(\.eventID.bytes)))
        binds.append(entries.map(\.recordedAt))
        binds.append(bytes(entries.map(\.envelope)))
        binds.append(bytes(entries.map(\.leafHash)))
        binds.append(bytes(entries.map(\.chainHash)))
        binds.append(plan.treeNodes.map { Int64($0.level) })
        binds.append(plan.treeNodes.map { Int64($0.index) })
        binds.append(bytes(plan.treeNodes.map(\.hash)))
        binds.append(registered.map(\.0))
        binds.append(bytes(registered.map(\.1.keyID.bytes)))
        binds.append(bytes(registered.map(\.1.publicKey)))
        binds.append(registered.map(\.1.role.rawValue))
        binds.append(registered.map(\.1.name))
        binds.append(revoked.map(\.0))
        binds.append(bytes(revoked.map(\.1.bytes)))
        return binds
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {}
}

/// Whether a read got its connection from the pool (``PostgresLog``'s deadline applies only until it does).
private final class LeaseFlag: Sendable {
    let value = Atomic<Bool>(false)
}
