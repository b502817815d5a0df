import Foundation
import GRDB
import Synchronization
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

    /// A connection of its own for WAL checkpoints, opened when first needed.
    private let checkpointer = Mutex<DatabaseQueue?>(nil)

    private init(path: String, pool: any DatabaseWriter, createdEmpty: Bool) {
        self.path = path
        self.pool = pool
        self.createdEmpty = createdEmpty
    }

    /// Copies what the write-ahead log holds into the views' file (a passive checkpoint), on a connection of its
    /// own: it takes no writer lock, so flushes go on meanwhile and never pay for the file's sync.
    ///
    /// That alone does not keep the log short: SQLite starts the log again from its beginning only when a write
    /// begins with every frame of it copied, and under steady flushes one more has always been appended by the time
    /// a checkpoint beside them ends (the log grew to 7.5 GB in 20 minutes at 600 events/s; docs/benchmarks.md).
    /// So when more than `restartingPast` frames are left in the log, the writer's own connection, between two
    /// flushes, copies the little left and starts the log again (a restart checkpoint). It waits at most
    /// ``restartWait`` for readers of older snapshots to finish; past that (a views check holds one for its whole
    /// run) the log is left as it is and the next call tries again.
    package func moveLogIntoFile(restartingPast frames: Int = ProjectionDatabase.logRestartFrames) async throws {
        guard pool is DatabasePool else { return }
        let connection = try checkpointer.withLock { connection -> DatabaseQueue in
            if let connection { return connection }
            var configuration = Configuration()
            configuration.label = "vigil.projections.checkpoint"
            configuration.busyMode = .timeout(Self.busyTimeout)
            let opened = try DatabaseQueue(path: path, configuration: configuration)
            connection = opened
            return opened
        }
        let left: Int
        do {
            left = try await connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }.walFrameCount
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            // Another checkpoint ran, or its read of the log's header met a flush writing it (SQLite then needs the
            // writer's lock, which a passive checkpoint does not wait for): the next call copies what this did not.
            return
        }
        guard left > frames else { return }
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA busy_timeout = \(Int(Self.restartWait / .milliseconds(1)))")
            defer { try? db.execute(sql: "PRAGMA busy_timeout = \(Int(Self.busyTimeout * 1000))") }
            do {
                _ = try db.checkpoint(.restart)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                // A reader is still on an older snapshot: everything it allowed was copied; restart next time.
            }
        }
    }

    /// Frames (pages) the views' write-ahead log may hold before ``moveLogIntoFile(restartingPast:)`` starts it
    /// again: about 16 MB, a few seconds of flushes at the soak's rate.
    package static let logRestartFrames = 4096

    /// How long a restart of the views' log may hold the flushes back waiting for readers.
    static let restartWait = Duration.milliseconds(10)

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
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
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
        try checkpointer.withLock { connection in
            try connection?.close()
            connection = nil
        }
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

    /// ``write(settings:_:)`` blocking the calling thread, for tools and tests outside Swift concurrency.
    package func writeBlocking<T>(settings: RuleSettings, _ body: (ViewWriter) throws -> T) throws -> T {
        try pool.write { db in try body(ViewWriter(db, settings: settings)) }
    }

    /// ``read(_:)`` blocking the calling thread, for tools and tests outside Swift concurrency.
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
