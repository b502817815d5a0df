import Foundation
import GRDB
import GRDBSQLite
package import VigilModel

/// An entry's columns as stored, read for verification.
package struct LogSnapshotEntry: Sendable {
    package let position: Int64
    package let eventID: [UInt8]
    package let recordedAt: Int64
    package let envelope: [UInt8]
    package let leafHash: [UInt8]
    package let chainHash: [UInt8]

    package init(
        position: Int64, eventID: [UInt8], recordedAt: Int64, envelope: [UInt8], leafHash: [UInt8], chainHash: [UInt8]
    ) {
        self.position = position
        self.eventID = eventID
        self.recordedAt = recordedAt
        self.envelope = envelope
        self.leafHash = leafHash
        self.chainHash = chainHash
    }
}

/// A signed head as stored: its size, chain hash, issue time (Unix microseconds) and envelope.
package typealias LogSnapshotSignedHead = (size: Int64, chainHash: [UInt8], issuedAt: Int64, envelope: [UInt8])

/// A checkpoint as stored: its size, root hash and signed note.
package typealias LogSnapshotCheckpoint = (size: Int64, rootHash: [UInt8], note: [UInt8])

/// One consistent view of a stored log, read on the calling thread: what ``LogVerifier`` checks, whichever
/// database holds the log (on SQLite, short reads that go no further than the log's end when the snapshot was
/// taken; on PostgreSQL, a repeatable-read transaction).
package protocol LogSnapshot {
    /// Every change of the trust anchors, in the order recorded.
    func anchorChanges() throws -> [AnchorChange]
    /// Whether the store keeps the Merkle tree's nodes (a store from before the tree does not).
    func hasTree() throws -> Bool
    /// The signed heads of `size` entries or more, in the order signed.
    func signedHeads(fromSize size: Int64) throws -> [LogSnapshotSignedHead]
    /// The signed head of the largest size (the first signed of that size).
    func largestSignedHead() throws -> LogSnapshotSignedHead?
    /// The checkpoints of `size` entries or more, in the order issued.
    func checkpoints(fromSize size: Int64) throws -> [LogSnapshotCheckpoint]
    /// Entries after `position`, in position order, at most `limit`.
    func rawEntries(after position: Int64, limit: Int) throws -> [LogSnapshotEntry]
    /// The key events table in position order, each row read as the change it records (nil: unreadable).
    func keyEvents() throws -> [(position: Int64, change: KeyChange?)]
    /// A stored tree node, if the store has it.
    func treeNode(level: Int, index: UInt64) throws -> [UInt8]?
    /// How many nodes the store keeps at each level.
    func treeLevelCounts() throws -> [(level: Int, count: Int64)]
    /// The stored tree's perfect subtrees.
    var nodes: any MerkleNodeSource { get }
}

/// The log of an SQLite store as it stood when the snapshot was taken, read in one short read transaction per
/// call rather than in one transaction held for the whole check.
///
/// A read transaction held for a check of many seconds would keep SQLite from copying the write-ahead log into
/// the file past the moment it began: the log would grow meanwhile, and the first commit after the check would
/// copy and sync all of it while its requests wait. The log is append-only, so the snapshot need not hold a
/// transaction to stay consistent: it notes, in one read, the last position, signed head and checkpoint and the
/// stored tree's shape, and reads nothing past them afterwards. Rows at or below those marks never change in a
/// store that holds; one that was changed is what the check is there to find.
final class SQLiteSnapshot: LogSnapshot {
    private let database: DatabaseQueue
    /// The last position, signed head (`seq`) and checkpoint (`seq`) when the snapshot was taken.
    private let lastPosition: Int64
    private let lastSignedHead: Int64
    private let lastCheckpoint: Int64
    private let recordedAnchorChanges: [AnchorChange]
    private let storesTree: Bool
    private let levelCounts: [(level: Int, count: Int64)]

    init(_ database: DatabaseQueue) throws {
        self.database = database
        (lastPosition, lastSignedHead, lastCheckpoint, recordedAnchorChanges, storesTree, levelCounts) =
            try database.read { db in
                let storesTree = try db.tableExists("tree_nodes")
                func last(_ sql: String) throws -> Int64 { try Int64.fetchOne(db, sql: sql) ?? 0 }
                return (
                    try last("SELECT max(position) FROM events"), try last("SELECT max(seq) FROM signed_heads"),
                    storesTree ? try last("SELECT max(seq) FROM checkpoints") : 0,
                    try SQLiteLog.fetchAnchorChanges(db), storesTree,
                    storesTree
                        ? try Row.fetchAll(db, sql: "SELECT level, COUNT(*) FROM tree_nodes GROUP BY level").map {
                            ($0[0], $0[1])
                        } : []
                )
            }
    }

