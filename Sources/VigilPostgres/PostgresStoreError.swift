import PostgresNIO
import VigilStore

/// What went wrong with a store on PostgreSQL, with a stable code for scripts and logs.
///
/// Messages name the server's SQLSTATE and its message, never a statement's arguments (which may be clinical
/// data) and never a password.
package struct PostgresStoreError: Error, Sendable, CustomStringConvertible {
    package enum Code: String, Sendable {
        /// The database URL or its password file cannot be used.
        case invalidLocation = "invalid_location"
        /// The server could not be reached, or refused the connection or the credentials.
        case unreachable
        /// The server refused a statement (a privilege, a trigger of the append-only log, a constraint).
        case refused
        /// The database holds a log already, where an empty one was required.
        case notEmpty = "not_empty"
        /// The database holds no Vigil log, or one that contradicts itself.
        case corrupt
        /// The schema was written by a newer release of Vigil.
        case newerVersion = "newer_version"
        /// A copy differs from its source.
        case copyMismatch = "copy_mismatch"
        /// The server did not answer a commit and could not be asked afterwards whether it stored it.
        case unknownOutcome = "unknown_outcome"
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(code.rawValue): \(message)" }

    /// Wraps an error met while `doing` something: PostgreSQL's errors keep their SQLSTATE and message.
    package init(_ error: any Error, while doing: String) {
        switch error {
        case let error as PostgresStoreError:
            self = error
        case let error as PostgresTransactionError:
            if let inner = error.closureError ?? error.beginError {
                self.init(inner, while: doing)
            } else if let commit = error.commitError {
                self.init(commit, while: doing + " (at COMMIT: whether the transaction was stored is unknown)")
            } else {
                self.init(.unreachable, "\(doing): the transaction failed")
            }
        case let error as StoreError:
            self.init(error.code == .corrupt ? .corrupt : .refused, "\(doing): \(error.message)")
        case let error as PSQLError:
            if let info = error.serverInfo {
                let state = info[.sqlState] ?? "?"
                let message = info[.message] ?? "no message"
                self.init(.refused, "\(doing): PostgreSQL error \(state) (\(message))")
            } else {
                self.init(
                    .unreachable, "\(doing): \(error.code) (the server cannot be reached or closed the connection)")
            }
        default:
            self.init(.unreachable, "\(doing): \(type(of: error))")
        }
    }

    /// The server's SQLSTATE of an error, if it came from the server.
    package static func sqlState(of error: any Error) -> String? {
        if let error = error as? PostgresTransactionError {
            return (error.closureError ?? error.beginError ?? error.commitError).flatMap(sqlState(of:))
        }
        return (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}
