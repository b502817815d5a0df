import Foundation
import Logging
import Testing
import VigilModel
import VigilPostgres
import VigilStore
import VigilTestSupport

/// `vigilctl migrate-store` and `vigilctl export store` as an operator runs them, against a real PostgreSQL server.
@Suite struct StoreCopyCommandTests {
    @Test func aStoreGoesToPostgreSQLAndComesBackAsAFileThatVerifies() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let path = folder + "/vigil.sqlite"
            let store = try EventStore.open(path: path, anchors: keys.anchors, logger: Logger(label: "test"))
            _ = await store.append(keys.verifiedRegistrations(at: Fixtures.now()))
            _ = await store.append((0..<300).map { _ in Fixtures.verified(Fixtures.vitals(), by: keys.device) })
            _ = try await store.signHead(with: LogSigner(key: keys.daemon, origin: "test.example/vigil"))
            let head = store.head
            await store.close()

            try await PostgresTestDatabase.with { database in
                let url = database.description
                let migrated = try await run(Binaries.vigilctl, ["migrate-store", "--from", path, "--to", url])
                #expect(migrated.status == 0, "\(migrated.stdout)\(migrated.stderr)")
                #expect(migrated.stdout.contains("events         306 rows, SHA-256"), "\(migrated.stdout)")
                #expect(migrated.stdout.contains("size 306, chain hash \(Hex.encode(head.chainHash))"))

                let again = try await run(Binaries.vigilctl, ["migrate-store", "--from", path, "--to", url])
                #expect(again.status == 2 && again.stderr.contains("not_empty"), "\(again.stderr)")

                let exported = folder + "/audit.sqlite"
                let export = try await run(Binaries.vigilctl, ["export", "store", "--from", url, "--to", exported])
                #expect(export.status == 0, "\(export.stdout)\(export.stderr)")
                let verify = try await run(Binaries.vigilctl, ["verify", "--database", exported])
                #expect(verify.status == 0 && verify.stdout.contains("OK: 306 entries"), "\(verify.stdout)")

                // A password in the URL is refused, and never printed back.
                let withPassword = url.replacingOccurrences(of: "vigil_owner@", with: "vigil_owner:hunter2@")
                let refused = try await run(
                    Binaries.vigilctl, ["export", "store", "--from", withPassword, "--to", folder + "/x.sqlite"])
                #expect(refused.status == 2 && refused.stderr.contains("invalid_location"))
                #expect(!refused.stderr.contains("hunter2") && !refused.stdout.contains("hunter2"))
                #expect(!FileManager.default.fileExists(atPath: folder + "/x.sqlite"))
            }
        }
    }

    /// After an upgrade that migrates the PostgreSQL schema, vigild's restricted role is refused with the remedy, the
    /// owner applies the migration with `vigilctl migrate-schema`, and the role reads and appends again.
    @Test func anOlderSchemaIsMigratedByItsOwnerAndOnlyByItsOwner() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let path = folder + "/vigil.sqlite"
            let store = try EventStore.open(path: path, anchors: keys.anchors, logger: Logger(label: "test"))
            _ = await store.append(keys.verifiedRegistrations(at: Fixtures.now()))
            await store.close()

            try await PostgresTestDatabase.with { database in
                let owner = database.description
                let empty = try await run(Binaries.vigilctl, ["migrate-schema", "--database", owner])
                #expect(empty.status == 2 && empty.stderr.contains("holds no Vigil log"), "\(empty.stderr)")
                #expect(
                    try await PostgresTestDatabase.integer(
                        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", on: database) == 0)

                let migrated = try await run(Binaries.vigilctl, ["migrate-store", "--from", path, "--to", owner])
                #expect(migrated.status == 0, "\(migrated.stdout)\(migrated.stderr)")
                // The database as the previous release left it: this release's last migration not applied.
                try await PostgresTestDatabase.execute(
                    "DELETE FROM vigil_schema_migrations WHERE id = '\(PostgresSchema.currentVersion)'", on: database)

                try await PostgresTestDatabase.asVigildRole(on: database) { (vigild) async throws in
                    let role = vigild.description
                    do throws(PostgresStoreError) {
                        _ = try await PostgresLog.open(vigild, logger: PostgresTestDatabase.logger)
                        Issue.record("vigild's role opened a schema it cannot migrate")
                    } catch {
                        #expect(error.code == .refused && error.message.contains("vigilctl migrate-schema"), "\(error)")
                    }
                    let reader = try await run(Binaries.vigilctl, ["verify", "--database", role])
                    #expect(reader.status == 2 && reader.stderr.contains("migrate-schema"), "\(reader.stderr)")
                    let byRole = try await run(Binaries.vigilctl, ["migrate-schema", "--database", role])
                    #expect(byRole.status == 2 && byRole.stderr.contains("may not change"), "\(byRole.stderr)")

                    let byOwner = try await run(Binaries.vigilctl, ["migrate-schema", "--database", owner])
                    #expect(
                        byOwner.status == 0 && byOwner.stdout.contains("applied \(PostgresSchema.currentVersion)"),
                        "\(byOwner.stdout)\(byOwner.stderr)")
                    let again = try await run(Binaries.vigilctl, ["migrate-schema", "--database", owner])
                    #expect(again.status == 0 && again.stdout.contains("is current"), "\(again.stdout)")

                    let verified = try await run(Binaries.vigilctl, ["verify", "--database", role])
                    #expect(verified.status == 0 && verified.stdout.contains("OK: 6 entries"), "\(verified.stdout)")
                    let log = try await PostgresLog.open(vigild, logger: PostgresTestDatabase.logger)
                    await log.close()
                }
            }
        }
    }
}
