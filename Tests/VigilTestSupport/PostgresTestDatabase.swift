import Foundation
package import Logging
import PostgresNIO
package import VigilPostgres

/// A database of its own for one test, on the throwaway cluster scripts/test starts
/// (`VIGIL_TEST_POSTGRES_URL`: its owner's URL), dropped afterwards.
///
/// Without the variable the test fails rather than skips: CI must never pass these silently.
package enum PostgresTestDatabase {
    package struct NoCluster: Error, CustomStringConvertible {
        package var description: String {
            "no PostgreSQL cluster: run the tests through scripts/test, or set VIGIL_TEST_POSTGRES_URL "
                + "(scripts/postgres-cluster start DIR prints one)"
        }
    }

    package static let logger = Logger(label: "vigil-postgres-test")

    /// The cluster's owner, connected to its maintenance database.
    package static func server() throws -> PostgresLocation {
        guard let url = ProcessInfo.processInfo.environment["VIGIL_TEST_POSTGRES_URL"] else { throw NoCluster() }
        return try PostgresLocation(url: url, environment: [:])
    }

    /// Runs `body` with the location of a new, empty database owned by the cluster's owner.
    package static func with<T: Sendable>(_ body: (PostgresLocation) async throws -> T) async throws -> T {
        let server = try server()
        let name = "vigil_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await execute("CREATE DATABASE \(name)", on: server)
        do {
            let result = try await body(server.database(name))
            try await execute("DROP DATABASE \(name) WITH (FORCE)", on: server)
            return result
        } catch {
            try? await execute("DROP DATABASE \(name) WITH (FORCE)", on: server)
            throw error
        }
    }

    /// Runs `body` with the location of `database` as a new role with the GRANTs docs/postgresql.md gives vigild's
    /// role (SELECT and INSERT on the log's tables, nothing else), on a schema that exists already; the role is
    /// dropped afterwards.
    package static func asVigildRole<T: Sendable>(
        on database: PostgresLocation, _ body: (PostgresLocation) async throws -> T
    ) async throws -> T {
        let role = "vigild_" + UUID().uuidString.prefix(8).lowercased()
        for statement in [
            "CREATE ROLE \(role) LOGIN",
            "REVOKE ALL ON DATABASE \(database.database) FROM PUBLIC",
            "GRANT CONNECT ON DATABASE \(database.database) TO \(role)",
            "REVOKE ALL ON SCHEMA public FROM PUBLIC",
            "GRANT USAGE ON SCHEMA public TO \(role)",
            "GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO \(role)",
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO \(role)",
        ] {
            try await execute(statement, on: database)
        }
        var vigild = database
        vigild.user = role
        let result: T
        do {
            result = try await body(vigild)
        } catch {
            try? await execute("DROP OWNED BY \(role)", on: database)
            try? await execute("DROP ROLE \(role)", on: database)
            throw error
        }
        try await execute("DROP OWNED BY \(role)", on: database)
        try await execute("DROP ROLE \(role)", on: database)
        return result
    }

    /// Runs one statement (made of trusted text: names the tests generate).
    package static func execute(_ sql: String, on location: PostgresLocation) async throws {
        try await PostgresAccess.withConnection(location, logger: logger) { connection in
            for try await _ in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {}
        }
    }

    /// The integer a query of one row and one column answers (made of trusted text).
    package static func integer(_ sql: String, on location: PostgresLocation) async throws -> Int64 {
        try await PostgresAccess.withConnection(location, logger: logger) { connection in
            var value: Int64 = 0
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                .decode(Int64.self)
            {
                value = row
            }
            return value
        }
    }

    /// The SQLSTATE the server answers `sql` with, or nil when it is accepted; any other failure is thrown.
    package static func refusal(_ sql: String, on location: PostgresLocation) async throws -> String? {
        do {
            try await execute(sql, on: location)
            return nil
        } catch {
            guard let state = PostgresStoreError.sqlState(of: error) else { throw error }
            return state
        }
    }
}
