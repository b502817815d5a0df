import Testing
import VigilPostgres

/// Database URLs read as libpq reads them, with the password kept out of them and out of every message.
@Suite struct PostgresLocationTests {
    @Test func aURLNamesServerDatabaseAndTLSAndThePasswordComesFromElsewhere() throws {
        let remote = try PostgresLocation(
            url: "postgres://vigild@db.clinic.example:6432/vigil", environment: ["VIGIL_DATABASE_PASSWORD": "s3cret"])
        #expect(remote.host == "db.clinic.example" && remote.port == 6432 && remote.database == "vigil")
        #expect(remote.tls == .verifyFull, "a remote server is reached over verified TLS unless the URL says otherwise")
        #expect(remote.password == "s3cret")
        #expect(!remote.description.contains("s3cret"))
        #expect(remote.description == "postgres://vigild@db.clinic.example:6432/vigil?sslmode=verify-full")

        let local = try PostgresLocation(url: "postgresql://vigild@127.0.0.1/vigil", environment: ["PGPASSWORD": "pg"])
        #expect(local.tls == .disable && local.port == 5432 && local.password == "pg")

        let socket = try PostgresLocation(url: "postgres://vigild@/vigil?host=/run/postgresql", environment: [:])
        #expect(socket.socketFolder == "/run/postgresql" && socket.tls == .disable)

        let required = try PostgresLocation(url: "postgres://v@db/vigil?sslmode=require", environment: [:])
        #expect(required.tls == .require)
    }

    @Test func aURLThatCannotBeUsedIsRefusedWithoutEchoingAPassword() {
        for url in [
            "postgres://vigild:hunter2@db/vigil", "postgres://db/vigil", "postgres://vigild@db/",
            "postgres://vigild@db/vigil?sslmode=allow", "postgres://vigild@db/vigil?application_name=x",
            "mysql://vigild@db/vigil",
        ] {
            let error = #expect(throws: PostgresStoreError.self, "\(url)") {
                try PostgresLocation(url: url, environment: [:])
            }
            #expect(error?.code == .invalidLocation)
            #expect(error?.message.contains("hunter2") == false)
        }
    }
}
