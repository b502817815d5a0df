import Crypto
package import GRDB
import VigilModel

/// A digest of the views of record: per projection, SHA-256 over its tables' rows read in primary-key order.
///
/// Each row is encoded unambiguously (column count, then each value's type, length and bytes) and the rows are
/// hashed in order, so the digest changes if any row is edited, added, removed, duplicated or put in another
/// order, and two sets of views with the same digest hold the same rows (up to a SHA-256 collision). Unlike a
/// sum of row hashes, it cannot be matched by choosing rows (a generalised birthday attack); it is computed by
/// reading the tables, which is what a check does anyway.
package enum ViewDigest {
    /// The digest of every projection of the views in `db`.
    package static func of(_ db: Database) throws -> [Projection: [UInt8]] {
        var digests: [Projection: [UInt8]] = [:]
        for (projection, tables) in ViewSchema.projections {
            var hasher = SHA256()
            for table in tables {
                hasher.update(data: Array("table \(table.name)\n".utf8))
                let rows = try Row.fetchCursor(db, sql: "SELECT * FROM \(table.name) ORDER BY \(table.key)")
                while let row = try rows.next() { add(row, to: &hasher) }
            }
            digests[projection] = Array(hasher.finalize())
        }
        return digests
    }

    /// The digest of a sequence of rows, in the order given (for tests and tools).
    package static func digest(rows: [[DatabaseValue]]) -> [UInt8] {
        var hasher = SHA256()
        for row in rows { add(row, to: &hasher) }
        return Array(hasher.finalize())
    }

    static func add(_ row: Row, to hasher: inout SHA256) {
        add(row.databaseValues, to: &hasher)
    }

    static func add(_ values: some Collection<DatabaseValue>, to hasher: inout SHA256) {
        var bytes: [UInt8] = []
        append(UInt64(values.count), to: &bytes)
        for value in values {
            switch value.storage {
            case .null:
                bytes.append(0)
            case .int64(let integer):
                bytes.append(1)
                append(UInt64(bitPattern: integer), to: &bytes)
            case .double(let double):
                bytes.append(2)
                append(double.bitPattern, to: &bytes)
            case .string(let text):
                bytes.append(3)
                append(UInt64(text.utf8.count), to: &bytes)
                bytes.append(contentsOf: text.utf8)
            case .blob(let data):
                bytes.append(4)
                append(UInt64(data.count), to: &bytes)
                bytes.append(contentsOf: data)
            }
        }
        hasher.update(data: bytes)
    }

    private static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    /// Where two sets of views first differ in a projection's tables: the table and the key of the first row
    /// (in key order) that one has and the other has not, or that both have with other values. Keys are codes
    /// and positions, never clinical values.
    static func firstDifference(_ projection: Projection, _ left: Database, _ right: Database) throws -> String? {
        guard let tables = ViewSchema.projections.first(where: { $0.projection == projection })?.tables else {
            return nil
        }
        for table in tables {
            let sql = "SELECT * FROM \(table.name) ORDER BY \(table.key)"
            let keyCount = table.key.split(separator: ",").count
            let a = try Row.fetchCursor(left, sql: sql)
            let b = try Row.fetchCursor(right, sql: sql)
            while true {
                let rowA = try a.next()
                let rowB = try b.next()
                if rowA == nil && rowB == nil { break }
                guard let rowA, let rowB else {
                    let extra = (rowA ?? rowB)!
                    return "\(table.name): row \(describe(extra, keys: keyCount)) is in one and not the other"
                }
                if rowA != rowB {
                    let keysA = Array(rowA.databaseValues.prefix(keyCount))
                    let keysB = Array(rowB.databaseValues.prefix(keyCount))
                    return keysA == keysB
                        ? "\(table.name): row \(describe(rowA, keys: keyCount)) has other values"
                        : "\(table.name): rows \(describe(rowA, keys: keyCount)) and \(describe(rowB, keys: keyCount)) differ"
                }
            }
        }
        return nil
    }

    static func describe(_ row: Row, keys: Int) -> String {
        "("
            + row.databaseValues.prefix(keys).map { value -> String in
                switch value.storage {
                case .null: "null"
                case .int64(let integer): String(integer)
                case .double(let double): String(double)
                case .string(let text): text
                case .blob(let data): Hex.encode(data)
                }
            }.joined(separator: ", ") + ")"
    }
}
