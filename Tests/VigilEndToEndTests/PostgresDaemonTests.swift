import Foundation
import Testing
import VigilModel
import VigilPostgres
import VigilTestSupport

/// vigild with its log in PostgreSQL (`database.url`), on the real server scripts/test starts: events go in,
/// alerts come out, a restart finds the log where it was, and the log exported to a file verifies offline.
@Suite struct PostgresDaemonTests {
    static func openAlerts(_ client: TestHTTPClient, limit: Int = 200) async throws -> [JSONValue] {
        let response = try await client.get("/v1/alerts?status=open&limit=\(limit)", token: "e2e-officer")
        guard case .object(let root) = try JSONParser.parse(response.body), case .array(let alerts)? = root["alerts"]
        else { throw TestFailure("no alerts in \(response.text)") }
        return alerts
    }

    @Test func vigildKeepsItsLogInPostgreSQL() async throws {
        try await withTemporaryDirectory { folder in
            try await PostgresTestDatabase.with { database in
                let keys = TestKeys()
                let environment = ["VIGIL_DATABASE_URL": database.description]
                let daemon = try await DaemonProcess.start(
                    folder: folder, adminKey: keys.admin, extraEnvironment: environment)
                #expect(try await daemon.waitForLog("vigild ready"), "\(daemon.logText)")
                #expect(daemon.logText.contains("the log is in PostgreSQL"))
                let client = daemon.client
                #expect(try await client.post("/v1/events/batch", Fixtures.batch(keys.registrations())).status == 200)
                let high = Fixtures.envelope(
                    Fixtures.vitals(systolic: 190, diastolic: 115, heartRate: 88), by: keys.device)
                let stored = try await client.post("/v1/events", high)
                #expect(stored.status == 201, "\(stored.text)")
                #expect(try await client.post("/v1/events", high).text.contains("\"duplicate\":true"))

                // The alert engine follows the log in PostgreSQL and appends its alert there.
                var alerts: [JSONValue] = []
                for _ in 0..<100 where alerts.isEmpty {
                    alerts = try await Self.openAlerts(client)
                    if alerts.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(alerts.contains { $0.objectValue?["rule"] == .string("hypertension") }, "\(alerts)")
                let head = try await client.logHead(token: "e2e-auditor")
                #expect(head.size >= 8)

                #expect(try await client.get("/healthz").text.contains("leads: appends"))
                #expect(try await daemon.stop() == 0)
                // Only this node's own files are local: the read models, not the log.
                #expect(!FileManager.default.fileExists(atPath: folder + "/data/vigil.sqlite"))
                #expect(FileManager.default.fileExists(atPath: folder + "/data/vigil.projections.sqlite"))

                let again = try await DaemonProcess.start(
                    folder: folder, adminKey: keys.admin, extraEnvironment: environment)
                #expect(try await again.waitForLog("vigild ready"), "\(again.logText)")
                #expect(try await again.client.logHead(token: "e2e-auditor").size >= head.size)
                #expect(try await again.client.get("/healthz").status == 200)
                #expect(try await Self.openAlerts(again.client).count == alerts.count)
                #expect(try await again.stop() == 0)

                let exported = folder + "/audit.sqlite"
                let export = try await run(
                    Binaries.vigilctl, ["export", "store", "--from", database.description, "--to", exported])
                #expect(export.status == 0, "\(export.stdout)\(export.stderr)")
                let verify = try await run(Binaries.vigilctl, ["verify", "--database", exported])
                #expect(verify.status == 0 && verify.stdout.contains("OK: "), "\(verify.stdout)\(verify.stderr)")
                // And in place, without a file: the same entries, the same head.
                let direct = try await run(Binaries.vigilctl, ["verify", "--database", database.description])
                #expect(direct.status == 0, "\(direct.stdout)\(direct.stderr)")
                #expect(
                    direct.stdout.split(separator: "\n").prefix(2) == verify.stdout.split(separator: "\n").prefix(2),
                    "\(direct.stdout) against \(verify.stdout)")
            }
        }
    }

