import Dispatch
import NIOCore
import NIOHTTP1
import NIOPosix

/// One keep-alive HTTP/1.1 connection that sends requests one after another and reads each answer.
///
/// Built directly on SwiftNIO so the client costs little next to the server it measures.
struct HTTPLoadConnection {
    typealias Channel = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    static func connect(host: String, port: Int) async throws -> Channel {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try Channel(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Sends POST `path` with each body in turn; calls `done` with the status and the latency in nanoseconds.
    ///
    /// - Parameter interval: when set, requests are sent on a fixed schedule (one per interval, starting after
    ///   `offset`), and latency is counted from each request's scheduled time, so a stall is not hidden by the
    ///   requests it delayed (no coordinated omission).
    static func post(
        host: String, port: Int, path: String, bodies: some Sequence<[UInt8]>,
        interval: Duration? = nil, offset: Duration = .zero,
        done: (_ status: Int, _ body: ByteBuffer, _ nanoseconds: UInt64) -> Void
    ) async throws {
        let channel = try await connect(host: host, port: port)
        let clock = ContinuousClock()
        var scheduled = clock.now + offset
        try await channel.executeThenClose { inbound, outbound in
            var responses = inbound.makeAsyncIterator()
            for body in bodies {
                var lateBy: UInt64 = 0
                if let interval {
                    try await clock.sleep(until: scheduled)
                    let late = clock.now - scheduled
                    lateBy = UInt64(
                        max(0, late.components.seconds * 1_000_000_000 + late.components.attoseconds / 1_000_000_000))
                    scheduled += interval
                }
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: host)
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Content-Length", value: String(body.count))
                let started = DispatchTime.now().uptimeNanoseconds
                try await outbound.write(
                    .head(HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: headers)))
                try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                try await outbound.write(.end(nil))
                var status = 0
                var answer = ByteBuffer()
                reading: while let part = try await responses.next() {
                    switch part {
                    case .head(let head): status = Int(head.status.code)
                    case .body(var buffer): answer.writeBuffer(&buffer)
                    case .end: break reading
                    }
                }
                done(status, answer, DispatchTime.now().uptimeNanoseconds - started + lateBy)
            }
        }
    }

    /// Signs in to the console with a reader token as its form does; returns the session's `Cookie` value.
    static func consoleCookie(host: String, port: Int, token: String) async throws -> String {
        let channel = try await connect(host: host, port: port)
        return try await channel.executeThenClose { inbound, outbound in
            let body = ByteBuffer(string: "token=\(token)")
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "\(host):\(port)")
            headers.add(name: "Origin", value: "http://\(host):\(port)")
            headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            try await outbound.write(
                .head(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/console/sign-in", headers: headers)))
            try await outbound.write(.body(.byteBuffer(body)))
            try await outbound.write(.end(nil))
            var cookie: String?
            for try await part in inbound {
                if case .head(let head) = part { cookie = head.headers["Set-Cookie"].first }
                if case .end = part { break }
            }
            guard let value = cookie?.split(separator: ";").first else { throw BenchError("console sign-in failed") }
            return String(value)
        }
    }

    /// Sends GET for each path in turn with a bearer token (or a console session's cookie); calls `done` with the
    /// status and the latency.
    static func get(
        host: String, port: Int, paths: some Sequence<String>, token: String, cookie: String? = nil,
        done: (_ status: Int, _ nanoseconds: UInt64) -> Void
    ) async throws {
        let channel = try await connect(host: host, port: port)
        try await channel.executeThenClose { inbound, outbound in
            var responses = inbound.makeAsyncIterator()
            for path in paths {
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: host)
                if let cookie {
                    headers.add(name: "Cookie", value: cookie)
                } else {
                    headers.add(name: "Authorization", value: "Bearer \(token)")
                }
                let started = DispatchTime.now().uptimeNanoseconds
                try await outbound.write(
                    .head(HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)))
                try await outbound.write(.end(nil))
                var status = 0
                reading: while let part = try await responses.next() {
                    switch part {
                    case .head(let head): status = Int(head.status.code)
                    case .body: break
                    case .end: break reading
                    }
                }
                done(status, DispatchTime.now().uptimeNanoseconds - started)
            }
        }
    }
}
