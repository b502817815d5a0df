import Foundation
import Testing
import VigilConfig
import VigilModel
import VigilTestSupport

/// What a client that misbehaves at the HTTP level meets: limits on the head and the body, deadlines for
/// slow ones, and a cap on connections. Real sockets against a live daemon.
@Suite struct ConnectionLimitTests {
    @Test func anOversizedHeadIsRefusedAndTheConnectionClosed() async throws {
        try await LiveDaemon.run(registerKeys: false, configure: { $0.http.maxHeaderBytes = 4096 }) { daemon in
            let filler = String(repeating: "a", count: 8192)
            let transcript = try await RawConversation.run(
                .tcp(port: daemon.port),
                steps: [.send("GET /healthz HTTP/1.1\r\nHost: vigil\r\nX-Filler: \(filler)\r\n\r\n")]
            )
            #expect(transcript.status == 400, "\(transcript.received)")
            #expect(transcript.closedAfter != nil)
            // A head within the limit is served as usual (read until the answer's status line is in: on a loaded
            // machine it may take seconds, and the connection stays open after it).
            let health = try await RawHTTP.stream(
                port: daemon.port, path: "/healthz", headers: ["X-Filler": String(filler.prefix(1000))], timeout: 30
            ) { $0.contains("\r\n\r\n") }
            #expect(health.hasPrefix("HTTP/1.1 200"), "\(health)")
        }
    }

    @Test func aTricklingBodyIsAnswered408AndCut() async throws {
        try await LiveDaemon.run(
            registerKeys: false,
            configure: {
                $0.http.requestTimeoutSeconds = 1
                $0.http.idleTimeoutSeconds = 10
            }
        ) { daemon in
            // One byte every 200 ms for 10 s keeps the idle timer (10 s) from firing before 20 s; the request
            // deadline (1 s) still does, while the body is still trickling. On a loaded machine the answer may come
            // seconds late: what counts is that it comes before the client has stopped sending.
            var steps: [RawConversation.Step] = [
                .send("POST /v1/events HTTP/1.1\r\nHost: vigil\r\nContent-Length: 400\r\n\r\n{")
            ]
            for _ in 0..<50 { steps += [.listen(0.2), .send(" ")] }
            let transcript = try await RawConversation.run(.tcp(port: daemon.port), steps: steps, finalListen: 6)
            #expect(transcript.status == 408, "\(transcript.received)")
            #expect(transcript.received.contains("\"code\":\"request_timeout\""))
            #expect(transcript.received.lowercased().contains("connection: close"))
            let answered = try #require(transcript.answeredAfter)
            #expect(answered >= 0.9, "answered after \(answered) s, before the deadline")
            let step = try #require(transcript.answeredDuringStep)
            #expect(step < steps.count - 1, "answered after \(answered) s, once the trickle had ended")
            let closed = try #require(transcript.closedAfter, "the connection stayed open")
            #expect(closed < answered + 4)
            // Nothing half-received was stored.
            #expect(try await daemon.logSize() == 0)
        }
    }

    @Test func aHeadThatNeverEndsIsClosedByTheIdleTimeout() async throws {
        try await LiveDaemon.run(registerKeys: false, configure: { $0.http.idleTimeoutSeconds = 1 }) { daemon in
            let transcript = try await RawConversation.run(
                .tcp(port: daemon.port), steps: [.send("GET /healthz HTTP/1.1\r\nHost: vig")], finalListen: 6
            )
            #expect(transcript.received.isEmpty)
            let closed = try #require(transcript.closedAfter, "the connection stayed open")
            #expect(closed >= 0.9 && closed < 5, "closed after \(closed) s")
        }
    }

    @Test func aBodyThatStopsComingIsClosedByTheIdleTimeout() async throws {
        try await LiveDaemon.run(
            registerKeys: false,
            configure: {
                $0.http.idleTimeoutSeconds = 1
                $0.http.requestTimeoutSeconds = 30
            }
        ) { daemon in
            // The request deadline is checked as pieces of body arrive; a body that stops is the idle timeout's.
            let transcript = try await RawConversation.run(
                .tcp(port: daemon.port),
                steps: [.send("POST /v1/events HTTP/1.1\r\nHost: vigil\r\nContent-Length: 400\r\n\r\n{")],
                finalListen: 6
            )
            let closed = try #require(transcript.closedAfter, "the connection stayed open")
            #expect(closed >= 0.9 && closed < 5, "closed after \(closed) s")
            #expect(try await daemon.logSize() == 0)
        }
    }

    @Test func aBodyThatStopsBeingHTTPIsRefusedAsTheClients() async throws {
        try await LiveDaemon.run(registerKeys: false) { daemon in
            // A chunk whose size is not hexadecimal: the parser fails partway through the body. That is the
            // client's doing (400), not a server failure (500, logged as an error).
            let transcript = try await RawConversation.run(
                .tcp(port: daemon.port),
                steps: [
                    .send("POST /v1/events HTTP/1.1\r\nHost: vigil\r\nTransfer-Encoding: chunked\r\n\r\n"),
                    .send("1\r\n{\r\nZZ\r\n"),
                ],
                finalListen: 5
            )
            #expect(transcript.status == 400, "\(transcript.received)")
            #expect(transcript.received.contains("\"code\":\"malformed_request\""), "\(transcript.received)")
            #expect(transcript.closedAfter != nil)
            #expect(try await daemon.logSize() == 0)
        }
    }

    @Test func aBodyDeclaredTooLargeIsRefusedBeforeItIsRead() async throws {
        try await LiveDaemon.run(registerKeys: false) { daemon in
            let transcript = try await RawConversation.run(
                .tcp(port: daemon.port),
                steps: [.send("POST /v1/events HTTP/1.1\r\nHost: vigil\r\nContent-Length: 100000000\r\n\r\n{")],
                finalListen: 5
            )
            #expect(transcript.status == 413, "\(transcript.received)")
            #expect(transcript.received.contains("\"code\":\"too_large\""))
            #expect(transcript.closedAfter != nil)
        }
    }

    @Test func connectionsBeyondTheCapWaitTheirTurn() async throws {
        try await LiveDaemon.run(registerKeys: false, configure: { $0.http.maxConnections = 2 }) { daemon in
            let first = try RawConversation.open(.tcp(port: daemon.port))
            let second = try RawConversation.open(.tcp(port: daemon.port))
            // Give the server a moment to accept both, then the third waits in the backlog.
            try await Task.sleep(for: .milliseconds(300))
            async let third = RawConversation.run(
                .tcp(port: daemon.port),
                steps: [.send("GET /healthz HTTP/1.1\r\nHost: vigil\r\nConnection: close\r\n\r\n")],
                finalListen: 8
            )
            try await Task.sleep(for: .seconds(1))
            let freed = Date()
            close(first)
            let transcript = try await third
            close(second)
            #expect(transcript.status == 200, "\(transcript.received)")
            // Judged against the moment a connection was freed, not against the third's own start, which a loaded
            // machine may delay.
            let answered = try #require(transcript.answeredAt)
            #expect(
                answered.timeIntervalSince(freed) > -0.05,
                "answered \(freed.timeIntervalSince(answered)) s before a connection was freed")
        }
    }
}
