import Logging
import NIOCore
import PostgresNIO
import VigilStore

/// The store's tables read and written raw on PostgreSQL, the counterpart of ``LogTableFile`` on SQLite.
extension LogTable {
    /// Rows after the row whose key is `after` (nil: from the first), in key order, at most `limit`.
    func rows(
        after: [LogCell]?, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [[LogCell]] {
        var sql = "SELECT \(columnList) FROM \(name)"
        var binds = PostgresBindings(capacity: key.count)
        if let after {
            let placeholders = (1...key.count).map { "$\($0)" }.joined(separator: ", ")
            sql += " WHERE (\(key.joined(separator: ", "))) > (\(placeholders))"
            for cell in after { binds.append(cell) }
        }
        sql += " ORDER BY \(key.joined(separator: ", ")) LIMIT \(limit)"
        var rows: [[LogCell]] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger) {
            var cells: [LogCell] = []
            cells.reserveCapacity(columns.count)
            for (column, cell) in zip(columns, row) {
                cells.append(try Self.cell(cell, kind: column.kind))
            }
            rows.append(cells)
        }
        return rows
    }

    /// Appends `rows` in one statement; the database's triggers still refuse a gap.
    func insert(_ rows: [[LogCell]], on connection: PostgresConnection, logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        var binds = PostgresBindings(capacity: rows.count * columns.count)
        var tuples: [String] = []
        tuples.reserveCapacity(rows.count)
        for row in rows {
            let first = binds.count + 1
            tuples.append("(" + (first..<first + row.count).map { "$\($0)" }.joined(separator: ", ") + ")")
            for cell in row { binds.append(cell) }
        }
        let sql = "INSERT INTO \(name) (\(columnList)) VALUES " + tuples.joined(separator: ", ")
        try await connection.run(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }

    /// Sets the counter of a numbered column past the rows copied, so the next row the database numbers itself
    /// does not collide with one of them.
    func continueNumbering(on connection: PostgresConnection, logger: Logger) async throws {
        guard let numbered else { return }
        try await connection.run(
            PostgresQuery(
                unsafeSQL: """
                    SELECT setval(pg_get_serial_sequence('\(name)', '\(numbered)'),
                        COALESCE((SELECT max(\(numbered)) FROM \(name)), 0) + 1, false)
                    """), logger: logger)
    }

    private static func cell(_ cell: PostgresCell, kind: Kind) throws -> LogCell {
        guard cell.bytes != nil else { return .null }
        switch kind {
        case .integer: return .integer(try cell.decode(Int64.self))
        case .blob: return .blob(Array(try cell.decode(ByteBuffer.self).readableBytesView))
        case .text: return .text(try cell.decode(String.self))
        }
    }
}

extension PostgresBindings {
    mutating func append(_ cell: LogCell) {
        switch cell {
        case .null: appendNull()
        case .integer(let value): append(value)
        case .blob(let value): append(ByteBuffer(bytes: value))
        case .text(let value): append(value)
        }
    }
}
