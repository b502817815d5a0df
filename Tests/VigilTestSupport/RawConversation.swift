package import Foundation

/// One scripted conversation over a plain socket, for tests of what a misbehaving client meets: a huge
/// header, a body that trickles, a head that never ends. It runs on its own thread (it blocks), so the
/// test's cooperative threads stay free for the server.
package enum RawConversation {
    package enum Endpoint: Sendable {
        case tcp(port: Int)
        case unix(path: String)
    }

    package enum Step: Sendable {
        /// Sends these bytes (a closed connection is not an error: it shows in the transcript).
        case send(String)
        /// Reads whatever arrives for this many seconds.
        case listen(Double)
    }

    package struct Transcript: Sendable {
        /// Everything the server sent.
        package var received = ""
        /// Seconds from the start until the server closed the connection, if it did.
        package var closedAfter: Double?
        /// Seconds from the start until the first byte of an answer arrived, if one did.
        package var answeredAfter: Double?
        /// When the first byte of an answer arrived: to compare with what the test did meanwhile, whenever the
        /// conversation's own thread got to start.
        package var answeredAt: Date?
        /// The index of the step (in the steps given; the final listen comes after them) during which the first
        /// byte of an answer arrived: what the client had sent by then, whatever the machine's load made of the
        /// seconds.
        package var answeredDuringStep: Int?

        /// The status code of the first answer.
        package var status: Int? {
            guard received.hasPrefix("HTTP/1.1 ") else { return nil }
            return Int(received.dropFirst(9).prefix(3))
        }
    }

    /// Connects, plays `steps`, then reads until the server closes or `finalListen` seconds pass.
    package static func run(
        _ endpoint: Endpoint, steps: [Step], finalListen: Double = 5
    ) async throws -> Transcript {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try play(endpoint, steps: steps + [.listen(finalListen)]) })
            }
        }
    }

    /// Opens a connection and leaves it open (and idle) until `close` is called on the descriptor.
    package static func open(_ endpoint: Endpoint) throws -> Int32 {
        try connect(endpoint)
    }

    static func connect(_ endpoint: Endpoint) throws -> Int32 {
        switch endpoint {
        case .tcp(let port):
            return try RawHTTP.connect(port: port)
        case .unix(let path):
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let capacity = MemoryLayout.size(ofValue: address.sun_path)
            guard path.utf8.count < capacity else { throw POSIXError(.ENAMETOOLONG) }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyBytes(from: Array(path.utf8) + [0])
            }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard connected == 0 else {
                let code = errno
                close(descriptor)
                throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
            }
            return descriptor
        }
    }

    private static func play(_ endpoint: Endpoint, steps: [Step]) throws -> Transcript {
        let descriptor = try connect(endpoint)
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let start = Date()
        var transcript = Transcript()
        var buffer = [UInt8](repeating: 0, count: 65536)
        for (index, step) in steps.enumerated() {
            if transcript.closedAfter != nil { break }
            switch step {
            case .send(let text):
                _ = text.withCString { send(descriptor, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            case .listen(let seconds):
                let until = Date().addingTimeInterval(seconds)
                while Date() < until {
                    let count = recv(descriptor, &buffer, buffer.count, 0)
                    if count > 0 {
                        if transcript.answeredAfter == nil {
                            transcript.answeredAfter = -start.timeIntervalSinceNow
                            transcript.answeredAt = Date()
                            transcript.answeredDuringStep = index
                        }
                        transcript.received += String(decoding: buffer[0..<count], as: UTF8.self)
                    } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                        transcript.closedAfter = -start.timeIntervalSinceNow
                        break
                    }
                }
            }
        }
        return transcript
    }
}
