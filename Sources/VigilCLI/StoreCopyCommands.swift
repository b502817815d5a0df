import ArgumentParser
import Foundation
import Logging
import VigilModel
import VigilPostgres
import VigilStore

/// `vigilctl migrate-store`: moves a store between SQLite and PostgreSQL, every byte kept, and proves the copy.
struct MigrateStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-store",
        abstract: "Copy a store between a SQLite file and a PostgreSQL database, byte for byte, and prove the copy.",
        discussion: """
            --from FILE.sqlite --to postgres://USER@HOST:PORT/DATABASE copies a store file into an empty \
            PostgreSQL database: the file is verified first (as vigilctl verify does) and refused if it does not \
            hold; the schema is created (the role must own the database); every row of every table is written in \
            one transaction; then each table is read back and its digest compared with the source's.

            --from postgres://... --to FILE.sqlite is the way back: the rows are read in one snapshot, written \
            to a new file (mode 0600; an existing file is never overwritten), compared table by table, and the \
            file is verified as vigilctl verify does.

            Stop vigild before migrating its store. The password is never part of the URL: give it in a file \
            (--password-file) or in VIGIL_DATABASE_PASSWORD. TLS follows the URL's sslmode (disable, require, \
            verify-full; the default is verify-full, or disable for a server on the loopback interface or a Unix \
            socket), with sslrootcert=FILE for a private certificate authority. See docs/postgresql.md.

            Exits 0 when the copy is proven, 1 when the source does not verify or the copy differs, 2 on an error.
            """
    )

    @Option(help: "The store to copy: a SQLite file, or a postgres:// URL.")
    var from: String

    @Option(help: "Where to copy it: a postgres:// URL (an empty database), or a new SQLite file.")
    var to: String

    @Option(name: .customLong("password-file"), help: "A file holding the PostgreSQL role's password.")
    var passwordFile: String?

    func validate() throws {
        guard PostgresLocation.isURL(from) != PostgresLocation.isURL(to) else {
            throw ValidationError(
                "one of --from and --to is a postgres:// URL and the other a SQLite file (vigilctl backup copies a file)"
            )
        }
    }

    func run() async throws {
        try await reportingFailures { try await Self.copy(from: from, to: to, passwordFile: passwordFile) }
    }

    /// Copies one way or the other, as the locations say, and prints the proof.
    static func copy(from: String, to: String, passwordFile: String?) async throws {
        let logger = Logger(label: "vigilctl")
        let report: StoreCopy.Report
        do throws(PostgresStoreError) {
            if PostgresLocation.isURL(to) {
                let target = try PostgresLocation(url: to, passwordFile: passwordFile)
                report = try await StoreCopy.migrate(storeAt: from, to: target, logger: logger)
            } else {
                let source = try PostgresLocation(url: from, passwordFile: passwordFile)
                report = try await StoreCopy.export(from: source, toStoreAt: to, logger: logger)
            }
        } catch {
            throw CLIFailure(error.description, status: [.corrupt, .copyMismatch].contains(error.code) ? 1 : 2)
        }
        print(report, to: to)
    }

    static func print(_ report: StoreCopy.Report, to destination: String) {
        let head = report.verification.head
        Swift.print("copied to \(shown(destination)), proven table by table:")
        for (name, digest) in report.tables {
            Swift.print("  \(name.padding(toLength: 14, withPad: " ", startingAt: 0)) \(digest)")
        }
        Swift.print(
            "verified: \(report.verification.entriesChecked) entries, \(report.verification.signaturesChecked) "
                + "signatures, \(report.verification.signedHeadsChecked) signed heads, "
                + "\(report.verification.checkpointsChecked) checkpoints; size \(head.size), chain hash "
                + Hex.encode(head.chainHash))
    }

    /// How a destination is printed: a database as vigilctl read its URL (user, host, database, TLS mode), a file
    /// by its path. Only a copy that succeeded is printed, and a URL carrying a password never gets that far.
    static func shown(_ location: String) -> String {
        (try? PostgresLocation(url: location, environment: [:]).description) ?? location
    }
}

extension Export {
    /// `vigilctl export store`: the log of a PostgreSQL database as a store file an auditor verifies offline.
    struct Store: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Write the log held in PostgreSQL to a SQLite store file, proven and verified, for offline audit.",
            discussion: """
                Reads the database in one snapshot (vigild may keep running), writes a new file (mode 0600), \
                compares it with the database table by table and verifies it as vigilctl verify does. The file \
                is a store like any other: vigilctl verify, prove and export read it. For a SQLite store, \
                vigilctl backup --database FILE --out COPY does the same.

                Exits 0 when the file is proven and verifies, 1 when it does not, 2 on an error.
                """
        )

        @Option(help: "The database: a postgres:// URL.")
        var from: String

        @Option(help: "The store file to write (it must not exist).")
        var to: String

        @Option(name: .customLong("password-file"), help: "A file holding the PostgreSQL role's password.")
        var passwordFile: String?

        func validate() throws {
            guard PostgresLocation.isURL(from) else {
                throw ValidationError("--from is a postgres:// URL (vigilctl backup copies a SQLite store)")
            }
            guard !PostgresLocation.isURL(to) else { throw ValidationError("--to is a file") }
        }

        func run() async throws {
            try await reportingFailures { try await MigrateStore.copy(from: from, to: to, passwordFile: passwordFile) }
        }
    }
}

/// `vigilctl migrate-schema`: brings a PostgreSQL database's schema up to this release, as its owner.
struct MigrateSchema: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-schema",
        abstract: "Apply this release's migrations to the schema of a PostgreSQL database holding a Vigil log.",
        discussion: """
            Run it as the schema's owner after upgrading, when vigild connects as a role that may only read and \
            append (it refuses to start on a schema older than its release, and says so). Migrations are applied \
            in one transaction under the advisory lock vigild takes for them; no entry, hash or signature of the \
            log changes. A database migrated by a newer release is refused.

            Exits 0 when the schema is current (printing what was applied), 2 on an error.
            """
    )

    @Option(help: "The database: a postgres:// URL naming the schema's owner.")
    var database: String

    @Option(name: .customLong("password-file"), help: "A file holding the PostgreSQL role's password.")
    var passwordFile: String?

    func validate() throws {
        guard PostgresLocation.isURL(database) else { throw ValidationError("--database is a postgres:// URL") }
    }

    func run() async throws {
        try await reportingFailures {
            let logger = Logger(label: "vigilctl")
            let applied: [String]
            do {
                let location = try PostgresLocation(url: database, passwordFile: passwordFile)
                applied = try await PostgresAccess.withConnection(location, logger: logger) { connection in
                    try await PostgresSchema.requireLog(connection, logger: logger, current: false)
                    return try await PostgresSchema.migrate(connection, logger: logger)
                }
            } catch {
                throw CLIFailure(PostgresStoreError(error, while: "cannot migrate the schema").description, status: 2)
            }
            let current = PostgresSchema.currentVersion
            print(
                applied.isEmpty
                    ? "the schema of \(MigrateStore.shown(database)) is current (\(current))"
                    : "migrated \(MigrateStore.shown(database)) to \(current): applied \(applied.joined(separator: ", "))"
            )
        }
    }
}
