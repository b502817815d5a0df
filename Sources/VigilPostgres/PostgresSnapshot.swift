import Dispatch
import Logging
import NIOCore
import PostgresNIO
import Synchronization
import VigilModel
import VigilStore

/// Waits on the calling thread for async work: for the few callers that must answer synchronously (the verifier,
/// which runs on a thread of its own, and the alert rules' question to the log inside the views' transaction, on
/// GRDB's writer queue). Never called from a task of the cooperative pool, which it would block.
enum Blocking {
    static func wait<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        // The work runs on the pool while this thread waits: an unstructured task is the bridge.
        Task {
            let outcome = await Result { try await work() }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}

/// A log snapshot on one PostgreSQL connection inside a repeatable-read transaction, read synchronously by
/// ``LogVerifier`` on its own thread.
struct PostgresSnapshot: LogSnapshot, Sendable {
    let connection: PostgresConnection
    let logger: Logger

    private func rows<Row: Sendable>(
        _ query: PostgresQuery, _ decode: @escaping @Sendable (PostgresRow) throws -> Row
    ) throws -> [Row] {
        let connection = connection
        let logger = logger
        return try Blocking.wait {
            var rows: [Row] = []
            for try await row in try await connection.query(query, logger: logger) { rows.append(try decode(row)) }
            return rows
        }
    }

    private static func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    func anchorChanges() throws -> [AnchorChange] {
        let connection = connection
        let logger = logger
        return try Blocking.wait { try await PostgresLog.anchorChanges(connection, logger) }
    }

    func hasTree() throws -> Bool { true }

    private func signedHeads(_ tail: String) throws -> [LogSnapshotSignedHead] {
        try rows(PostgresQuery(unsafeSQL: "SELECT size, chain_hash, issued_at, envelope FROM signed_heads " + tail)) {
            let (size, chain, issued, envelope) = try $0.decode((Int64, ByteBuffer, Int64, ByteBuffer).self)
            return (size: size, chainHash: Self.bytes(chain), issuedAt: issued, envelope: Self.bytes(envelope))
        }
    }

    func signedHeads(fromSize size: Int64) throws -> [LogSnapshotSignedHead] {
        try signedHeads("WHERE size >= \(size) ORDER BY seq")
    }

    func largestSignedHead() throws -> LogSnapshotSignedHead? {
        try signedHeads("ORDER BY size DESC, seq LIMIT 1").first
    }

    func checkpoints(fromSize size: Int64) throws -> [LogSnapshotCheckpoint] {
        try rows("SELECT size, root_hash, note FROM checkpoints WHERE size >= \(size) ORDER BY seq") {
            let (size, root, note) = try $0.decode((Int64, ByteBuffer, ByteBuffer).self)
            return (size: size, rootHash: Self.bytes(root), note: Self.bytes(note))
        }
    }

    func rawEntries(after position: Int64, limit: Int) throws -> [LogSnapshotEntry] {
        try rows(
            """
            SELECT position, event_id, recorded_at, envelope, leaf_hash, chain_hash FROM events
            WHERE position > \(position) ORDER BY position LIMIT \(Int64(limit))
            """
        ) {
            let (position, id, recordedAt, envelope, leaf, chain) = try $0.decode(
                (Int64, ByteBuffer, Int64, ByteBuffer, ByteBuffer, ByteBuffer).self)
            return LogSnapshotEntry(
                position: position, eventID: Self.bytes(id), recordedAt: recordedAt, envelope: Self.bytes(envelope),
                leafHash: Self.bytes(leaf), chainHash: Self.bytes(chain))
        }
    }

    func keyEvents() throws -> [(position: Int64, change: KeyChange?)] {
        let connection = connection
        let logger = logger
        return try Blocking.wait { try await PostgresLog.keyEvents(connection, logger) }.map { ($0, try? $1.get()) }
    }

    func treeNode(level: Int, index: UInt64) throws -> [UInt8]? {
        try rows("SELECT hash FROM tree_nodes WHERE level = \(Int64(level)) AND idx = \(Int64(index))") {
            Self.bytes(try $0.decode(ByteBuffer.self))
        }.first
    }

    func treeLevelCounts() throws -> [(level: Int, count: Int64)] {
        try rows("SELECT level, COUNT(*) FROM tree_nodes GROUP BY level") {
            let (level, count) = try $0.decode((Int64, Int64).self)
            return (Int(level), count)
        }
    }

    var nodes: any MerkleNodeSource { SnapshotNodes(snapshot: self) }
}

/// The stored tree's perfect subtrees, read through a snapshot (a check from the last signed head reads a few).
private struct SnapshotNodes: MerkleNodeSource {
    let snapshot: PostgresSnapshot

    func hash(level: Int, index: UInt64) throws -> [UInt8] {
        let span = LogTree.Span(level: level, index: index)
        let connection = snapshot.connection
        let logger = snapshot.logger
        let spans = try Blocking.wait { try await PostgresLog.hashes([span], connection, logger) }
        guard let hashes = spans[span], hashes.count == span.count else {
            throw StoreError(.corrupt, "the tree's level \(span.level) lacks hashes from \(span.first)")
        }
        return LogTree.reduce(hashes)
    }
}
