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
}
