import Foundation
import GRDB
public import VigilModel

/// Where the read models live: a SQLite file of their own beside the event store, so that writing views never
/// takes the event store's write lock.
///
/// One table per projection (`view_<name>`: key, JSON document, and the columns queries filter on) and one
/// checkpoint row: the log position every view reflects and each projection's digest. Views and checkpoint are
/// written in one transaction.
public final class ProjectionDatabase: Sendable {
    public let path: String
    let database: DatabasePool

    /// The checkpoint: how far the views reflect the log, and their digests there.
    public struct Checkpoint: Sendable, Equatable {
        public var position: Int64
        public var digests: [ProjectionState.Projection: ProjectionDigest]
        public var schemaVersion: Int
    }

    /// Changes whenever what a view contains changes, so views from an older version are rebuilt.
    public static let schemaVersion = 1

    /// The projections file that goes with an event store file: `vigil.sqlite` → `vigil.projections.sqlite`.
    public static func defaultPath(forStore storePath: String) -> String {
        let url = URL(fileURLWithPath: storePath)
        let base = url.pathExtension == "sqlite" ? url.deletingPathExtension().path : storePath
        return base + ".projections.sqlite"
    }

    private init(path: String, database: DatabasePool) {
        self.path = path
        self.database = database
    }

    public static func open(path: String) throws -> ProjectionDatabase {
        var configuration = Configuration()
        configuration.label = "vigil.projections"
        configuration.busyMode = .timeout(10)
        let database = try DatabasePool(path: path, configuration: configuration)
        // Views can always be rebuilt from the log: NORMAL durability is enough here.
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-views") { db in
            try db.execute(
                sql: """
                    CREATE TABLE view_signers (key TEXT PRIMARY KEY, doc BLOB NOT NULL) WITHOUT ROWID;
                    CREATE TABLE view_inventory (key TEXT PRIMARY KEY, doc BLOB NOT NULL) WITHOUT ROWID;
                    CREATE TABLE view_participants (key TEXT PRIMARY KEY, doc BLOB NOT NULL) WITHOUT ROWID;
                    CREATE TABLE view_sessions (key TEXT PRIMARY KEY, participant TEXT, doc BLOB NOT NULL) WITHOUT ROWID;
                    CREATE TABLE view_adverse_events (
                        key TEXT PRIMARY KEY, participant TEXT, open INTEGER NOT NULL, doc BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX view_adverse_events_open ON view_adverse_events (open);
                    CREATE TABLE view_alerts (
                        key TEXT PRIMARY KEY, participant TEXT, rule TEXT NOT NULL, status TEXT NOT NULL,
                        position INTEGER NOT NULL, doc BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX view_alerts_status ON view_alerts (status, position);
                    CREATE INDEX view_alerts_participant ON view_alerts (participant, position);
                    CREATE TABLE checkpoint (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        position INTEGER NOT NULL,
                        digests TEXT NOT NULL,
                        schema_version INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    """
            )
        }
        try migrator.migrate(database)
        return ProjectionDatabase(path: path, database: database)
    }

    public func close() throws {
        try database.close()
    }

    public func checkpoint() async throws -> Checkpoint? {
        try await database.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT position, digests, schema_version FROM checkpoint WHERE id = 1")
            else {
                return nil
            }
            var digests: [ProjectionState.Projection: ProjectionDigest] = [:]
            if case .object(let object)? = try? JSONParser.parse(Array((row[1] as String).utf8)) {
                for member in object.members {
                    if let projection = ProjectionState.Projection(rawValue: member.key),
                        case .string(let hex) = member.value,
                        let digest = ProjectionDigest(hex: hex)
                    {
                        digests[projection] = digest
                    }
                }
            }
            return Checkpoint(position: row[0], digests: digests, schemaVersion: row[2])
        }
    }

    /// Writes the changed views and the new checkpoint in one transaction.
    ///
    /// - Parameter documents: per projection, each changed key with its document's bytes (nil: delete).
    public func write(
        _ documents: [ProjectionState.Projection: [(key: String, bytes: [UInt8]?, state: ViewColumns)]],
        position: Int64, digests: ProjectionDigests, now: Timestamp
    ) async throws {
        try await database.write { db in
            for (projection, rows) in documents {
                let table = "view_" + projection.rawValue
                for row in rows {
                    guard let bytes = row.bytes else {
                        try db.execute(sql: "DELETE FROM \(table) WHERE key = ?", arguments: [row.key])
                        continue
                    }
                    switch projection {
                    case .sessions:
                        try db.execute(
                            sql: "INSERT OR REPLACE INTO view_sessions (key, participant, doc) VALUES (?, ?, ?)",
                            arguments: [row.key, row.state.participant, Data(bytes)]
                        )
                    case .adverseEvents:
                        try db.execute(
                            sql:
                                "INSERT OR REPLACE INTO view_adverse_events (key, participant, open, doc) VALUES (?, ?, ?, ?)",
                            arguments: [row.key, row.state.participant, row.state.open ? 1 : 0, Data(bytes)]
                        )
                    case .alerts:
                        try db.execute(
                            sql: """
                                INSERT OR REPLACE INTO view_alerts (key, participant, rule, status, position, doc)
                                VALUES (?, ?, ?, ?, ?, ?)
                                """,
                            arguments: [
                                row.key, row.state.participant, row.state.rule ?? "", row.state.status ?? "",
                                row.state.position,
                                Data(bytes),
                            ]
                        )
                    default:
                        try db.execute(
                            sql: "INSERT OR REPLACE INTO \(table) (key, doc) VALUES (?, ?)",
                            arguments: [row.key, Data(bytes)])
                    }
                }
            }
            var digestObject = JSONObject()
            for projection in ProjectionState.Projection.allCases {
                digestObject[projection.rawValue] = .string(digests.digest(projection).hex)
            }
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO checkpoint (id, position, digests, schema_version, updated_at) VALUES (1, ?, ?, ?, ?)
                    """,
                arguments: [
                    position, JSONWriter.string(.object(digestObject)), Self.schemaVersion, now.microsecondsSinceEpoch,
                ]
            )
        }
    }

    /// Drops every view and the checkpoint (before a rebuild).
    public func reset() async throws {
        try await database.write { db in
            for projection in ProjectionState.Projection.allCases {
                try db.execute(sql: "DELETE FROM view_\(projection.rawValue)")
            }
            try db.execute(sql: "DELETE FROM checkpoint")
        }
    }

    /// The digests of the views as they are on disk, computed from every stored document.
    public func digestsOnDisk() async throws -> [ProjectionState.Projection: ProjectionDigest] {
        try await database.read { db in
            var digests: [ProjectionState.Projection: ProjectionDigest] = [:]
            for projection in ProjectionState.Projection.allCases {
                var digest = ProjectionDigest()
                let rows = try Row.fetchCursor(db, sql: "SELECT key, doc FROM view_\(projection.rawValue)")
                while let row = try rows.next() {
                    let key: String = row[0]
                    try row.withUnsafeData(atIndex: 1) { data in
                        digest.add(
                            ProjectionDigest.hash(
                                projection: projection.rawValue, key: key, document: [UInt8](data ?? Data())))
                    }
                }
                digests[projection] = digest
            }
            return digests
        }
    }

    // MARK: - Reads

    public func document(_ projection: ProjectionState.Projection, key: String) async throws -> JSONValue? {
        try await database.read { db in
            guard
                let data = try Data.fetchOne(
                    db, sql: "SELECT doc FROM view_\(projection.rawValue) WHERE key = ?", arguments: [key])
            else {
                return nil
            }
            return try JSONParser.parse([UInt8](data))
        }
    }

    /// Documents of a projection matching an SQL condition over its filter columns (with `?` for `arguments`).
    func documents(
        _ projection: ProjectionState.Projection, where condition: String = "1", arguments: [String] = [],
        orderBy: String = "key"
    ) async throws -> [JSONValue] {
        try await database.read { db in
            try Data.fetchAll(
                db, sql: "SELECT doc FROM view_\(projection.rawValue) WHERE \(condition) ORDER BY \(orderBy)",
                arguments: StatementArguments(arguments)
            )
            .map { try JSONParser.parse([UInt8]($0)) }
        }
    }
}

/// The filter columns stored beside a view's document.
public struct ViewColumns: Sendable {
    public var participant: String?
    public var open = false
    public var rule: String?
    public var status: String?
    public var position: Int64 = 0

    public init() {}

    /// The columns of a view in `state`.
    static func of(_ projection: ProjectionState.Projection, key: String, in state: ProjectionState) -> ViewColumns {
        var columns = ViewColumns()
        switch projection {
        case .sessions:
            columns.participant = state.sessions[key]?.participant
        case .adverseEvents:
            let view = state.adverseEvents[key]
            columns.participant = view?.participant
            columns.open = view?.isOpen ?? false
        case .alerts:
            if let id = EventID(key), let view = state.alerts[id] {
                columns.participant = view.participant
                columns.rule = view.rule.rawValue
                columns.status = view.status.rawValue
                columns.position = view.position
            }
        default:
            break
        }
        return columns
    }
}
