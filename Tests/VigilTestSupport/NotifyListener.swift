package import Foundation
import Synchronization

/// The service manager's end of sd_notify: a Unix datagram socket that records every message with its time.
/// For the systemd tests, and for vigil-bench's measure of how long vigild takes to report READY=1.
package final class NotifyListener: Sendable {
    package let path: String
    private let descriptor: Int32
    private let received = Mutex<[(time: Date, message: String)]>([])
    private let stopped = Atomic<Bool>(false)

    package init(folder: String) throws {
        path = folder + "/notify.sock"
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw UnexpectedAnswer("socket() failed") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw UnexpectedAnswer("socket path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw UnexpectedAnswer("bind(\(path)) failed") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let thread = Thread { [self] in receiveLoop() }
        thread.start()
    }

    private func receiveLoop() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !stopped.load(ordering: .relaxed) {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 {
                let message = String(decoding: buffer[0..<count], as: UTF8.self)
                received.withLock { $0.append((Date(), message)) }
            }
        }
        close(descriptor)
    }

    package func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    package var messages: [(time: Date, message: String)] { received.withLock { $0 } }

    /// The first message containing `text`, waiting up to `timeout`.
    package func wait(
        for text: String, after: Date = .distantPast, timeout: Double = 15
    ) async throws -> (time: Date, message: String)? {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while ContinuousClock.now < deadline {
            if let found = messages.first(where: { $0.time >= after && $0.message.contains(text) }) { return found }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    package func count(of text: String, between start: Date, and end: Date) -> Int {
        messages.filter { $0.time >= start && $0.time < end && $0.message.contains(text) }.count
    }
}
