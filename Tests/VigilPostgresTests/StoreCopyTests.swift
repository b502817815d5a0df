import Foundation
import GRDB
import Logging
import Testing
import VigilModel
import VigilPostgres
import VigilStore
import VigilTestSupport

/// The store on a real PostgreSQL server: the schema keeps the log append-only whoever asks, and a store moves
/// from SQLite to PostgreSQL and back with every byte of every table kept.
@Suite struct StoreCopyTests {
    /// A store with every table filled: registrations, 600 readings (so the tree stores nodes), a signed head
    /// and checkpoint, a witness's cosignature, and more entries after them.
    static func populatedStore(at path: String, keys: TestKeys) async throws {
        let store = try EventStore.open(path: path, anchors: keys.anchors, logger: Logger(label: "test"))
        let start = Timestamp(rfc3339: "2026-11-30T08:00:00Z")!
        _ = await store.append(keys.verifiedRegistrations(at: start))
        for batch in 0..<6 {
            _ = await store.append(
                (0..<100).map { index in
                    Fixtures.verified(
                        Fixtures.vitals(
                            systolic: Double(110 + index % 40), at: start.adding(seconds: Int64(batch * 100 + index))),
                        by: keys.device)
                })
        }
        let signed = try await store.signHead(with: LogSigner(key: keys.daemon, origin: "test.example/vigil"))
        let checkpoint = try #require(try await store.latestCheckpoint())
        #expect(signed.head.size == checkpoint.size)
        try await store.recordCosignature(
            of: checkpoint.seq, witness: "witness.example", line: "— witness.example AAAA\n", at: start)
        _ = await store.append([Fixtures.verified(Fixtures.received(at: start), by: keys.pharmacist)])
        await store.close()
    }

    /// Every table's digest in a store file.
    static func digests(of path: String) async throws -> [String: TableDigest] {
        let database = try LogTableFile.openStore(at: path)
        defer { try? database.close() }
        var digests: [String: TableDigest] = [:]
        for table in LogTable.all {
            digests[table.name] = try await table.pages { after, count in
                try LogTableFile.rows(of: table, after: after, limit: count, in: database)
            }
        }
        return digests
    }

    @Test func aStoreMovesToPostgreSQLAndBackWithEveryByteKept() async throws {
        try await withTemporaryDirectory { folder in
            let source = folder + "/vigil.sqlite"
            try await Self.populatedStore(at: source, keys: TestKeys())
            try await PostgresTestDatabase.with { database in
                let migrated = try await StoreCopy.migrate(
                    storeAt: source, to: database, logger: PostgresTestDatabase.logger)
                #expect(migrated.verification.isValid)
                #expect(migrated.verification.entriesChecked == 607)
                let rows = Dictionary(uniqueKeysWithValues: migrated.tables.map { ($0.name, $0.digest.rows) })
                #expect(rows["events"] == 607 && rows["key_events"] == 6 && rows["tree_nodes"] == 2)
                #expect(rows["signed_heads"] == 1 && rows["checkpoints"] == 1 && rows["cosignatures"] == 1)
                #expect(rows["trust_anchors"] == 2)

                let exported = folder + "/exported.sqlite"
                let back = try await StoreCopy.export(
                    from: database, toStoreAt: exported, logger: PostgresTestDatabase.logger)
                #expect(back.verification.isValid && back.verification.head.size == 607)
                #expect(back.verification.checkpointsChecked == 1 && back.verification.signedHeadsChecked == 1)
                let exportedDigests = try await Self.digests(of: exported)
                #expect(try await exportedDigests == Self.digests(of: source))
                let mode = try FileManager.default.attributesOfItem(atPath: exported)[.posixPermissions] as? Int
                #expect(mode == 0o600)

                // The exported file is a store like any other: it opens where the log stood.
                let reopened = try LogReader(path: exported)
                #expect(try reopened.size() == 607)
                reopened.close()
            }
        }
    }

