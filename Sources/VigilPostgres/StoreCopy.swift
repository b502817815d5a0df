import Foundation
import GRDB
package import Logging
import PostgresNIO
package import VigilStore

/// Copies a store between SQLite and PostgreSQL with every byte kept, and proves the copy (`vigilctl
/// migrate-store`, `vigilctl export store`).
///
/// A copy goes table by table in key order, in pages. Each table's rows are digested as they are read from the
/// source and again as they are read back from the copy; the copy stands only if every digest matches. The
/// SQLite side is also verified like any store (`vigilctl verify`: every hash, signature, signed head and
/// checkpoint): the source before a migration to PostgreSQL, the new file after an export from it.
package enum StoreCopy {
    /// What was copied and what proves it.
    package struct Report: Sendable {
        /// Each table's rows and digest, the same in the source and the copy.
        package var tables: [(name: String, digest: TableDigest)]
        /// The verification of the SQLite side.
        package var verification: VerificationReport
    }

    /// Copies the store file at `path` into the PostgreSQL database at `target`, which must hold no log yet.
    ///
    /// The source is verified first and refused if it does not hold; the schema is created on the target (the
    /// connecting role must own the database); every row is written in one transaction, so an interrupted copy
    /// leaves the target as it was.
    package static func migrate(
        storeAt path: String, to target: PostgresLocation, logger: Logger
    ) async throws(PostgresStoreError) -> Report {
        let verification: VerificationReport
        do {
            verification = try LogVerifier.verify(path: path)
        } catch {
            throw PostgresStoreError(.corrupt, error.description)
        }
        if let failure = verification.failure {
            throw PostgresStoreError(.corrupt, "the store at \(path) does not verify, so it is not copied: \(failure)")
        }
        let source: DatabaseQueue
        do {
            source = try LogTableFile.openStore(at: path)
        } catch {
            throw PostgresStoreError(.corrupt, error.description)
        }
        defer { try? source.close() }
        do {
            let tables = try await PostgresAccess.withConnection(target, logger: logger) { connection in
                try await PostgresSchema.migrate(connection, logger: logger)
                let written = try await connection.withTransaction(logger: logger) { connection in
                    try await refuseNonEmpty(connection, target: target, logger: logger)
                    var digests: [(name: String, digest: TableDigest)] = []
                    for table in LogTable.all {
                        let digest = try await table.pages(read: { after, count in
                            try LogTableFile.rows(of: table, after: after, limit: count, in: source)
                        }) { rows in
                            try await table.insert(rows, on: connection, logger: logger)
                        }
                        try await table.continueNumbering(on: connection, logger: logger)
                        digests.append((table.name, digest))
                    }
                    return digests
                }
                // Read back after the commit: what the database holds now, not what this session wrote.
                for (table, expected) in zip(LogTable.all, written) {
                    let copied = try await table.pages(limit: expected.digest.rows) { after, count in
                        try await table.rows(after: after, limit: count, on: connection, logger: logger)
                    }
                    guard copied == expected.digest else {
                        throw PostgresStoreError(
                            .copyMismatch,
                            "the table \(table.name) in \(target) differs from the source after the copy "
                                + "(source \(expected.digest), copy \(copied))")
                    }
                }
                return written
            }
            return Report(tables: tables, verification: verification)
        } catch {
            throw PostgresStoreError(error, while: "cannot copy the store to \(target)")
        }
    }

    /// Copies the log in the PostgreSQL database at `source` into a new store file at `path`, then verifies the
    /// file as `vigilctl verify` does.
    ///
    /// The rows are read in one repeatable-read transaction: the file is the log as it stood at one moment, even
    /// while vigild goes on appending. A copy that fails leaves no file behind.
    package static func export(
        from source: PostgresLocation, toStoreAt path: String, logger: Logger
    ) async throws(PostgresStoreError) -> Report {
        let target: DatabaseQueue
        do {
            target = try LogTableFile.createStore(at: path)
        } catch {
            throw PostgresStoreError(.invalidLocation, error.description)
        }
        var closed = false
        do {
            let tables = try await PostgresAccess.withConnection(source, logger: logger) { connection in
                try await connection.withTransaction(logger: logger) { connection in
                    try await connection.run(
                        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
                    var digests: [(name: String, digest: TableDigest)] = []
                    for table in LogTable.all {
                        let digest = try await table.pages(read: { after, count in
                            try await table.rows(after: after, limit: count, on: connection, logger: logger)
                        }) { rows in
                            try await target.write { db in try LogTableFile.insert(rows, into: table, db: db) }
                        }
                        digests.append((table.name, digest))
                    }
                    return digests
                }
            }
            for (table, expected) in zip(LogTable.all, tables) {
                let copied = try await table.pages { after, count in
                    try LogTableFile.rows(of: table, after: after, limit: count, in: target)
                }
                guard copied == expected.digest else {
                    throw PostgresStoreError(
                        .copyMismatch,
                        "the table \(table.name) in \(path) differs from \(source) after the copy "
                            + "(source \(expected.digest), copy \(copied))")
                }
            }
            // One self-contained file, as a backup is.
            try await target.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
            try target.close()
            closed = true
            let verification = try LogVerifier.verify(path: path)
            if let failure = verification.failure {
                throw PostgresStoreError(.corrupt, "the exported store does not verify: \(failure)")
            }
            return Report(tables: tables, verification: verification)
        } catch {
            if !closed { try? target.close() }
            try? FileManager.default.removeItem(atPath: path)
            throw PostgresStoreError(error, while: "cannot export the store from \(source)")
        }
    }

    /// Refuses a database that holds any row of a log already: a migration fills an empty one only.
    static func refuseNonEmpty(_ connection: PostgresConnection, target: PostgresLocation, logger: Logger) async throws
    {
        for table in LogTable.all {
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT EXISTS (SELECT 1 FROM \(table.name))"), logger: logger
            ).collect()
            if try rows.first?.decode(Bool.self) == true {
                throw PostgresStoreError(
                    .notEmpty,
                    "\(target) holds a log already (its \(table.name) table has rows); migrate into an empty database")
            }
        }
    }
}
