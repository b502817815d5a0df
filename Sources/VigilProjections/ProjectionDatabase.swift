import Foundation
import GRDB
package import VigilModel
import VigilStore

/// Where the read models live: a SQLite file of their own beside the event store, so that writing views never
/// takes the event store's write lock.
///
/// The views are tables updated in place (``ViewWriter``), read through indexes (``ViewTables``), with the
/// checkpoint written in the same transaction as the changes it covers. A file written by another version of
/// the views is emptied on open, and the views are rebuilt from the log.
package final class ProjectionDatabase: Sendable {
    package let path: String
    /// A pool for the live views (readers beside the writer); a queue for a scratch file.
    let pool: any DatabaseWriter
    /// Whether opening found views of another version (or none) and started them empty.
    package let createdEmpty: Bool

    /// The projections file that goes with an event store file: `vigil.sqlite` → `vigil.projections.sqlite`.
    package static func defaultPath(forStore storePath: String) -> String {
        EventStore.companionPath(forStore: storePath, "projections")
    }

    /// Copies the live views' write-ahead log into their file beside the flushes; nil for a scratch file.
    private let logMover: WriteAheadLogMover?

    private init(path: String, pool: any DatabaseWriter, createdEmpty: Bool) {
        self.path = path
        self.pool = pool
        self.createdEmpty = createdEmpty
        logMover = (pool as? DatabasePool).map {
            WriteAheadLogMover(
                path: path, writer: $0, label: "vigil.projections.checkpoint", busyTimeout: Self.busyTimeout)
        }
    }

    /// Copies what the views' write-ahead log holds into their file beside the flushes, which never pay for the
    /// file's sync, and starts the log again past `frames` frames (``WriteAheadLogMover``).
    package func moveLogIntoFile(restartingPast frames: Int = WriteAheadLogMover.restartFrames) async throws {
        try await logMover?.move(restartingPast: frames)
    }

    /// How long a connection to the views waits for a lock before giving up (seconds).
    static let busyTimeout: TimeInterval = 10

    /// Opens (creating if needed) the views at `path`; views of another schema version are dropped.
    package static func open(path: String) throws -> ProjectionDatabase {
        var configuration = Configuration()
        configuration.label = "vigil.projections"
        configuration.busyMode = .timeout(busyTimeout)
        configuration.maximumReaderCount = 3
        configuration.prepareDatabase { db in
            // A bounded page cache per connection: the views' memory does not grow with their size.
            try db.execute(sql: "PRAGMA cache_size = -\(db.configuration.readonly ? 2048 : 16384)")
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
            // No checkpoint at commit: it would sync the file inside a flush and delay the alerts decided there.
            // ``moveLogIntoFile()`` does it on a connection of its own instead.
            try WriteAheadLogMover.disableAutomaticCheckpoints(db)
        }
        // Views can always be rebuilt from the log: GRDB's NORMAL durability in WAL mode is enough here. A power
        // loss may take the last flushes back, checkpoint included, and they are applied again.
        return try prepare(path: path, DatabasePool(path: path, configuration: configuration))
    }

    /// Opens a new scratch file for a rebuild or a check: one connection, no journal and no syncing (a scratch
    /// file that a crash interrupts is thrown away), a larger page cache. Moved into place, it opens as views.
    static func openScratch(path: String) throws -> ProjectionDatabase {
        var configuration = Configuration()
        configuration.label = "vigil.projections.scratch"
        configuration.journalMode = .default
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = OFF")
            try db.execute(sql: "PRAGMA synchronous = OFF")
            try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE")
            try db.execute(sql: "PRAGMA cache_size = -32768")
        }
        return try prepare(path: path, DatabaseQueue(path: path, configuration: configuration))
    }

    private static func prepare(path: String, _ pool: some DatabaseWriter) throws -> ProjectionDatabase {
        let createdEmpty = try pool.write { db -> Bool in
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            guard version != ViewSchema.version else { return false }
            let tables = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            for table in tables { try db.execute(sql: "DROP TABLE \(table.quotedDatabaseIdentifier)") }
            try db.execute(sql: ViewSchema.create)
            try db.execute(sql: "PRAGMA user_version = \(ViewSchema.version)")
            return true
        }
        return ProjectionDatabase(path: path, pool: pool, createdEmpty: createdEmpty)
    }

    package func close() throws {
        try logMover?.closeNow()
        try pool.close()
    }

    /// Writes everything from the WAL (if any) into the file and closes it, so the file alone holds the views
    /// (before it is moved into place).
    func closeIntoOneFile() throws {
        if pool is DatabasePool { _ = try pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) } }
        try pool.close()
    }

    /// Reads the views in one read transaction: a consistent snapshot at one checkpoint.
    package func read<T: Sendable>(_ body: @escaping @Sendable (ViewTables) throws -> T) async throws -> T {
        try await pool.read { db in try body(ViewTables(db)) }
    }

    /// Changes the views in one transaction: all of it is committed, or none.
    package func write<T: Sendable>(
        settings: RuleSettings, _ body: @escaping @Sendable (ViewWriter) throws -> T
    ) async throws -> T {
        try await pool.write { db in try body(ViewWriter(db, settings: settings)) }
    }

    /// Runs `body` on the views in a transaction that is rolled back: what would happen, with nothing kept.
    package func dryRun<T: Sendable>(
        settings: RuleSettings, _ body: @escaping @Sendable (ViewWriter) throws -> T
    ) async throws -> T {
        try await pool.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction {
                result = try body(ViewWriter(db, settings: settings))
                return .rollback
            }
            return result!
        }
    }

    /// ``write(settings:_:)`` blocking the calling thread, for tools, tests and work on a thread of its own.
    package func writeBlocking<T>(settings: RuleSettings, _ body: (ViewWriter) throws -> T) throws -> T {
        try pool.write { db in try body(ViewWriter(db, settings: settings)) }
    }

    /// ``read(_:)`` blocking the calling thread, for tools, tests and work on a thread of its own.
    package func readBlocking<T>(_ body: (ViewTables) throws -> T) throws -> T {
        try pool.read { db in try body(ViewTables(db)) }
    }

    package func checkpoint() async throws -> ViewTables.Checkpoint {
        try await read { try $0.checkpoint() }
    }

    /// Empties the views and the deadlines and moves the checkpoint back to the start of the log, for a rebuild.
    /// How far the rules have run, and the alerts decided and not yet projected, are kept.
    package func reset() async throws {
        try await pool.write { db in
            for table in ViewSchema.projections.flatMap(\.tables) { try db.execute(sql: "DELETE FROM \(table.name)") }
            try db.execute(sql: "DELETE FROM deadlines")
            try db.execute(sql: "UPDATE checkpoint SET position = 0 WHERE id = 1")
        }
    }

    /// A connection that keeps reading the views as they are now, whatever is written after (for checks).
    func snapshot() throws -> DatabaseSnapshot {
        guard let pool = pool as? DatabasePool else { throw ViewError("a scratch file has no snapshots") }
        return try pool.makeSnapshot()
    }
}
