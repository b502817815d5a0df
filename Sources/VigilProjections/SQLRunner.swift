import Foundation
import GRDB
import GRDBSQLite
import VigilModel

/// A value that binds itself to a statement parameter through SQLite's C API.
protocol SQLBindable {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32
}

/// SQLite copies text and blobs it is given with this destructor.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

extension Int64: SQLBindable {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 { sqlite3_bind_int64(statement, index, self) }
}

extension Int: SQLBindable {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 {
        sqlite3_bind_int64(statement, index, Int64(self))
    }
}

extension Bool: SQLBindable {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 {
        sqlite3_bind_int64(statement, index, self ? 1 : 0)
    }
}

extension Double: SQLBindable {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 { sqlite3_bind_double(statement, index, self) }
}

extension String: SQLBindable {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 {
        var text = self
        return text.withUTF8 { sqlite3_bind_text(statement, index, $0.baseAddress, Int32($0.count), transient) }
    }
}

extension Data: SQLBindable {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 {
        withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), transient) }
    }
}

extension EventID: SQLBindable {
    /// The 16 bytes, big-endian halves, bound from the stack.
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 {
        var bytes = (high.bigEndian, low.bigEndian)
        return withUnsafeBytes(of: &bytes) { sqlite3_bind_blob(statement, index, $0.baseAddress, 16, transient) }
    }
}

extension KeyID: SQLBindable {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 {
        bytes.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), transient) }
    }
}

extension Optional: SQLBindable where Wrapped: SQLBindable {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 {
        switch self {
        case .some(let value): value.bind(to: statement, at: index)
        case .none: sqlite3_bind_null(statement, index)
        }
    }
}

/// The current row of a stepped statement; `row[i]` reads column `i` as the type the context asks for.
struct SQLRow {
    let statement: OpaquePointer

    subscript<T: SQLColumn>(_ column: Int) -> T { T.read(statement, Int32(column)) }
}

/// A column read straight from a stepped statement.
protocol SQLColumn {
    static func read(_ statement: OpaquePointer, _ column: Int32) -> Self
}

extension Int64: SQLColumn {
    static func read(_ statement: OpaquePointer, _ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }
}

extension Int: SQLColumn {
    static func read(_ statement: OpaquePointer, _ column: Int32) -> Int {
        Int(sqlite3_column_int64(statement, column))
    }
}

extension Bool: SQLColumn {
    static func read(_ statement: OpaquePointer, _ column: Int32) -> Bool {
        sqlite3_column_int64(statement, column) != 0
    }
}

extension Double: SQLColumn {
    static func read(_ statement: OpaquePointer, _ column: Int32) -> Double { sqlite3_column_double(statement, column) }
}

extension String: SQLColumn {
    static func read(_ statement: OpaquePointer, _ column: Int32) -> String {
        guard let text = sqlite3_column_text(statement, column) else { return "" }
        return String(
            decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(statement, column))),
            as: UTF8.self)
    }
}

extension Data: SQLColumn {
    static func read(_ statement: OpaquePointer, _ column: Int32) -> Data {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return Data() }
        return Data(bytes: bytes, count: count)
    }
}

extension Optional: SQLColumn where Wrapped: SQLColumn {
    static func read(_ statement: OpaquePointer, _ column: Int32) -> Wrapped? {
        sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : Wrapped.read(statement, column)
    }
}

extension Database {
    /// Runs a cached statement with `values` bound straight through SQLite's C API.
    ///
    /// The views are written event by event; binding through GRDB's general arguments (boxed values in an
    /// array) costs more than SQLite's own insert, so the projector's statements bind here, and read their one
    /// value here too. Errors are GRDB's `DatabaseError`s, with the SQL and never the values.
    func run<each Value: SQLBindable>(_ sql: String, _ values: repeat each Value) throws {
        _ = try rows(sql, repeat each values) { _ in () }
    }

    /// The first column of the first row, or nil without a row.
    func value<T: SQLColumn, each Value: SQLBindable>(
        _ type: T.Type, _ sql: String, _ values: repeat each Value
    ) throws -> T? {
        try rows(sql, repeat each values) { $0[0] as T }.first
    }

    /// Every row, each read by `row` from the stepped statement; the statement is reset after.
    func rows<T, each Value: SQLBindable>(
        _ sql: String, _ values: repeat each Value, row: (SQLRow) throws -> T
    ) throws -> [T] {
        let statement = try cachedStatement(sql: sql).sqliteStatement
        sqlite3_reset(statement)
        defer { sqlite3_reset(statement) }
        var index: Int32 = 0
        for value in repeat each values {
            index += 1
            let code = value.bind(to: statement, at: index)
            guard code == SQLITE_OK else { throw error(code, sql) }
        }
        var found: [T] = []
        while true {
            let code = sqlite3_step(statement)
            switch code {
            case SQLITE_ROW: found.append(try row(SQLRow(statement: statement)))
            case SQLITE_DONE: return found
            default: throw error(code, sql)
            }
        }
    }

    private func error(_ code: Int32, _ sql: String) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqliteConnection)),
            sql: sql)
    }
}
