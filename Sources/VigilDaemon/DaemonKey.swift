import Foundation
package import VigilModel
import VigilStore

/// The daemon's own Ed25519 key, which signs log heads, checkpoints and alerts.
///
/// The key belongs to its store: every head and alert in the store is signed with it, and the store records
/// which daemon key is in force (its trust-anchor history). So vigild never quietly replaces it. It creates a
/// key only for a store that has none recorded (a new store), and refuses to start when the key file is
/// missing, or holds another key, for a store whose recorded daemon key it is not, unless told to rotate
/// (`vigild --new-daemon-key`): the new key then enters the store's trust-anchor history, in force from the
/// current log size, and the old one leaves it, so `vigilctl verify` checks each signature against the key
/// of its time.
package enum DaemonKey {
    package enum Outcome: Sendable, Equatable {
        /// The key that the store records (or a store without one yet).
        case loaded
        /// A new key for a new store.
        case created
        /// A key other than the store's recorded one, taken on purpose (`--new-daemon-key`).
        case rotated(from: [KeyID])
    }

    /// Reads the key at `path`, or creates it (mode 0600, in a 0700 folder) for a store that records none.
    ///
    /// - Parameter rotate: take the key at `path` (or a new one, when the file is missing) even though the store
    ///   records another.
    /// - Throws: ``Daemon/StartRefusal`` when the store records a daemon key other than the one at `path` (or the file is
    ///   missing) and `rotate` is false.
    package static func load(
        at path: String, forStore storePath: String, rotate: Bool
    ) throws -> (key: SigningKey, outcome: Outcome) {
        try load(at: path, recorded: try recordedKeys(storePath), store: storePath, rotate: rotate)
    }

    /// As ``load(at:forStore:rotate:)``, with the daemon keys the store records (``daemonKeys(in:)``) and the
    /// store's name for the messages.
    package static func load(
        at path: String, recorded: Set<KeyID>, store storePath: String, rotate: Bool
    ) throws -> (key: SigningKey, outcome: Outcome) {
        let existing = try FileManager.default.fileExists(atPath: path) ? read(path) : nil
        if let existing, recorded.isEmpty || recorded.contains(existing.id) {
            return (existing, .loaded)
        }
        if !recorded.isEmpty && !rotate {
            let held = recorded.map(\.hex).sorted().joined(separator: ", ")
            let problem: String
            if let existing {
                problem =
                    "the daemon key \(path) (\(existing.id.hex)) is not the key the store \(storePath) is signed with"
            } else {
                problem = "the daemon key \(path) is missing, but the store \(storePath) is signed with a daemon key"
            }
            let remedy =
                "Put back the store's own key (\(held); vigilctl restore puts it back from a backup), or start "
                + "once with --new-daemon-key to rotate to a new key and record the rotation in the store."
            throw Daemon.StartRefusal("\(problem). \(remedy)")
        }
        let key = try existing ?? create(at: path)
        if recorded.isEmpty { return (key, existing == nil ? .created : .loaded) }
        return (key, .rotated(from: recorded.sorted { $0.hex < $1.hex }))
    }

    /// The daemon keys in force at the end of the store's trust-anchor history (none for a new store).
    static func recordedKeys(_ storePath: String) throws -> Set<KeyID> {
        guard FileManager.default.fileExists(atPath: storePath) else { return [] }
        let reader = try LogReader(path: storePath)
        defer { reader.close() }
        return daemonKeys(in: try reader.anchorHistory())
    }

    /// The daemon keys in force at the end of a trust-anchor history.
    package static func daemonKeys(in history: [AnchorChange]) -> Set<KeyID> {
        var keys: Set<KeyID> = []
        for change in history where change.anchor.role == .daemon {
            switch change.kind {
            case .added: keys.insert(change.anchor.keyID)
            case .removed: keys.remove(change.anchor.keyID)
            }
        }
        return keys
    }

    private static func read(_ path: String) throws -> SigningKey {
        try KeyFile.signingKey(pem: String(contentsOfFile: path, encoding: .utf8))
    }

    private static func create(at path: String) throws -> SigningKey {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let key = SigningKey()
        try writeSecret(KeyFile.pem(privateKey: key), to: path)
        return key
    }

    /// Writes `text` to a new file readable by its owner only; fails if the file exists.
    package static func writeSecret(_ text: String, to path: String) throws {
        try DurableFile.create(path, contents: Array(text.utf8))
    }
}