    /// vigild as a role with the GRANTs docs/postgresql.md gives (SELECT and INSERT, nothing else) on a database its
    /// owner migrated: it serves, signs heads and raises alerts; the role cannot change what it wrote.
    @Test func vigildRunsAsARoleThatMaySelectAndInsertOnly() async throws {
        try await withTemporaryDirectory { folder in
            try await PostgresTestDatabase.with { database in
                // The owner creates the schema (as `vigilctl migrate-store` or a first start as the owner would).
                let owner = try await PostgresLog.open(database, logger: PostgresTestDatabase.logger)
                await owner.close()
                try await PostgresTestDatabase.asVigildRole(on: database) { (vigildRole) async throws in
                    let keys = TestKeys()
                    let daemon = try await DaemonProcess.start(
                        folder: folder, adminKey: keys.admin,
                        extraEnvironment: ["VIGIL_DATABASE_URL": vigildRole.description])
                    #expect(try await daemon.waitForLog("vigild ready"), "\(daemon.logText)")
                    let client = daemon.client
                    #expect(
                        try await client.post("/v1/events/batch", Fixtures.batch(keys.registrations())).status == 200)
                    let high = Fixtures.envelope(Fixtures.vitals(systolic: 190, diastolic: 115), by: keys.device)
                    #expect(try await client.post("/v1/events", high).status == 201)
                    var alerts: [JSONValue] = []
                    for _ in 0..<100 where alerts.isEmpty {
                        alerts = try await Self.openAlerts(client)
                        if alerts.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
                    }
                    #expect(!alerts.isEmpty, "no alert raised as the restricted role: \(daemon.logText.suffix(2000))")
                    // A checkpoint signed now is recorded (signed heads and checkpoints: INSERT and their sequences).
                    let checkpoint = try await client.send("POST", "/v1/checkpoint", token: "e2e-auditor")
                    #expect(checkpoint.status == 200, "\(checkpoint.text)")
                    #expect(try await daemon.stop() == 0)

                    #expect(
                        try await PostgresTestDatabase.refusal("UPDATE events SET recorded_at = 0", on: vigildRole)
                            == "42501")
                    #expect(try await PostgresTestDatabase.refusal("DELETE FROM events", on: vigildRole) == "42501")
                    #expect(try await PostgresTestDatabase.refusal("TRUNCATE signed_heads", on: vigildRole) == "42501")
                }
            }
        }
    }

    @Test func aURLWithAPasswordOrANewerSchemaIsRefusedAtStart() async throws {
        try await withTemporaryDirectory { folder in
            try await PostgresTestDatabase.with { database in
                let keys = TestKeys()
                let withPassword = database.description.replacingOccurrences(of: "@", with: ":hunter2@")
                let refused = try await run(
                    Binaries.vigild, [],
                    environment: DaemonProcess.environment(folder: folder, adminKey: keys.admin).merging([
                        "VIGIL_DATABASE_URL": withPassword
                    ]) { $1 })
                #expect(refused.status != 0)
                #expect(refused.stderr.contains("password"), "\(refused.stderr)")
                #expect(!refused.stderr.contains("hunter2") && !refused.stdout.contains("hunter2"))

                // Verifying a database without a log says so, and creates nothing there.
                let empty = try await run(Binaries.vigilctl, ["verify", "--database", database.description])
                #expect(empty.status == 2 && empty.stderr.contains("holds no Vigil log"), "\(empty.stderr)")
                #expect(
                    try await PostgresTestDatabase.integer(
                        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", on: database) == 0)

                try await PostgresTestDatabase.execute(
                    "CREATE TABLE vigil_schema_migrations (id text PRIMARY KEY, applied_at timestamptz)", on: database)
                try await PostgresTestDatabase.execute(
                    "INSERT INTO vigil_schema_migrations (id) VALUES ('pg-v9-from-the-future')", on: database)
                let newer = try await run(
                    Binaries.vigild, [],
                    environment: DaemonProcess.environment(folder: folder, adminKey: keys.admin).merging([
                        "VIGIL_DATABASE_URL": database.description
                    ]) { $1 })
                #expect(newer.status != 0)
                #expect(newer.stderr.contains("newer release"), "\(newer.stderr)")
            }
        }
    }
}
