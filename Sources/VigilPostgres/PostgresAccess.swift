package import Logging
import NIOCore
package import PostgresNIO

/// One connection to a PostgreSQL database for the length of one piece of work (a copy, a migration).
package enum PostgresAccess {
    /// How long connecting may take before the server is reported unreachable.
    static let connectTimeout: Int64 = 10

    /// Runs `body` with a connection to `location`, closed when `body` returns.
    ///
    /// - Throws: ``PostgresStoreError`` when no connection can be made (`unreachable` within ``connectTimeout``
    ///   seconds, or `refused` naming the server's answer), or whatever `body` throws.
    package static func withConnection<Result: Sendable>(
        _ location: PostgresLocation, logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        var configuration = try location.connectionConfiguration()
        configuration.options.connectTimeout = .seconds(connectTimeout)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        } catch {
            throw PostgresStoreError(error, while: "cannot connect to \(location)")
        }
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
