package import Logging
import NIOCore
package import PostgresNIO
import Synchronization

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

    /// Closes `connection` without waiting for it: a connection whose server died or stopped answering may not
    /// answer its close either, and whatever gives it up must not wait on it.
    static func discard(_ connection: PostgresConnection) {
        Task.detached { try? await connection.close() }
    }

    /// The result of `work`, or nil when `deadline` passes first; `work` then goes on by itself and its result is
    /// dropped. For a step that must not wait forever on a server that stopped answering: a query under way does not
    /// end when its task is cancelled. A cancelled caller stops waiting at once (`CancellationError`).
    static func within<T: Sendable>(
        _ deadline: Duration, _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T? {
        let race = Race<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard race.start(continuation) else { return }
                let timer = Task.detached {
                    try await Task.sleep(for: deadline)
                    race.finish(.success(nil))
                }
                Task.detached {
                    let result = await Result { try await work() }
                    timer.cancel()
                    race.finish(result.map { $0 })
                }
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    /// The result of `work` on `connection` when it comes within `deadline`. Otherwise `connection` is given up:
    /// `givingUp` runs (its holder forgets it), it is closed without waiting, and this throws `unreachable`
    /// ("no answer `about` within N seconds"). A statement sent on a connection whose server died as it was sent has
    /// been seen never to be answered (postgres-nio 1.33, the server stopped with `pg_ctl stop -m immediate`).
    static func answered<T: Sendable>(
        within deadline: Duration, on connection: PostgresConnection, about: String,
        givingUp: () -> Void = {}, _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        guard let value = try await within(deadline, work) else {
            givingUp()
            discard(connection)
            throw PostgresStoreError(.unreachable, "no answer \(about) within \(deadline.components.seconds) seconds")
        }
        return value
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

/// Whichever of a piece of work and its deadline ends first answers (``PostgresAccess/within(_:_:)``).
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T?, any Error>?
        /// The answer that came before the continuation was set (a cancellation).
        var early: Result<T?, any Error>?
    }

    private let state = Mutex(State())

    /// Sets the continuation; false (and it is resumed) when the race was already decided.
    func start(_ continuation: CheckedContinuation<T?, any Error>) -> Bool {
        let early = state.withLock { state -> Result<T?, any Error>? in
            if let early = state.early { return early }
            state.continuation = continuation
            return nil
        }
        guard let early else { return true }
        continuation.resume(with: early)
        return false
    }

    /// Answers the waiter with the first result to come; later ones are dropped.
    func finish(_ result: Result<T?, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<T?, any Error>? in
            guard let continuation = state.continuation.take() else {
                if state.early == nil { state.early = result }
                return nil
            }
            state.early = result
            return continuation
        }
        continuation?.resume(with: result)
    }
}
