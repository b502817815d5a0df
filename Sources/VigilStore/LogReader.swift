import Foundation
import GRDB
public import VigilModel

/// Reads a store file without the daemon, on a read-only connection: for rebuilds and exports.
public final class LogReader: Sendable {
    public let path: String
    private let database: DatabaseQueue

    public init(path: String) throws(StoreError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError(.io, "no database file at \(path)") }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            configuration.label = "vigil.reader"
            database = try DatabaseQueue(path: path, configuration: configuration)
            let isStore = try database.read { db in try db.tableExists("events") && db.tableExists("trust_anchors") }
            guard isStore else { throw StoreError(.corrupt, "\(path) is not a Vigil event store") }
        } catch {
            throw StoreError(error, while: "cannot read \(path)")
        }
    }

    public func entries(after position: Int64, limit: Int) throws -> [StoredEntry] {
        try database.read { db in try EventStore.fetchEntries(db, after: position, limit: limit) }
    }

    /// Whether the log holds an event with this id.
    public func contains(eventID: EventID) throws -> Bool {
        try database.read { db in try EventStore.contains(eventID, db) }
    }

    public func anchorHistory() throws -> [AnchorChange] {
        try database.read { db in try EventStore.fetchAnchorChanges(db) }
    }

    /// The last checkpoint the daemon signed.
    public func latestCheckpoint() throws -> EventStore.CheckpointRecord? {
        try database.read { db in try EventStore.latestCheckpoint(db) }
    }

    public func size() throws -> Int64 {
        try database.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(position), 0) FROM events") ?? 0 }
    }

    public func close() {
        try? database.close()
    }
}
