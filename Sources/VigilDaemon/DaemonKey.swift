import Foundation
public import VigilModel

/// The daemon's own Ed25519 key, which signs log heads and alerts.
public enum DaemonKey {
    /// Reads the key at `path`, creating it (mode 0600, in a 0700 folder) if the file does not exist.
    public static func loadOrCreate(at path: String) throws -> (key: SigningKey, created: Bool) {
        let manager = FileManager.default
        if manager.fileExists(atPath: path) {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            return (try KeyFile.signingKey(pem: text), false)
        }
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try manager.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let key = SigningKey()
        try writeSecret(KeyFile.pem(privateKey: key), to: path)
        return (key, true)
    }

    /// Writes `text` to a new file readable by its owner only; fails if the file exists.
    public static func writeSecret(_ text: String, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CocoaError(
                .fileWriteUnknown,
                userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: String(cString: strerror(errno))])
        }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard result > 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            written += result
        }
        guard fsync(descriptor) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    }
}
