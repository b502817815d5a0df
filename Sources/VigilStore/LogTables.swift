import Crypto
import Foundation
package import GRDB
import VigilModel

/// The tables of a store, described once so that a store can be copied table by table, row by row, to another
/// database and back with every byte kept: the log, its key events, the trust-anchor history, the signed heads,
/// the Merkle tree's stored nodes, the checkpoints and the witnesses' cosignatures.
package struct LogTable: Sendable {
    package enum Kind: Sendable {
        case integer
        case blob
        case text
    }

    package struct Column: Sendable {
        package var name: String
        package var kind: Kind
    }

    package var name: String
    package var columns: [Column]
    /// The columns rows are ordered and paged by (the primary key).
    package var key: [String]
    /// A column the database numbers itself when a row gives none (the copy sets its counter after the rows).
    package var numbered: String?

    init(_ name: String, key: [String], numbered: String? = nil, _ columns: [(String, Kind)]) {
        self.name = name
        self.key = key
        self.numbered = numbered
        self.columns = columns.map { Column(name: $0.0, kind: $0.1) }
    }

    /// Every table, parents before the tables that refer to them.
    package static let all: [LogTable] = [
        LogTable(
            "events", key: ["position"],
            [
                ("position", .integer), ("event_id", .blob), ("recorded_at", .integer), ("envelope", .blob),
                ("leaf_hash", .blob), ("chain_hash", .blob),
            ]),
        LogTable(
            "key_events", key: ["position"],
            [
                ("position", .integer), ("key_id", .blob), ("change", .text), ("public_key", .blob), ("role", .text),
                ("name", .text),
            ]),
        LogTable(
            "trust_anchors", key: ["seq"], numbered: "seq",
            [
                ("seq", .integer), ("log_size", .integer), ("public_key", .blob), ("role", .text), ("name", .text),
                ("change", .text), ("recorded_at", .integer),
            ]),
        LogTable(
            "signed_heads", key: ["seq"], numbered: "seq",
            [
                ("seq", .integer), ("size", .integer), ("chain_hash", .blob), ("issued_at", .integer),
                ("envelope", .blob),
            ]),
        LogTable("tree_nodes", key: ["level", "idx"], [("level", .integer), ("idx", .integer), ("hash", .blob)]),
        LogTable(
            "checkpoints", key: ["seq"], numbered: "seq",
            [
                ("seq", .integer), ("size", .integer), ("root_hash", .blob), ("issued_at", .integer),
                ("note", .blob),
            ]),
        LogTable(
            "cosignatures", key: ["seq"], numbered: "seq",
            [
                ("seq", .integer), ("checkpoint_seq", .integer), ("witness", .text), ("line", .text),
                ("received_at", .integer),
            ]),
    ]

    package var columnList: String { columns.map(\.name).joined(separator: ", ") }

    /// Rows per page when a table is read in pages.
    package static let pageSize = 1000

    /// Reads the table in key order, a page at a time through `read` (given the key of the last row read, nil at
    /// first, and how many rows to read), hands each page to `body`, and returns the digest of every row read.
    ///
    /// - Parameter limit: read at most this many rows (nil: to the end).
    package func pages(
        limit: Int64? = nil, read: (_ after: [LogCell]?, _ count: Int) async throws -> [[LogCell]],
        _ body: ([[LogCell]]) async throws -> Void = { _ in }
    ) async throws -> TableDigest {
        var digest = TableDigest()
        var after: [LogCell]? = nil
        while digest.rows < limit ?? .max {
            let count = Int(min(Int64(Self.pageSize), (limit ?? .max) - digest.rows))
            let rows = try await read(after, count)
            guard let last = rows.last else { break }
            for row in rows { digest.add(row) }
            try await body(rows)
            after = keyIndexes.map { last[$0] }
        }
        return digest
    }

    /// The positions of the key columns in a row.
    package var keyIndexes: [Int] { key.map { name in columns.firstIndex { $0.name == name }! } }
}

/// One cell of a row as stored: the same value whichever database holds it.
package enum LogCell: Sendable, Equatable {
    case integer(Int64)
    case blob([UInt8])
    case text(String)
    case null
}