    func anchorChanges() throws -> [AnchorChange] { recordedAnchorChanges }

    func hasTree() throws -> Bool { storesTree }

    private func signedHeads(_ tail: String, _ arguments: StatementArguments) throws -> [LogSnapshotSignedHead] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT size, chain_hash, issued_at, envelope FROM signed_heads WHERE seq <= ? " + tail,
                arguments: [lastSignedHead] + arguments
            )
        }
        .map { row -> LogSnapshotSignedHead in
            (size: row[0], chainHash: [UInt8](row[1] as Data), issuedAt: row[2], envelope: [UInt8](row[3] as Data))
        }
    }

    func signedHeads(fromSize size: Int64) throws -> [LogSnapshotSignedHead] {
        try signedHeads("AND size >= ? ORDER BY seq", [size])
    }

    func largestSignedHead() throws -> LogSnapshotSignedHead? {
        try signedHeads("ORDER BY size DESC, seq LIMIT 1", []).first
    }

    func checkpoints(fromSize size: Int64) throws -> [LogSnapshotCheckpoint] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT size, root_hash, note FROM checkpoints WHERE seq <= ? AND size >= ? ORDER BY seq",
                arguments: [lastCheckpoint, size])
        }.map { row -> LogSnapshotCheckpoint in
            (size: row[0], rootHash: [UInt8](row[1] as Data), note: [UInt8](row[2] as Data))
        }
    }

    func rawEntries(after position: Int64, limit: Int) throws -> [LogSnapshotEntry] {
        try database.read { db in
            var entries: [LogSnapshotEntry] = []
            entries.reserveCapacity(limit)
            let statement = try db.cachedStatement(
                sql: """
                    SELECT position, event_id, recorded_at, envelope, leaf_hash, chain_hash FROM events
                    WHERE position > ? AND position <= ? ORDER BY position LIMIT ?
                    """
            )
            let rows = try Row.fetchCursor(statement, arguments: [position, lastPosition, limit])
            // The blobs are copied once, straight from SQLite's buffers (the cursor only steps the statement).
            let sqlite = statement.sqliteStatement
            func blob(_ column: Int32) -> [UInt8] { SQLiteLog.blob(sqlite, column) }
            while try rows.next() != nil {
                entries.append(
                    LogSnapshotEntry(
                        position: sqlite3_column_int64(sqlite, 0), eventID: blob(1),
                        recordedAt: sqlite3_column_int64(sqlite, 2), envelope: blob(3), leafHash: blob(4),
                        chainHash: blob(5)))
            }
            return entries
        }
    }

    func keyEvents() throws -> [(position: Int64, change: KeyChange?)] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT position, key_id, change, public_key, role, name FROM key_events WHERE position <= ?
                    ORDER BY position
                    """, arguments: [lastPosition]
            ).map { row in
                let position: Int64 = row[0]
                return (position, try? SQLiteLog.keyChange(position: position, row: row))
            }
        }
    }

    func treeNode(level: Int, index: UInt64) throws -> [UInt8]? {
        try database.read { db in
            try Data.fetchOne(
                db.cachedStatement(sql: "SELECT hash FROM tree_nodes WHERE level = ? AND idx = ?"),
                arguments: [level, Int64(index)]
            ).map { [UInt8]($0) }
        }
    }

    func treeLevelCounts() throws -> [(level: Int, count: Int64)] { levelCounts }

    var nodes: any MerkleNodeSource { Nodes(database: database) }

    /// The stored tree's perfect subtrees, each read in a transaction of its own (nodes never change once stored).
    private struct Nodes: MerkleNodeSource {
        let database: DatabaseQueue

        func hash(level: Int, index: UInt64) throws -> [UInt8] {
            try database.read { db in try LogTree.Nodes(db: db).hash(level: level, index: index) }
        }
    }
}

extension LogVerifier {
    /// Runs a check on a thread of its own (it reads and hashes for a while and must not hold a thread of the
    /// cooperative pool); with `lowerPriority`, the thread runs at nice 10.
    package static func onThreadOfItsOwn(
        lowerPriority: Bool, _ check: @escaping @Sendable () throws -> VerificationReport
    ) async -> Result<VerificationReport, StoreError> {
        await Parallel.onThreadOfItsOwn(lowerPriority: lowerPriority) {
            Result { () throws(StoreError) -> VerificationReport in
                do {
                    return try check()
                } catch {
                    throw StoreError(error, while: "cannot verify the log")
                }
            }
        }
    }
}
