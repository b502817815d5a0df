import Foundation
import NIOSSL
package import PostgresNIO

/// Where a PostgreSQL database is and how to reach it: a `postgres://` URL, read the way libpq reads one.
///
/// `postgres://USER@HOST:PORT/DATABASE?sslmode=MODE&sslrootcert=FILE`, or `postgresql://`; `?host=/run/postgresql`
/// (a folder) connects through the server's Unix socket. The password is never taken from the URL, which ends up
/// in shell histories and process lists: it comes from a file (`passwordFile`, mode 0600) or from the environment
/// (`VIGIL_DATABASE_PASSWORD`, then libpq's `PGPASSWORD`). ``description`` never shows it.
///
/// `sslmode` is one of `disable`, `require` (encrypted, the server's certificate not checked) and `verify-full`
/// (encrypted, the certificate checked against the system's roots or `sslrootcert`, and the host name matched).
/// The default is `verify-full`, except for a server on the loopback interface or a Unix socket, where it is
/// `disable`: a clinical record does not cross a network in the clear unless the URL says so.
package struct PostgresLocation: Sendable, CustomStringConvertible {
    package enum TLSMode: String, Sendable, CaseIterable {
        case disable
        case require
        case verifyFull = "verify-full"
    }

    package var host: String
    package var port: Int
    /// The folder of the server's Unix socket, when connecting through it.
    package var socketFolder: String?
    package var user: String
    package var database: String
    package var tls: TLSMode
    package var rootCertificates: String?
    package var password: String?

    /// Whether `text` names a PostgreSQL database rather than a file.
    package static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Reads a URL; the password comes from `passwordFile`, else from `environment`.
    ///
    /// - Throws: ``PostgresStoreError`` (`invalidLocation`) naming what is wrong, never echoing a password.
    package init(
        url text: String, passwordFile: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(PostgresStoreError) {
        guard Self.isURL(text), let url = URLComponents(string: text) else {
            throw PostgresStoreError(.invalidLocation, "a database URL reads postgres://USER@HOST:PORT/DATABASE")
        }
        guard url.password == nil else {
            throw PostgresStoreError(
                .invalidLocation,
                "the database URL carries a password; give it in a file (--password-file or database.passwordFile) "
                    + "or in VIGIL_DATABASE_PASSWORD instead")
        }
        guard let user = url.user, !user.isEmpty else {
            throw PostgresStoreError(.invalidLocation, "the database URL names no user (postgres://USER@HOST/DATABASE)")
        }
        let database = String(url.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresStoreError(
                .invalidLocation, "the database URL names no database (postgres://USER@HOST/DATABASE)")
        }
        var parameters: [String: String] = [:]
        for item in url.queryItems ?? [] {
            guard let value = item.value, ["sslmode", "sslrootcert", "host"].contains(item.name) else {
                throw PostgresStoreError(
                    .invalidLocation,
                    "the database URL's parameter \(item.name) is not one of sslmode, sslrootcert, host")
            }
            parameters[item.name] = value
        }
        self.user = user
        self.database = database
        self.port = url.port ?? 5432
        self.host = url.host ?? ""
        if let folder = parameters["host"] {
            guard folder.hasPrefix("/") else {
                throw PostgresStoreError(.invalidLocation, "the host parameter names the folder of the server's socket")
            }
            socketFolder = folder
        } else if host.isEmpty {
            throw PostgresStoreError(.invalidLocation, "the database URL names no host")
        }
        if let mode = parameters["sslmode"] {
            guard let tls = TLSMode(rawValue: mode) else {
                let modes = TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
                throw PostgresStoreError(.invalidLocation, "sslmode \(mode) is not one of \(modes)")
            }
            self.tls = tls
        } else {
            let local = socketFolder != nil || ["localhost", "127.0.0.1", "::1", "[::1]"].contains(host)
            tls = local ? .disable : .verifyFull
        }
        rootCertificates = parameters["sslrootcert"]
        if let passwordFile {
            do {
                let text = try String(contentsOfFile: passwordFile, encoding: .utf8)
                password = text.trimmingCharacters(in: .newlines)
            } catch {
                throw PostgresStoreError(.invalidLocation, "cannot read the database password file \(passwordFile)")
            }
        } else {
            password = environment["VIGIL_DATABASE_PASSWORD"] ?? environment["PGPASSWORD"]
        }
    }

    /// The URL without any password: what logs and messages show.
    package var description: String {
        var text = "postgres://\(user)@\(host.isEmpty ? "" : host)\(socketFolder == nil ? ":\(port)" : "")/\(database)"
        var parameters: [String] = []
        if let socketFolder { parameters.append("host=\(socketFolder)") }
        parameters.append("sslmode=\(tls.rawValue)")
        text += "?" + parameters.joined(separator: "&")
        return text
    }

    /// The same server and credentials, another database (the tests' and the copy's own databases).
    package func database(_ name: String) -> PostgresLocation {
        var copy = self
        copy.database = name
        return copy
    }

    /// The connection's configuration for postgres-nio.
    package func connectionConfiguration() throws(PostgresStoreError) -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if let socketFolder {
            configuration = PostgresConnection.Configuration(
                unixSocketPath: socketFolder + "/.s.PGSQL.\(port)", username: user, password: password,
                database: database)
        } else {
            configuration = PostgresConnection.Configuration(
                host: host, port: port, username: user, password: password, database: database,
                tls: try connectionTLS())
        }
        configuration.options.connectTimeout = .seconds(Self.connectTimeout)
        configuration.options.additionalStartupParameters = Self.sessionSettings
        return configuration
    }

    /// How long connecting may take, in seconds, before the server is reported unreachable.
    static let connectTimeout: Int64 = 10

    /// What every session sets at its start: `synchronous_commit` on, whatever the server's default, so a commit
    /// that returned is on the server's disk (and a synchronous standby's).
    static let sessionSettings = [("synchronous_commit", "on")]

    /// The pool's configuration for postgres-nio: the same server, credentials, TLS, timeout and session settings as a
    /// single connection.
    package func clientConfiguration() throws(PostgresStoreError) -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let socketFolder {
            configuration = PostgresClient.Configuration(
                unixSocketPath: socketFolder + "/.s.PGSQL.\(port)", username: user, password: password,
                database: database)
        } else {
            configuration = PostgresClient.Configuration(
                host: host, port: port, username: user, password: password, database: database,
                tls: try tlsSettings().map { .require($0) } ?? .disable)
        }
        configuration.options.connectTimeout = .seconds(Self.connectTimeout)
        configuration.options.additionalStartupParameters = Self.sessionSettings
        return configuration
    }

    /// The TLS settings the URL asks for (nil: no TLS).
    private func tlsSettings() throws(PostgresStoreError) -> TLSConfiguration? {
        var settings = TLSConfiguration.makeClientConfiguration()
        switch tls {
        case .disable:
            return nil
        case .require:
            settings.certificateVerification = .none
        case .verifyFull:
            settings.certificateVerification = .fullVerification
            if let rootCertificates {
                settings.trustRoots = .file(rootCertificates)
            }
        }
        return settings
    }

    private func connectionTLS() throws(PostgresStoreError) -> PostgresConnection.Configuration.TLS {
        guard let settings = try tlsSettings() else { return .disable }
        do {
            return .require(try NIOSSLContext(configuration: settings))
        } catch {
            throw PostgresStoreError(.invalidLocation, "cannot set up TLS to the database (sslrootcert: \(error))")
        }
    }
}