    @Test func theLogIsAppendOnlyInTheDatabaseForItsOwnerAndForVigildsRole() async throws {
        try await withTemporaryDirectory { folder in
            let source = folder + "/vigil.sqlite"
            try await Self.populatedStore(at: source, keys: TestKeys())
            try await PostgresTestDatabase.with { database in
                _ = try await StoreCopy.migrate(storeAt: source, to: database, logger: PostgresTestDatabase.logger)
                // The owner: the triggers refuse every change, whatever the table.
                for table in LogTable.all {
                    let column = table.key[0]
                    #expect(
                        try await PostgresTestDatabase.refusal(
                            "UPDATE \(table.name) SET \(column) = \(column)", on: database)
                            == "VG001", "UPDATE of \(table.name)")
                    #expect(
                        try await PostgresTestDatabase.refusal("DELETE FROM \(table.name)", on: database) == "VG001",
                        "DELETE of \(table.name)")
                    #expect(
                        try await PostgresTestDatabase.refusal("TRUNCATE \(table.name) CASCADE", on: database)
                            == "VG001",
                        "TRUNCATE of \(table.name)")
                }
                // A gap in the positions, or a tree node out of order, is refused too.
                #expect(
                    try await PostgresTestDatabase.refusal(
                        "INSERT INTO events VALUES (609, '\\x00', 0, '\\x00', '\\x00', '\\x00')", on: database)
                        == "VG002")
                #expect(
                    try await PostgresTestDatabase.refusal(
                        "INSERT INTO tree_nodes VALUES (8, 5, '\\x00')", on: database)
                        == "VG002")

                // vigild's role, with the GRANTs docs/postgresql.md gives: SELECT and INSERT, nothing else.
                try await PostgresTestDatabase.asVigildRole(on: database) { (vigild) async throws in
                    #expect(
                        try await PostgresTestDatabase.refusal("UPDATE events SET recorded_at = 0", on: vigild)
                            == "42501")
                    #expect(try await PostgresTestDatabase.refusal("DELETE FROM checkpoints", on: vigild) == "42501")
                    #expect(try await PostgresTestDatabase.refusal("TRUNCATE events", on: vigild) == "42501")
                    #expect(try await PostgresTestDatabase.refusal("DROP TABLE events", on: vigild) == "42501")
                    // It may append: a signed head numbered after the copied ones.
                    #expect(
                        try await PostgresTestDatabase.refusal(
                            "INSERT INTO signed_heads (size, chain_hash, issued_at, envelope) VALUES (1, '\\x00', 0, '\\x00')",
                            on: vigild) == nil)
                }
            }
        }
    }

    @Test func aDatabaseThatHoldsALogIsNeverWrittenOver() async throws {
        try await withTemporaryDirectory { folder in
            let source = folder + "/vigil.sqlite"
            try await Self.populatedStore(at: source, keys: TestKeys())
            try await PostgresTestDatabase.with { database in
                _ = try await StoreCopy.migrate(storeAt: source, to: database, logger: PostgresTestDatabase.logger)
                let again = await #expect(throws: PostgresStoreError.self) {
                    try await StoreCopy.migrate(storeAt: source, to: database, logger: PostgresTestDatabase.logger)
                }
                #expect(again?.code == .notEmpty)
                // An export never overwrites a file either.
                let existing = folder + "/existing.sqlite"
                #expect(FileManager.default.createFile(atPath: existing, contents: Data("keep".utf8)))
                let export = await #expect(throws: PostgresStoreError.self) {
                    try await StoreCopy.export(from: database, toStoreAt: existing, logger: PostgresTestDatabase.logger)
                }
                #expect(export?.code == .invalidLocation)
                #expect(FileManager.default.contents(atPath: existing) == Data("keep".utf8))
            }
        }
    }

    @Test func aStoreThatDoesNotVerifyIsNotMigrated() async throws {
        try await withTemporaryDirectory { folder in
            let source = folder + "/vigil.sqlite"
            try await Self.populatedStore(at: source, keys: TestKeys())
            // One byte of one envelope changed behind the store's back (its own triggers dropped first).
            let file = try DatabaseQueue(path: source)
            try await file.write { db in
                try db.execute(sql: "DROP TRIGGER events_no_update")
                try db.execute(sql: "UPDATE events SET envelope = envelope || X'20' WHERE position = 20")
            }
            try file.close()
            try await PostgresTestDatabase.with { database in
                let refused = await #expect(throws: PostgresStoreError.self) {
                    try await StoreCopy.migrate(storeAt: source, to: database, logger: PostgresTestDatabase.logger)
                }
                #expect(refused?.code == .corrupt)
                #expect(refused?.message.contains("position 20") == true, "\(String(describing: refused))")
                // Nothing was created: the schema is made only for a store that verifies.
                let events = try await PostgresTestDatabase.refusal("SELECT 1 FROM events", on: database)
                #expect(events == "42P01", "no events table")
            }
        }
    }

    @Test func anUnreachableServerIsReportedAsSuch() async throws {
        let nowhere = try PostgresLocation(url: "postgres://vigil@127.0.0.1:1/vigil", environment: [:])
        let error = await #expect(throws: PostgresStoreError.self) {
            try await PostgresAccess.withConnection(nowhere, logger: PostgresTestDatabase.logger) { _ in }
        }
        #expect(error?.code == .unreachable)
    }
}
