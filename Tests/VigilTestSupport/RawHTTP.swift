import Foundation
import Synchronization

/// Plain sockets for tests that need what TestHTTPClient does not give: reading a response as it streams,
/// and a tiny server that records what it is sent.
package enum RawHTTP {
    static func connect(port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw CocoaError(.fileReadUnknown)
        }
        return descriptor
    }

    /// Sends a GET and collects what arrives until `until` holds for the text so far or the time is up.
    /// Sends a GET and reads the answer until `until` holds for what arrived, the server closes, or `timeout`
    /// seconds pass. `answered` is called once, when the first bytes arrive (for a stream: once it is set up).
    package static func stream(
        port: Int, path: String, headers: [String: String], timeout: Double,
        answered: @escaping @Sendable () -> Void = {}, until: @escaping @Sendable (String) -> Bool
    ) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result {
                        let descriptor = try connect(port: port)
                        defer { close(descriptor) }
                        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        for (name, value) in headers { request += "\(name): \(value)\r\n" }
                        request += "\r\n"
                        _ = request.withCString { send(descriptor, $0, strlen($0), 0) }
                        var timeoutValue = timeval(tv_sec: 0, tv_usec: 100_000)
                        setsockopt(
                            descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeoutValue, socklen_t(MemoryLayout<timeval>.size))
                        var text = ""
                        let deadline = Date().addingTimeInterval(timeout)
                        var buffer = [UInt8](repeating: 0, count: 4096)
                        while Date() < deadline, !until(text) {
                            let count = recv(descriptor, &buffer, buffer.count, 0)
                            if count > 0 {
                                if text.isEmpty { answered() }
                                text += String(decoding: buffer[0..<count], as: UTF8.self)
                            } else if count == 0 {
                                break
                            }
                        }
                        return text
                    }
                )
            }
        }
    }
}

/// A one-thread HTTP server that answers each request as `answer` says (by default the next status in
/// `statuses`, the last one repeating) and records what it received.
package final class RecordingServer: Sendable {
    /// A request received and the status it was answered with.
    package struct Request: Sendable {
        package var status: Int
        /// The request line and headers, as sent.
        package var head: String
        package var body: String

        /// A header's value (the name in any case), if the request had it.
        package func header(_ name: String) -> String? {
            head.split(separator: "\r\n").dropFirst().lazy.compactMap { line -> String? in
                guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == name.lowercased() else {
                    return nil
                }
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }.first
        }
    }

    package let port: Int
    private let descriptor: Int32
    private let received = Mutex<[Request]>([])
    private let stopped = Atomic<Bool>(false)

    private init(port: Int) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(descriptor, pointer, length) == 0, listen(descriptor, 16) == 0 else { return -1 }
                return getsockname(descriptor, pointer, &length)
            }
        }
        guard bound == 0 else {
            close(descriptor)
            throw CocoaError(.fileWriteUnknown)
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Creates the server and starts answering with `statuses` in turn (the last one repeats).
    package static func start(port: Int = 0, statuses: [Int]) throws -> RecordingServer {
        try start(port: port) { index, _ in statuses[min(index, statuses.count - 1)] }
    }

    /// Creates the server on `port` (0: any free port) and starts answering each request with the status
    /// `answer` gives for it: its index among the requests received, and the request itself.
    package static func start(
        port: Int = 0, answer: @escaping @Sendable (_ index: Int, _ request: Request) -> Int
    ) throws -> RecordingServer {
        let server = try RecordingServer(port: port)
        Thread.detachNewThread { server.serve(answer) }
        return server
    }

    package var requests: [Request] { received.withLock { $0 } }

    package func stop() {
        stopped.store(true, ordering: .relaxed)
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
    }

    private func serve(_ answer: @Sendable (Int, Request) -> Int) {
        while !stopped.load(ordering: .relaxed) {
            let connection = accept(descriptor, nil, nil)
            guard connection >= 0 else { continue }
            var data = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 65536)
            // Read the head, then as much body as Content-Length says.
            while true {
                let count = recv(connection, &buffer, buffer.count, 0)
                if count <= 0 { break }
                data += buffer[0..<count]
                let text = String(decoding: data, as: UTF8.self)
                if let headEnd = text.range(of: "\r\n\r\n") {
                    let head = text[..<headEnd.lowerBound].lowercased()
                    let length =
                        head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                        .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
                        ?? 0
                    if text.utf8.distance(from: headEnd.upperBound.samePosition(in: text.utf8)!, to: text.utf8.endIndex)
                        >= length
                    {
                        break
                    }
                }
            }
            let text = String(decoding: data, as: UTF8.self)
            let split = text.range(of: "\r\n\r\n")
            var request = Request(
                status: 0, head: split.map { String(text[..<$0.lowerBound]) } ?? text,
                body: split.map { String(text[$0.upperBound...]) } ?? "")
            let status = received.withLock { list -> Int in
                request.status = answer(list.count, request)
                list.append(request)
                return request.status
            }
            let response = "HTTP/1.1 \(status) X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            _ = response.withCString { send(connection, $0, strlen($0), 0) }
            close(connection)
        }
    }
}
