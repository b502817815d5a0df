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
/// database holds the log (a read transaction on SQLite, a repeatable-read transaction on PostgreSQL).
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

/// A log snapshot over an SQLite read transaction.
struct SQLiteSnapshot: LogSnapshot {
    let db: Database

    func anchorChanges() throws -> [AnchorChange] { try SQLiteLog.fetchAnchorChanges(db) }

    func hasTree() throws -> Bool { try db.tableExists("tree_nodes") }

    private func signedHeads(_ tail: String, _ arguments: StatementArguments) throws -> [LogSnapshotSignedHead] {
        try Row.fetchAll(
            db, sql: "SELECT size, chain_hash, issued_at, envelope FROM signed_heads " + tail, arguments: arguments
        )
        .map { row -> LogSnapshotSignedHead in
            (size: row[0], chainHash: [UInt8](row[1] as Data), issuedAt: row[2], envelope: [UInt8](row[3] as Data))
        }
    }

    func signedHeads(fromSize size: Int64) throws -> [LogSnapshotSignedHead] {
        try signedHeads("WHERE size >= ? ORDER BY seq", [size])
    }

    func largestSignedHead() throws -> LogSnapshotSignedHead? {
        try signedHeads("ORDER BY size DESC, seq LIMIT 1", []).first
    }

    func checkpoints(fromSize size: Int64) throws -> [LogSnapshotCheckpoint] {
        try Row.fetchAll(
            db, sql: "SELECT size, root_hash, note FROM checkpoints WHERE size >= ? ORDER BY seq", arguments: [size]
        ).map { row -> LogSnapshotCheckpoint in
            (size: row[0], rootHash: [UInt8](row[1] as Data), note: [UInt8](row[2] as Data))
        }
    }

    func rawEntries(after position: Int64, limit: Int) throws -> [LogSnapshotEntry] {
        var entries: [LogSnapshotEntry] = []
        entries.reserveCapacity(limit)
        let statement = try db.cachedStatement(
            sql:
                "SELECT position, event_id, recorded_at, envelope, leaf_hash, chain_hash FROM events WHERE position > ? ORDER BY position LIMIT ?"
        )
        let rows = try Row.fetchCursor(statement, arguments: [position, limit])
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

    func keyEvents() throws -> [(position: Int64, change: KeyChange?)] {
        try Row.fetchAll(
            db, sql: "SELECT position, key_id, change, public_key, role, name FROM key_events ORDER BY position"
        ).map { row in
            let position: Int64 = row[0]
            return (position, try? SQLiteLog.keyChange(position: position, row: row))
        }
    }

    func treeNode(level: Int, index: UInt64) throws -> [UInt8]? {
        try Data.fetchOne(
            db.cachedStatement(sql: "SELECT hash FROM tree_nodes WHERE level = ? AND idx = ?"),
            arguments: [level, Int64(index)]
        ).map { [UInt8]($0) }
    }

    func treeLevelCounts() throws -> [(level: Int, count: Int64)] {
        try Row.fetchAll(db, sql: "SELECT level, COUNT(*) FROM tree_nodes GROUP BY level").map { ($0[0], $0[1]) }
    }

    var nodes: any MerkleNodeSource { LogTree.Nodes(db: db) }
}

extension LogVerifier {
    /// Runs a check on a thread of its own (it reads and hashes for a while and must not hold a thread of the
    /// cooperative pool); with `lowerPriority`, the thread runs at nice 10.
    package static func onThreadOfItsOwn(
        lowerPriority: Bool, _ check: @escaping @Sendable () throws -> VerificationReport
    ) async -> Result<VerificationReport, StoreError> {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                // On Linux the nice value belongs to the thread: this lowers the check alone.
                if lowerPriority { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10) }
                continuation.resume(
                    returning: Result { () throws(StoreError) -> VerificationReport in
                        do {
                            return try check()
                        } catch {
                            throw StoreError(error, while: "cannot verify the log")
                        }
                    })
            }
        }
    }
}
