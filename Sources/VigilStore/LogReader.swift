import Foundation
import GRDB
package import VigilModel

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
        try database.read { db in try EventStore.fetchEntries(db, after: position, limit: limit) }
    }

    /// Whether the log holds an event with this id.
    package func contains(eventID: EventID) throws -> Bool {
        try database.read { db in try EventStore.contains(eventID, db) }
    }

    package func anchorHistory() throws -> [AnchorChange] {
        try database.read { db in try EventStore.fetchAnchorChanges(db) }
    }

    /// The last checkpoint the daemon signed.
    package func latestCheckpoint() throws -> EventStore.CheckpointRecord? {
        try database.read { db in try EventStore.latestCheckpoint(db) }
    }

    package func size() throws -> Int64 {
        try database.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(position), 0) FROM events") ?? 0 }
    }

    package func close() {
        try? database.close()
    }
}
