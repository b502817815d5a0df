import Foundation
import GRDB
package import VigilModel

/// What a replay reads from a log: its entries in order and its trust-anchor history. The daemon's store and a
/// reader of a store file both are one.
package protocol LogSource: Sendable {
    func entries(after position: Int64, limit: Int) async throws -> [StoredEntry]
    func anchorHistory() async throws -> [AnchorChange]
}

extension EventStore: LogSource {}
extension LogReader: LogSource {}

/// Reads a store file without the daemon, on a read-only connection: for rebuilds and exports.
package final class LogReader: Sendable {
    package let path: String
    private let database: DatabaseQueue

    package init(path: String) throws(StoreError) {
        self.path = path
        database = try Self.openReadOnly(path, label: "vigil.reader")
    }

    /// Opens a store file on a read-only connection (verification, exports, backups, rebuilds): a missing file,
    /// or one that is not a Vigil event store, is refused with a clear error.
    static func openReadOnly(_ path: String, label: String) throws(StoreError) -> DatabaseQueue {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError(.io, "no database file at \(path)") }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            configuration.label = label
            let database = try DatabaseQueue(path: path, configuration: configuration)
            let isStore = try database.read { db in try db.tableExists("events") && db.tableExists("trust_anchors") }
            guard isStore else {
                try? database.close()
                throw StoreError(.corrupt, "\(path) is not a Vigil event store")
            }
            return database
        } catch {
            throw StoreError(error, while: "cannot read \(path)")
        }
    }

    package func entries(after position: Int64, limit: Int) throws -> [StoredEntry] {
        try database.read { db in try SQLiteLog.fetchEntries(db, after: position, limit: limit) }
    }

    /// Whether the log holds an event with this id.
    package func contains(eventID: EventID) throws -> Bool {
        try database.read { db in try SQLiteLog.contains(eventID, db) }
    }

    package func anchorHistory() throws -> [AnchorChange] {
        try database.read { db in try SQLiteLog.fetchAnchorChanges(db) }
    }

    /// The last checkpoint the daemon signed.
    package func latestCheckpoint() throws -> EventStore.CheckpointRecord? {
        try database.read { db in try SQLiteLog.latestCheckpoint(db) }
    }

    package func size() throws -> Int64 {
        try database.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(position), 0) FROM events") ?? 0 }
    }

    package func close() {
        try? database.close()
    }
}
