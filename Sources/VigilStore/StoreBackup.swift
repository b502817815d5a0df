import Foundation
import GRDB

/// A consistent copy of a store, taken while the daemon runs, and verified.
///
/// SQLite's online backup API copies the pages inside one read transaction, so the copy is the log as it
/// stood at one moment even while appends go on. The copy is then verified like any store (`vigilctl verify`):
/// every hash, every signature, every signed head.
package enum StoreBackup {
    package static func run(from source: String, to destination: String) throws(StoreError) -> VerificationReport {
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw StoreError(.io, "\(destination) exists; a backup never overwrites a file")
        }
        let reader = try LogReader.openReadOnly(source, label: "vigil.backup.source")
        defer { try? reader.close() }
        do {
            guard
                FileManager.default.createFile(
                    atPath: destination, contents: nil, attributes: [.posixPermissions: 0o600])
            else {
                throw StoreError(.io, "cannot create \(destination)")
            }
            let copy = try DatabaseQueue(path: destination)
            try reader.backup(to: copy)
            // A self-contained single file: fold the copy's WAL back in.
            try copy.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
            }
            try copy.close()
        } catch {
            try? FileManager.default.removeItem(atPath: destination)
            throw StoreError(error, while: "cannot back up \(source)")
        }
        return try LogVerifier.verify(path: destination)
    }
}
