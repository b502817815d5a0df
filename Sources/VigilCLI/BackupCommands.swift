import ArgumentParser
import Foundation
import VigilConfig
import VigilModel
import VigilProjections
import VigilStore

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Back up the store (online, verified), the daemon's key and the configuration into a folder.",
        discussion: """
            With --config, the configuration is read as vigild reads it (the file, then VIGIL_* variables over \
            it), and a folder is written: --to DIR (which must not exist, or be empty; its parent must exist), or \
            a new folder under --to-parent DIR named by the time in UTC, such as 20261121T020000Z. The folder \
            (mode 0700) holds vigil.sqlite, a copy of the store taken with SQLite's online backup (safe while \
            vigild runs) and verified like vigilctl verify; daemon.key; vigil.yaml, the configuration file as is; \
            and manifest.json, written last: each file's size and SHA-256, the copy's log size and chain hash, \
            the daemon key's id, where each file came from, and the time. Every file is mode 0600 and fsynced. \
            A folder without manifest.json is an incomplete backup, and vigilctl restore refuses it. The read \
            models are not backed up: they are derived from the log, and vigild rebuilds them after a restore. \
            Settings given only as VIGIL_* variables are not in vigil.yaml.

            With --database and --out instead, only the store is copied and verified, into one file: a copy to \
            verify, inspect or export from, not a backup that vigilctl restore takes.

            Exits 0 when the copy verifies, 1 when it does not (the copy is kept for inspection, and no manifest \
            is written), 2 on an error.
            """
    )

    @Option(help: "The daemon's configuration file: back up the store, key and file it names.")
    var config: String?

    @Option(help: "The backup folder to write (must not exist, or be empty).")
    var to: String?

    @Option(name: .customLong("to-parent"), help: "Write the backup into a new folder here, named by the time in UTC.")
    var toParent: String?

    @Option(help: "The SQLite store file, to copy alone into --out.")
    var database: String?

    @Option(help: "Where to write the store's copy (mode 0600). An existing file is never overwritten.")
    var out: String?

    func validate() throws {
        if config != nil {
            guard (to != nil) != (toParent != nil), database == nil, out == nil else {
                throw ValidationError("with --config, give --to or --to-parent (and no --database or --out)")
            }
        } else {
            guard database != nil, out != nil, to == nil, toParent == nil else {
                throw ValidationError("give --config and --to (or --to-parent), or --database and --out")
            }
        }
    }

    func run() async throws {
        try await reportingFailures {
            if let config {
                try await backUpFolder(config: config)
            } else if let database, let out {
                try copyStore(database, to: out)
            }
        }
    }

    private func backUpFolder(config: String) async throws {
        let configuration = try await Self.load(config)
        let now = SystemWallClock().now()
        let folder = to ?? (toParent ?? "") + "/" + now.compactUTC
        let sources = BackupFolder.Sources(
            database: Self.absolute(configuration.databasePath), daemonKey: Self.absolute(configuration.daemonKeyPath),
            configuration: Self.absolute(config))
        let manifest: BackupManifest
        do throws(BackupError) {
            manifest = try BackupFolder.write(sources, to: folder, at: now)
        } catch {
            throw CLIFailure(error.message, status: error.kind == .unusable ? 1 : 2)
        }
        print(
            "backup written to \(folder): \(manifest.logSize) entries, chainHash \(Hex.encode(manifest.chainHash)); "
                + "verified; daemon key \(manifest.daemonKeyID); \(BackupFolder.manifestFile) written last")
    }

    private func copyStore(_ database: String, to out: String) throws {
        let report: VerificationReport
        do {
            report = try StoreBackup.run(from: database, to: out)
        } catch {
            throw CLIFailure("\(error)", status: 2)
        }
        if let failure = report.failure {
            print(
                "copy written to \(out), but it FAILED verification at position \(failure.position): \(failure.reason)"
            )
            throw ExitCode(1)
        }
        print(
            "copy written to \(out): \(report.entriesChecked) entries, chainHash \(Hex.encode(report.head.chainHash)); verified"
        )
    }

    /// The configuration as vigild reads it: the file, then VIGIL_* variables over it.
    static func load(_ file: String) async throws -> VigilConfiguration {
        do {
            return try await ConfigurationLoader.load(file: file, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw CLIFailure("configuration error: \(error)")
        }
    }

    /// A path as an absolute one, relative paths taken from the working directory (as vigild takes them).
    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a backup folder's store and daemon key to where the configuration puts them.",
        discussion: """
            The configuration is read as vigild reads it (--config, then VIGIL_* variables over it): the store goes \
            to database.path and the key to daemon.keyPath, which must be absolute. The configuration file itself \
            is not written: the backup's vigil.yaml is there to compare with, or to install by hand (it may also \
            be given as --config). Before anything is touched, every file's size and SHA-256 is checked against \
            manifest.json and the store copy is verified like vigilctl verify; a backup without a manifest is \
            incomplete and refused. A store that a running vigild holds is refused (its lock, <store>.lock, is \
            taken for the whole restore, so vigild cannot start meanwhile either): stop vigild first. An existing \
            store, or a daemon key other than the backup's, is refused unless --replace, which renames them (the \
            store's -wal and -shm included) to <name>.replaced-<time>; nothing is deleted. The read models are \
            always set aside the same way, so vigild rebuilds them from the restored log when it starts. The store \
            and key are written mode 0600, fsynced, and (when run as root) given the owner of their folder.

            Exits 0 when restored, 1 when the backup does not check out (nothing is written), 2 when the restore \
            is refused or fails.
            """
    )

    @Option(help: "The backup folder (written by vigilctl backup --config).")
    var from: String

    @Option(help: "The daemon's configuration file: where the store and key go.")
    var config: String

    @Flag(help: "Set an existing store and daemon key aside (renamed, never deleted) and restore in their place.")
    var replace = false

    func run() async throws {
        try await reportingFailures {
            let configuration = try await Backup.load(config)
            let projections =
                configuration.projectionsPath.isEmpty
                ? ProjectionDatabase.defaultPath(forStore: configuration.databasePath) : configuration.projectionsPath
            let targets = StoreRestore.Targets(
                database: configuration.databasePath, daemonKey: configuration.daemonKeyPath,
                derived: ["", "-wal", "-shm"].map { projections + $0 })
            let outcome: StoreRestore.Outcome
            do throws(BackupError) {
                outcome = try StoreRestore.run(from: from, to: targets, replace: replace, at: SystemWallClock().now())
            } catch {
                throw CLIFailure(error.message, status: error.kind == .unusable ? 1 : 2)
            }
            for (old, new) in outcome.setAside { print("set aside \(old) as \(new)") }
            let manifest = outcome.manifest
            print(
                "restored \(from) (taken \(manifest.createdAt.rfc3339)): \(manifest.logSize) entries, chainHash "
                    + "\(Hex.encode(manifest.chainHash)), to \(targets.database); daemon key \(manifest.daemonKeyID) "
                    + (outcome.wroteKey ? "to \(targets.daemonKey)" : "already in place at \(targets.daemonKey)"))
            print("vigild rebuilds the read models from the log when it starts")
        }
    }
}
