import Foundation
import GRDB
package import VigilModel
package import VigilStore

/// The alerts the webhook has yet to take, in a SQLite file of their own beside the event store: what makes
/// webhook delivery survive a restart or a crash.
///
/// The log stays the source of truth. The outbox remembers how far it has read the log (`scanned.position`)
/// and holds one row per `alert.raised` event found there and not yet answered 2xx (`deliveries`). The rows a
/// reading of the log finds and the position it reached are written in one transaction, so an alert is either
/// in the outbox or after the position, where the next reading finds it: a crash between an alert's commit to
/// the log and its delivery loses nothing. A row is deleted only after a 2xx answer; one refused `maxAttempts`
/// times is kept, marked given up. The file is not part of the append-only store: its rows change and go, and
/// nothing in it is evidence (the log is).
///
/// Created on a store that already has entries, the outbox starts reading at the log's end: enabling a webhook
/// does not send the log's history. Found ahead of the log (the store was replaced by an older copy), it goes
/// back to the log's end, so alerts appended from there on are found; rows already held are kept.
///
/// Writes are `synchronous = FULL`, like the store's: a row deleted is not sent again after a power loss.
///
/// ```swift
/// let path = WebhookOutbox.defaultPath(forStore: configuration.databasePath)
/// let outbox = try WebhookOutbox.open(path: path, logEnd: store.head.size)
/// ```
package final class WebhookOutbox: Sendable {
    /// One alert to deliver, as the outbox holds it.
    package struct Delivery: Sendable, Equatable {
        /// The alert's id: the receiver's idempotency key (sent as `Vigil-Alert-Id`).
        package var alertId: EventID
        /// Where the `alert.raised` event is in the log.
        package var position: Int64
        /// The request body, built when the alert was read from the log.
        package var body: [UInt8]
        /// Attempts made since this daemon started (or since the alert was found).
        package var attempts: Int
        /// Not before this time is the next attempt made.
        package var nextAttemptAt: Timestamp
        /// The HTTP status of the last attempt, 0 for no answer (refused, reset, timed out); nil before the first.
        package var lastStatus: Int?
        /// When the alert was given up after `maxAttempts`; nil while it is pending.
        package var givenUpAt: Timestamp?

        package init(
            alertId: EventID, position: Int64, body: [UInt8], attempts: Int = 0, nextAttemptAt: Timestamp,
            lastStatus: Int? = nil, givenUpAt: Timestamp? = nil
        ) {
            self.alertId = alertId
            self.position = position
            self.body = body
            self.attempts = attempts
            self.nextAttemptAt = nextAttemptAt
            self.lastStatus = lastStatus
            self.givenUpAt = givenUpAt
        }
    }

    /// What opening found.
    package enum Opening: Sendable, Equatable {
        /// An outbox of this version, read up to its position.
        case existing
        /// A new outbox, starting at the log's end then.
        case created(at: Int64)
        /// An outbox that had read further than the log goes; it starts again at the log's end.
        case rewound(from: Int64, to: Int64)
    }

    /// How many rows wait for an attempt, and how many were given up.
    package struct Counts: Sendable, Equatable {
        package var pending: Int
        package var givenUp: Int
    }

    static let version = 1
    static let schema = """
        -- One row per alert to deliver. alert_id is the alert's id in text form (the idempotency key);
        -- times are Unix microseconds; last_status 0 means no answer.
        CREATE TABLE deliveries (
            alert_id        TEXT    PRIMARY KEY,
            position        INTEGER NOT NULL,
            body            BLOB    NOT NULL,
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            last_status     INTEGER,
            given_up_at     INTEGER
        );
        CREATE INDEX deliveries_due ON deliveries (next_attempt_at, position) WHERE given_up_at IS NULL;
        -- How far the log has been read: every alert.raised at or before it is in deliveries or was delivered.
        CREATE TABLE scanned (
            id       INTEGER PRIMARY KEY CHECK (id = 1),
            position INTEGER NOT NULL
        );
        """

    package let path: String
    package let opening: Opening
    private let database: DatabaseQueue

    private init(path: String, database: DatabaseQueue, opening: Opening) {
        self.path = path
        self.database = database
        self.opening = opening
    }

    /// The outbox file that goes with an event store file: `vigil.sqlite` → `vigil.outbox.sqlite`.
    package static func defaultPath(forStore storePath: String) -> String {
        EventStore.companionPath(forStore: storePath, "outbox")
    }

    /// Opens (creating if needed) the outbox at `path` for a log of `logEnd` entries.
    ///
    /// Refuses (`corrupt`) a file that holds something else or an outbox of another version, rather than
    /// emptying it: its rows may be alerts not yet delivered.
    package static func open(path: String, logEnd: Int64) throws(StoreError) -> WebhookOutbox {
        do {
            var configuration = Configuration()
            configuration.label = "vigil.outbox"
            configuration.busyMode = .timeout(10)
            configuration.journalMode = .wal
            let database = try DatabaseQueue(path: path, configuration: configuration)
            try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            let opening = try database.write { db -> Opening in
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                if version == 0 {
                    let tables =
                        try Int.fetchOne(
                            db, sql: "SELECT COUNT(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'") ?? 0
                    guard tables == 0 else { throw StoreError(.corrupt, "\(path) is not a Vigil webhook outbox") }
                    try db.execute(sql: schema)
                    try db.execute(sql: "INSERT INTO scanned (id, position) VALUES (1, ?)", arguments: [logEnd])
                    try db.execute(sql: "PRAGMA user_version = \(Self.version)")
                    return .created(at: logEnd)
                }
                guard version == Self.version else {
                    throw StoreError(.corrupt, "\(path) is a webhook outbox of another version (\(version))")
                }
                let position = try scannedThrough(db)
                guard position > logEnd else { return .existing }
                try db.execute(sql: "UPDATE scanned SET position = ? WHERE id = 1", arguments: [logEnd])
                return .rewound(from: position, to: logEnd)
            }
            return WebhookOutbox(path: path, database: database, opening: opening)
        } catch {
            throw StoreError(error, while: "cannot open the webhook outbox at \(path)")
        }
    }

    package func close() {
        try? database.close()
    }

    // MARK: - Reading the log

    /// The position through which the log has been read.
    package func scannedThrough() async throws -> Int64 {
        try await database.read { db in try Self.scannedThrough(db) }
    }

    private static func scannedThrough(_ db: Database) throws -> Int64 {
        guard let position = try Int64.fetchOne(db, sql: "SELECT position FROM scanned WHERE id = 1") else {
            throw StoreError(.corrupt, "the webhook outbox has lost its position in the log")
        }
        return position
    }

    /// Adds the alerts found in the log up to `position` and moves the position there, in one transaction.
    /// An alert already held is left as it is. Returns how many rows were added.
    ///
    /// The position only moves forward: a reading that ends before it (two readings meeting) changes nothing
    /// of it.
    @discardableResult
    package func enqueue(_ deliveries: [Delivery], scannedThrough position: Int64) async throws -> Int {
        try await database.write { db in
            var added = 0
            for delivery in deliveries {
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO deliveries (alert_id, position, body, attempts, next_attempt_at,
                        last_status, given_up_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        delivery.alertId.description, delivery.position, Data(delivery.body), delivery.attempts,
                        delivery.nextAttemptAt.microsecondsSinceEpoch, delivery.lastStatus,
                        delivery.givenUpAt?.microsecondsSinceEpoch,
                    ])
                added += db.changesCount
            }
            try db.execute(
                sql: "UPDATE scanned SET position = MAX(position, ?) WHERE id = 1", arguments: [position])
            return added
        }
    }

    // MARK: - Delivering

    /// The pending rows (not given up) with the earliest next attempts, leaving out `excluded` (those being
    /// attempted), at most `limit`, earliest first (by position among equals).
    package func pending(excluding excluded: Set<EventID>, limit: Int) async throws -> [Delivery] {
        try await database.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT alert_id, position, body, attempts, next_attempt_at, last_status, given_up_at
                    FROM deliveries WHERE given_up_at IS NULL ORDER BY next_attempt_at, position LIMIT ?
                    """, arguments: [limit + excluded.count])
            return try rows.map(Self.delivery).filter { !excluded.contains($0.alertId) }.prefix(limit).map { $0 }
        }
    }

    /// Every row, in log order: pending and given up.
    package func deliveries() async throws -> [Delivery] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT alert_id, position, body, attempts, next_attempt_at, last_status, given_up_at
                    FROM deliveries ORDER BY position
                    """
            ).map(Self.delivery)
        }
    }

    package func counts() async throws -> Counts {
        try await database.read { db in try Self.counts(db) }
    }

    private static func counts(_ db: Database) throws -> Counts {
        let row = try Row.fetchOne(
            db,
            sql: """
                SELECT COALESCE(SUM(given_up_at IS NULL), 0), COALESCE(SUM(given_up_at IS NOT NULL), 0) FROM deliveries
                """)
        return Counts(pending: row?[0] ?? 0, givenUp: row?[1] ?? 0)
    }

    /// The receiver took the alert (2xx): its row goes.
    package func delivered(_ alertId: EventID) async throws {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM deliveries WHERE alert_id = ?", arguments: [alertId.description])
        }
    }

    /// An attempt failed with `status` (0: no answer): the row records it and waits until `next`.
    package func failed(_ alertId: EventID, status: Int, attempts: Int, next: Timestamp) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE deliveries SET attempts = ?, last_status = ?, next_attempt_at = ? WHERE alert_id = ?",
                arguments: [attempts, status, next.microsecondsSinceEpoch, alertId.description])
        }
    }

    /// The last attempt allowed failed with `status`: the row is kept, marked given up at `time`.
    package func gaveUp(_ alertId: EventID, status: Int, attempts: Int, at time: Timestamp) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE deliveries SET attempts = ?, last_status = ?, given_up_at = ? WHERE alert_id = ?",
                arguments: [attempts, status, time.microsecondsSinceEpoch, alertId.description])
        }
    }

    /// At start: every row, given up or not, is due at `time` with a fresh series of attempts. Returns the counts
    /// found before.
    package func resume(at time: Timestamp) async throws -> Counts {
        try await database.write { db in
            let counts = try Self.counts(db)
            try db.execute(
                sql: "UPDATE deliveries SET attempts = 0, given_up_at = NULL, next_attempt_at = ?",
                arguments: [time.microsecondsSinceEpoch])
            return counts
        }
    }

    private static func delivery(_ row: Row) throws -> Delivery {
        guard let alertId = EventID(row[0] as String) else {
            throw StoreError(.corrupt, "the webhook outbox holds an alert id that is not a UUID")
        }
        return Delivery(
            alertId: alertId, position: row[1], body: [UInt8](row[2] as Data), attempts: row[3],
            nextAttemptAt: Timestamp(microsecondsSinceEpoch: row[4]), lastStatus: row[5],
            givenUpAt: (row[6] as Int64?).map { Timestamp(microsecondsSinceEpoch: $0) })
    }
}
