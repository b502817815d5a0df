import Foundation
import Synchronization

/// The claim of one process to write a store: an exclusive `flock` on `<store>.lock`, taken without waiting.
///
/// vigild holds it from start until its store is closed, so a second vigild on the same store refuses to start
/// (two writers would each extend the chain from the head they saw), and `vigilctl restore` holds it while it
/// puts a store in place, so it never replaces the file under a running daemon and no daemon starts halfway
/// through. The kernel drops the lock when the holder exits however it ends, so a crash leaves no stale claim;
/// the file itself stays (it only ever holds the process id of the last holder, for the message below).
package final class StoreLock: Sendable {
    /// Another process holds the lock.
    package struct Held: Error, Sendable, CustomStringConvertible {
        package var storePath: String
        package var lockPath: String
        /// The holder's process id, as it wrote it in the file (nil when unreadable).
        package var holder: Int32?

        package var description: String {
            let process = holder.map { "process \($0)" } ?? "another process"
            return
                "\(process) holds \(lockPath): a vigild is running on \(storePath) (or a restore is writing it); "
                + "one store has one writer"
        }
    }

    package let path: String
    private let descriptor: Mutex<Int32?>

    /// The lock file that goes with a store file: `vigil.sqlite` → `vigil.sqlite.lock`.
    package static func path(forStore storePath: String) -> String { storePath + ".lock" }

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = Mutex(descriptor)
    }

    /// Takes the lock of the store at `storePath`, creating the lock file (mode 0600) if needed.
    ///
    /// - Throws: ``Held`` when another process holds it; `StoreError` when the file cannot be opened.
    package static func acquire(forStore storePath: String) throws -> StoreLock {
        let lockPath = path(forStore: storePath)
        let existed = FileManager.default.fileExists(atPath: lockPath)
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(.io, "cannot open the lock file \(lockPath): \(String(cString: strerror(errno)))")
        }
        if !existed {
            do {
                try DurableFile.adoptFolderOwner(lockPath)
            } catch {
                close(descriptor)
                throw error
            }
        }
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let reason = errno
            let holder = FileManager.default.contents(atPath: lockPath).flatMap {
                Int32(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            }
            close(descriptor)
            guard reason == EWOULDBLOCK else {
                throw StoreError(.io, "cannot lock \(lockPath): \(String(cString: strerror(reason)))")
            }
            throw Held(storePath: storePath, lockPath: lockPath, holder: holder)
        }
        // Informational only: the lock is the flock, not this text.
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return StoreLock(path: lockPath, descriptor: descriptor)
    }

    /// Gives the lock up (closing the file drops the flock). Idempotent; also done when the lock is released
    /// from memory.
    package func release() {
        descriptor.withLock { descriptor in
            if let open = descriptor { close(open) }
            descriptor = nil
        }
    }

    deinit { release() }
}
