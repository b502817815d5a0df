import Foundation
package import VigilModel

/// Puts a backup folder's store and daemon key back where a configuration says they live.
///
/// In order, and stopping at the first refusal:
/// 1. the backup is checked in full (``BackupFolder/check(_:)``) before anything is touched;
/// 2. the store's lock is taken (``StoreLock``): a store a running vigild holds is never replaced, and no
///    vigild can start while the restore runs;
/// 3. an existing store (its `-wal` and `-shm` included) or a different daemon key is refused unless
///    `replace`; with it, they are set aside as `<name>.replaced-<time>`, never deleted;
/// 4. the store and key are copied beside their targets under a temporary name (mode 0600), fsynced, checked
///    against the manifest's sums again, and renamed into place, key first, then the store; the folders are
///    fsynced.
///
/// The read models (`derived`) are always set aside the same way, so vigild rebuilds them from the restored
/// log: views left from another log, or from a later point of this one, must never be served as its views.
/// An interrupted restore leaves `<name>.restoring` files and possibly some set-aside files; running it again
/// (with `replace` if a store was already put in place) finishes it.
package enum StoreRestore {
    /// Where the restored files go, as absolute paths.
    package struct Targets: Sendable {
        package var database: String
        package var daemonKey: String
        /// Files derived from the log (the read models and their `-wal` and `-shm`), set aside if present.
        package var derived: [String]

        package init(database: String, daemonKey: String, derived: [String]) {
            self.database = database
            self.daemonKey = daemonKey
            self.derived = derived
        }
    }

    /// What a restore did.
    package struct Outcome: Sendable {
        package var manifest: BackupManifest
        /// Each file set aside, and its new name.
        package var setAside: [(from: String, to: String)]
        /// False when the daemon key in place was already the backup's (byte for byte) and was left alone.
        package var wroteKey: Bool
    }

    package static func run(
        from folder: String, to targets: Targets, replace: Bool, at now: Timestamp
    )
        throws(BackupError) -> Outcome
    {
        let manifest = try BackupFolder.check(folder)
        for path in [targets.database, targets.daemonKey] + targets.derived where !path.hasPrefix("/") {
            throw BackupError(
                .refused,
                "\(path) is relative: it would name a file under the directory vigild runs in, which a restore "
                    + "cannot know; give absolute paths (the vigild unit sets them with VIGIL_DATABASE_PATH and "
                    + "VIGIL_DAEMON_KEYPATH)")
        }
        do {
            for path in [targets.database, targets.daemonKey] {
                try FileManager.default.createDirectory(
                    atPath: DurableFile.folder(of: path), withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
            }
        } catch {
            throw BackupError(.failed, "cannot create the folder for the store or the key: \(error)")
        }
        let lock: StoreLock
        do {
            lock = try StoreLock.acquire(forStore: targets.database)
        } catch let held as StoreLock.Held {
            throw BackupError(.refused, "\(held); stop it first (systemctl stop vigild)")
        } catch {
            throw BackupError(.failed, "\(error)")
        }
        defer { lock.release() }

        let manager = FileManager.default
        let storeFiles = ["", "-wal", "-shm"].map { targets.database + $0 }.filter { manager.fileExists(atPath: $0) }
        let keyDigest = manifest.file(named: BackupFolder.keyFile)?.digest
        let keyInPlace = manager.fileExists(atPath: targets.daemonKey)
        let keyIsTheBackups = keyInPlace && (try? DurableFile.digest(of: targets.daemonKey)) == keyDigest
        let existing = storeFiles + (keyInPlace && !keyIsTheBackups ? [targets.daemonKey] : [])
        guard existing.isEmpty || replace else {
            throw BackupError(
                .refused,
                "\(existing.joined(separator: ", ")) exist\(existing.count == 1 ? "s" : ""); a restore does not "
                    + "overwrite a store or a daemon key: with --replace it sets them aside as <name>.replaced-<time>")
        }

        do {
            let storeTemporary = targets.database + ".restoring"
            let keyTemporary = targets.daemonKey + ".restoring"
            try copyChecked(
                folder + "/" + BackupFolder.storeFile, to: storeTemporary,
                expected: manifest.file(named: BackupFolder.storeFile)?.digest)
            if !keyIsTheBackups {
                try copyChecked(folder + "/" + BackupFolder.keyFile, to: keyTemporary, expected: keyDigest)
            }
            let suffix = ".replaced-" + now.compactUTC
            var setAside: [(from: String, to: String)] = []
            for path in existing + targets.derived where manager.fileExists(atPath: path) {
                try move(path, to: path + suffix)
                setAside.append((path, path + suffix))
            }
            if !keyIsTheBackups { try move(keyTemporary, to: targets.daemonKey) }
            try move(storeTemporary, to: targets.database)
            for folder in Set(([targets.database, targets.daemonKey] + targets.derived).map(DurableFile.folder(of:))) {
                try DurableFile.sync(folder)
            }
            return Outcome(manifest: manifest, setAside: setAside, wroteKey: !keyIsTheBackups)
        } catch let error as BackupError {
            throw error
        } catch {
            throw BackupError(.failed, "\(error)")
        }
    }

    /// Copies `source` to `destination` (a stale copy from an interrupted restore is replaced), gives it the
    /// owner of its folder, and checks that what was written is what the manifest lists.
    private static func copyChecked(_ source: String, to destination: String, expected: DurableFile.Digest?) throws {
        if unlink(destination) != 0, errno != ENOENT {
            throw StoreError(.io, "cannot remove \(destination): \(String(cString: strerror(errno)))")
        }
        let written = try DurableFile.copy(source, to: destination)
        guard written == expected else {
            throw BackupError(.unusable, "\(source) changed while it was being restored; nothing was put in place")
        }
        try DurableFile.adoptFolderOwner(destination)
    }

    /// Renames `source` to `destination`, which must not exist (rename(2) would replace it without a word).
    private static func move(_ source: String, to destination: String) throws(StoreError) {
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw StoreError(.io, "cannot rename \(source) to \(destination): that name is taken")
        }
        guard rename(source, destination) == 0 else {
            throw StoreError(.io, "cannot rename \(source) to \(destination): \(String(cString: strerror(errno)))")
        }
    }
}
