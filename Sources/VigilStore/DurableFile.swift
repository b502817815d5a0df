import Crypto
import Foundation
package import VigilModel

/// Files written so that they survive a crash: created exclusively with their final mode, written in full,
/// fsynced, and their folder fsynced once the name is in place. Used for the daemon's key and for backups.
package enum DurableFile {
    /// The size and SHA-256 of a file's contents.
    package struct Digest: Sendable, Equatable {
        package var size: Int64
        package var sha256: [UInt8]

        package init(size: Int64, sha256: [UInt8]) {
            self.size = size
            self.sha256 = sha256
        }
    }

    /// Creates `path`, readable by its owner only (0600), writes `bytes`, then fsyncs the file. Fails if the file
    /// exists: nothing written here ever replaces a file in place.
    package static func create(_ path: String, contents bytes: [UInt8]) throws(StoreError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure("cannot create \(path)") }
        defer { close(descriptor) }
        try writeAll(bytes[...], to: descriptor, path: path)
        guard fsync(descriptor) == 0 else { throw failure("cannot sync \(path)") }
    }

    /// Copies `source` to a new file `destination` (mode 0600), fsyncs it, and returns the digest of what was
    /// written (read from `source` in the same pass).
    package static func copy(_ source: String, to destination: String) throws(StoreError) -> Digest {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw failure("cannot read \(source)") }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw failure("cannot create \(destination)") }
        defer { close(output) }
        let digest = try readAll(input, path: source) { chunk throws(StoreError) in
            try writeAll(chunk, to: output, path: destination)
        }
        guard fsync(output) == 0 else { throw failure("cannot sync \(destination)") }
        return digest
    }

    /// The size and SHA-256 of the file at `path`, read in chunks.
    package static func digest(of path: String) throws(StoreError) -> Digest {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("cannot read \(path)") }
        defer { close(descriptor) }
        return try readAll(descriptor, path: path) { _ throws(StoreError) in }
    }

    /// Fsyncs a file or folder written by someone else (SQLite, a rename), so that it is on disk.
    package static func sync(_ path: String) throws(StoreError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("cannot open \(path) to sync it") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure("cannot sync \(path)") }
    }

    /// Fsyncs the folder that holds `path`, so that a file created or renamed there keeps its name after a crash.
    package static func syncFolder(of path: String) throws(StoreError) {
        try sync(folder(of: path))
    }

    /// The folder that holds `path` ("." for a bare name).
    package static func folder(of path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }

    /// When running as root, gives `path` the owner and group of its folder, so that a file root creates in
    /// vigild's folder (a restored store, the lock file) stays usable by the user vigild runs as. Otherwise the
    /// file is the caller's already, and nothing changes.
    package static func adoptFolderOwner(_ path: String) throws(StoreError) {
        guard geteuid() == 0 else { return }
        var folderStatus = stat()
        guard stat(folder(of: path), &folderStatus) == 0 else {
            throw failure("cannot read the owner of \(path)'s folder")
        }
        guard chown(path, folderStatus.st_uid, folderStatus.st_gid) == 0 else {
            throw failure("cannot give \(path) the owner of its folder")
        }
    }

    private static func writeAll(_ bytes: ArraySlice<UInt8>, to descriptor: Int32, path: String) throws(StoreError) {
        var written = bytes.startIndex
        while written < bytes.endIndex {
            let result = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if result < 0, errno == EINTR { continue }
            guard result > 0 else { throw failure("cannot write \(path)") }
            written += result
        }
    }

    /// Reads a descriptor to its end, hashing each chunk and handing it to `body`.
    private static func readAll(
        _ descriptor: Int32, path: String, _ body: (ArraySlice<UInt8>) throws(StoreError) -> Void
    ) throws(StoreError) -> Digest {
        var hasher = SHA256()
        var size: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw failure("cannot read \(path)") }
            if count == 0 { break }
            hasher.update(data: buffer[..<count])
            try body(buffer[..<count])
            size += Int64(count)
        }
        return Digest(size: size, sha256: Array(hasher.finalize()))
    }

    /// An I/O error naming what failed and why (errno's text).
    private static func failure(_ what: String) -> StoreError {
        StoreError(.io, "\(what): \(String(cString: strerror(errno)))")
    }
}

extension Timestamp {
    /// The instant in UTC to the second, in ISO 8601's basic form (`20261121T101500Z`): a name for folders and
    /// set-aside files that sorts by time and needs no quoting in a shell.
    package var compactUTC: String {
        let text = rfc3339
        let seconds = text.prefix { $0 != "." && $0 != "Z" }
        return seconds.filter { $0 != "-" && $0 != ":" } + "Z"
    }
}
