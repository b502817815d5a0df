import Crypto
import Foundation
import Logging
import ServiceLifecycle
import VigilConfig
import VigilDaemon
import VigilModel
import VigilStore
import VigilTestSupport

/// Reader tokens configured in every live test daemon.
enum Tokens {
    static let officer = "officer-token-for-tests"
    static let auditor = "auditor-token-for-tests"
    static let ops = "ops-token-for-tests"
    static let pharmacy = "pharmacy-token-for-tests"

    static var grants: [TokenGrant] {
        [(officer, ReaderRole.officer), (auditor, .auditor), (ops, .ops), (pharmacy, .pharmacy)].map {
            TokenGrant(sha256: Array(SHA256.hash(data: Array($0.0.utf8))), role: $0.1)
        }
    }
}

/// vigild running in this process on a free loopback port, with a store in a temporary folder.
struct LiveDaemon {
    let keys: TestKeys
    let folder: String
    let configuration: VigilConfiguration
    let client: TestHTTPClient
    let port: Int

    var databasePath: String { configuration.databasePath }

    static func configuration(folder: String, keys: TestKeys) -> VigilConfiguration {
        var http = HTTPSettings(host: "127.0.0.1", port: 0)
        http.maxBodyBytes = 64 * 1024
        http.maxBatchBytes = 4 << 20
        http.maxBatchItems = 200
        return VigilConfiguration(
            databasePath: folder + "/data/vigil.sqlite", http: http,
            adminAnchors: [TrustAnchor(publicKey: keys.admin.publicKey, role: .admin, name: "Test Admin")],
            tokens: Tokens.grants, daemonKeyPath: folder + "/data/daemon.key", limits: .default, logLevel: "info"
        )
    }

    /// Starts a daemon, runs `body` against it, then shuts it down gracefully (as SIGTERM would).
    static func run(
        keys: TestKeys = TestKeys(), registerKeys: Bool = true,
        configure: (inout VigilConfiguration) -> Void = { _ in },
        _ body: (LiveDaemon) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory { folder in
            var configuration = configuration(folder: folder, keys: keys)
            configure(&configuration)
            try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
            try DaemonKey.writeSecret(KeyFile.pem(privateKey: keys.daemon), to: configuration.daemonKeyPath)
            var logger = Logger(label: "vigild-test")
            logger.logLevel = .error
            let (ready, readyContinuation) = AsyncStream.makeStream(of: Int.self)
            // Deadlines are looked at when the daemon starts and not again while the test runs: the courses the
            // tests load are months old, and which follow-ups count as missed must not depend on how long a loaded
            // machine took to run the test (the scheduler's own tests move its clock).
            let application = try await Daemon.buildApplication(
                configuration: configuration, logger: logger, deadlineInterval: .seconds(24 * 3600)
            ) { _, port in
                readyContinuation.yield(port)
            }
            let group = ServiceGroup(services: [application], gracefulShutdownSignals: [], logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                var iterator = ready.makeAsyncIterator()
                guard let port = await iterator.next() else { throw CancellationError() }
                let daemon = LiveDaemon(
                    keys: keys, folder: folder, configuration: configuration,
                    client: TestHTTPClient(baseURL: "http://127.0.0.1:\(port)"), port: port
                )
                do {
                    if registerKeys { try await daemon.registerKeys() }
                    try await body(daemon)
                } catch {
                    await group.triggerGracefulShutdown()
                    throw error
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }

    func registerKeys() async throws {
        let response = try await batch(keys.registrations())
        precondition(response.status == 200, "registration failed: \(response.text)")
    }

    func submit(_ envelope: [UInt8]) async throws -> TestHTTPClient.Response {
        try await client.post("/v1/events", envelope)
    }

    func submit(
        _ payload: EventPayload, by author: SigningKey, witnesses: [SigningKey] = []
    ) async throws -> TestHTTPClient.Response {
        try await submit(Fixtures.envelope(payload, by: author, witnesses: witnesses))
    }

    func batch(_ envelopes: [[UInt8]]) async throws -> TestHTTPClient.Response {
        try await client.post("/v1/events/batch", Fixtures.batch(envelopes))
    }

    /// The size of the log, read through the API.
    func logSize() async throws -> Int64 {
        try await client.logHead(token: Tokens.auditor).size
    }

    /// The log's size and chain hash, read through the API (the signature and issue time change per read).
    func logHead() async throws -> String {
        let head = try await client.logHead(token: Tokens.auditor)
        return "\(head.size) \(head.chainHash)"
    }
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension TestHTTPClient.Response {
    var json: JSONValue? { try? JSONParser.parse(body) }

    var errorCode: String? {
        guard case .object(let root)? = json, case .object(let error)? = root["error"],
            case .string(let code)? = error["code"]
        else { return nil }
        return code
    }

    var errorMessage: String? {
        guard case .object(let root)? = json, case .object(let error)? = root["error"],
            case .string(let message)? = error["message"]
        else { return nil }
        return message
    }

    func field(_ name: String) -> JSONValue? {
        guard case .object(let root)? = json else { return nil }
        return root[name]
    }
}