/// A digest of a table's rows in key order, equal for two databases exactly when they hold the same rows with
/// the same bytes: what a copy is checked by.
package struct TableDigest: Sendable, Equatable, CustomStringConvertible {
    private var hasher = SHA256()
    package private(set) var rows: Int64 = 0
    private var finished: [UInt8]?

    package init() {}

    package mutating func add(_ row: [LogCell]) {
        rows += 1
        var bytes: [UInt8] = []
        for cell in row {
            switch cell {
            case .null:
                bytes.append(0)
            case .integer(let value):
                bytes.append(1)
                withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
            case .blob(let value):
                bytes.append(2)
                withUnsafeBytes(of: UInt64(value.count).bigEndian) { bytes.append(contentsOf: $0) }
                bytes.append(contentsOf: value)
            case .text(let value):
                bytes.append(3)
                let utf8 = Array(value.utf8)
                withUnsafeBytes(of: UInt64(utf8.count).bigEndian) { bytes.append(contentsOf: $0) }
                bytes.append(contentsOf: utf8)
            }
        }
        hasher.update(data: bytes)
    }

    /// The SHA-256 of every row added, in order.
    package var hash: [UInt8] { Array(hasher.finalize()) }

    package var description: String { "\(rows) rows, SHA-256 \(Hex.encode(hash))" }

    package static func == (lhs: TableDigest, rhs: TableDigest) -> Bool {
        lhs.rows == rhs.rows && lhs.hash == rhs.hash
    }
}

/// Reads and writes a store file's tables raw, for copies between databases (`vigilctl migrate-store`).
package enum LogTableFile {
    /// Rows of `table` after the row whose key is `after` (nil: from the first), in key order, at most `limit`.
    package static func rows(
        of table: LogTable, after: [LogCell]?, limit: Int, in database: some DatabaseReader
    ) throws(StoreError) -> [[LogCell]] {
        var sql = "SELECT \(table.columnList) FROM \(table.name)"
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let after {
            sql +=
                " WHERE (\(table.key.joined(separator: ", "))) > (\(table.key.map { _ in "?" }.joined(separator: ", ")))"
            arguments = after.map(databaseValue)
        }
        sql += " ORDER BY \(table.key.joined(separator: ", ")) LIMIT \(limit)"
        do {
            return try database.read { db in
                try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                    try (0..<table.columns.count).map { index in
                        guard let cell = cell(row[index] as DatabaseValue) else {
                            throw StoreError(
                                .corrupt,
                                "the table \(table.name) holds a floating-point value, which no Vigil table has")
                        }
                        return cell
                    }
                }
            }
        } catch {
            throw StoreError(error, while: "cannot read the table \(table.name)")
        }
    }

    /// Appends `rows` to `table`; the store's own triggers still refuse a gap or an out-of-order tree node.
    package static func insert(_ rows: [[LogCell]], into table: LogTable, db: Database) throws {
        let placeholders = table.columns.map { _ in "?" }.joined(separator: ", ")
        let statement = try db.cachedStatement(
            sql: "INSERT INTO \(table.name) (\(table.columnList)) VALUES (\(placeholders))")
        for row in rows {
            try statement.execute(arguments: StatementArguments(row.map(databaseValue)))
        }
    }

    /// Creates an empty store file at `path` (mode 0600), with the schema of this release, and opens it.
    package static func createStore(at path: String) throws(StoreError) -> DatabaseQueue {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.io, "\(path) exists; a copy never overwrites a file")
        }
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        else { throw StoreError(.io, "cannot create \(path)") }
        do {
            let database = try DatabaseQueue(path: path)
            try StoreSchema.migrator.migrate(database)
            return database
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw StoreError(error, while: "cannot create a store at \(path)")
        }
    }

    /// Opens a store file read-only (refusing a file that is not a store).
    package static func openStore(at path: String) throws(StoreError) -> DatabaseQueue {
        try LogReader.openReadOnly(path, label: "vigil.copy.source")
    }

    private static func cell(_ value: DatabaseValue) -> LogCell? {
        switch value.storage {
        case .null: .null
        case .int64(let integer): .integer(integer)
        case .double: nil
        case .string(let text): .text(text)
        case .blob(let data): .blob([UInt8](data))
        }
    }

    private static func databaseValue(_ cell: LogCell) -> (any DatabaseValueConvertible)? {
        switch cell {
        case .null: nil
        case .integer(let value): value
        case .blob(let value): Data(value)
        case .text(let value): value
        }
    }
}
