import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VigilModel

/// A real HTTP client over loopback (AsyncHTTPClient), for tests against a running daemon.
///
/// Not URLSession: on Linux it crashed the test process in libdispatch when a daemon was killed with
/// requests in flight (swift-corelibs-foundation #4791).
package struct TestHTTPClient: Sendable {
    package struct Response: Sendable {
        package var status: Int
        package var body: [UInt8]
        package var headers: [String: String]

        package var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// One client for the whole test process, allowing as many connections per daemon as the tests' widest
    /// fan-out; it lives as long as the process.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// The same, but answering a redirect as it is (a browser's sign-in reads the `Set-Cookie` of a 303).
    private static let literalClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    package let baseURL: String

    package init(baseURL: String) {
        self.baseURL = baseURL
    }

    package func send(
        _ method: String, _ path: String, body: [UInt8]? = nil, token: String? = nil, headers: [String: String] = [:],
        followRedirects: Bool = true
    ) async throws -> Response {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .init(rawValue: method)
        if let body {
            request.body = .bytes(body)
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        let response = try await (followRedirects ? Self.client : Self.literalClient).execute(
            request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 1 << 30)
        var fields: [String: String] = [:]
        for header in response.headers { fields[header.name.lowercased()] = header.value }
        return Response(status: Int(response.status.code), body: Array(buffer: bytes), headers: fields)
    }

    package func post(_ path: String, _ body: [UInt8]) async throws -> Response {
        try await send("POST", path, body: body)
    }

    package func get(_ path: String, token: String? = nil) async throws -> Response {
        try await send("GET", path, token: token)
    }

    /// The log's size and chain hash as `GET /v1/log/head` gives them (an auditor's or officer's token).
    package func logHead(token: String) async throws -> (size: Int64, chainHash: String) {
        let response = try await get("/v1/log/head", token: token)
        guard case .object(let object) = try JSONParser.parse(response.body), case .number(let size)? = object["size"],
            let count = size.integerValue, case .string(let chainHash)? = object["chainHash"]
        else { throw UnexpectedAnswer("no log head in \(response.text)") }
        return (count, chainHash)
    }
}

/// An answer a test helper could not read.
package struct UnexpectedAnswer: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
