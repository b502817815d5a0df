package import Logging
import NIOCore
package import PostgresNIO

/// One connection to a PostgreSQL database for the length of one piece of work (a copy, a migration).
package enum PostgresAccess {
    /// Runs `body` with a connection to `location`, closed when `body` returns.
    ///
    /// - Throws: ``PostgresStoreError`` when no connection can be made (``connect(_:id:logger:)``), or whatever
    ///   `body` throws.
    package static func withConnection<Result: Sendable>(
        _ location: PostgresLocation, logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let connection = try await connect(location, id: 1, logger: logger)
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// A new connection to `location`, with its timeout and session settings.
    ///
    /// - Throws: ``PostgresStoreError``: `unreachable` when the server does not answer within
    ///   ``PostgresLocation/connectTimeout`` seconds, or `refused` naming the server's answer.
    static func connect(
        _ location: PostgresLocation, id: Int, logger: Logger
    ) async throws(PostgresStoreError) -> PostgresConnection {
        let configuration = try location.connectionConfiguration()
        do {
            return try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
        } catch {
            throw PostgresStoreError(error, while: "cannot connect to \(location)")
        }
    }
}
