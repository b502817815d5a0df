import GRDB
import Synchronization

/// Copies a WAL database's log into its file (a passive checkpoint) on a connection of its own.
///
/// The store and the views turn SQLite's automatic checkpoint off: it runs inside a commit, syncs the whole
/// file, and the request (or the alert) that commit carries waits for it. A passive checkpoint on another
/// connection takes no writer lock, so commits go on while it runs; vigild calls ``checkpoint()`` every
/// second. Closing the last connection to a database also checkpoints it.
package final class WALCheckpointer: Sendable {
    let path: String
    private let connection = Mutex<DatabaseQueue?>(nil)

    package init(path: String) {
        self.path = path
    }

    package func checkpoint() async throws {
        let queue = try connection.withLock { connection -> DatabaseQueue in
            if let connection { return connection }
            var configuration = Configuration()
            configuration.label = "vigil.checkpoint"
            configuration.busyMode = .timeout(10)
            let opened = try DatabaseQueue(path: path, configuration: configuration)
            connection = opened
            return opened
        }
        try await queue.writeWithoutTransaction { db in try db.checkpoint(.passive) }
    }

    package func close() throws {
        try connection.withLock { connection in
            try connection?.close()
            connection = nil
        }
    }

    /// The pragma a connection runs so that its commits never checkpoint.
    package static let noAutomaticCheckpoint = "PRAGMA wal_autocheckpoint = 0"
}
