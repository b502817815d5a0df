import Foundation
import Synchronization

/// The service manager's end of sd_notify, for measuring when vigild reports READY=1: a Unix datagram socket
/// that records each message with the time it arrived.
final class NotifySocket: Sendable {
    let path: String
    private let descriptor: Int32
    private let received = Mutex<[(time: ContinuousClock.Instant, message: String)]>([])
    private let stopped = Atomic<Bool>(false)

    init(folder: String) throws {
        path = folder + "/notify.sock"
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw BenchError("socket() failed") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw BenchError("path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw BenchError("bind(\(path)) failed") }
        var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        Thread { [self] in receive() }.start()
    }

    private func receive() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !stopped.load(ordering: .relaxed) {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 {
                let message = String(decoding: buffer[0..<count], as: UTF8.self)
                received.withLock { $0.append((ContinuousClock.now, message)) }
            }
        }
        close(descriptor)
        unlink(path)
    }

    func stop() { stopped.store(true, ordering: .relaxed) }

    /// When the first message containing `text` arrived, waiting up to `timeout` seconds.
    func wait(for text: String, timeout: Double) async throws -> ContinuousClock.Instant? {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while ContinuousClock.now < deadline {
            if let found = received.withLock({ $0.first { $0.message.contains(text) } }) { return found.time }
            try await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }
}
