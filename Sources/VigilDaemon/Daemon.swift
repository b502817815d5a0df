import Foundation
public import Hummingbird
public import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import UnixSignals
public import VigilConfig
import VigilHTTP
import VigilIngest
public import VigilModel
import VigilStore

/// Builds vigild from its configuration: the store, the ingest pipeline, the HTTP API and their services.
public enum Daemon {
    /// Called once the HTTP listener is bound, with the address it is bound to.
    public typealias ReadyHandler = @Sendable (_ host: String, _ port: Int) async -> Void

    /// Runs vigild until SIGTERM or SIGINT, then drains: the HTTP server finishes its requests, the
    /// appends under way commit, and the store closes.
    public static func run(configuration: VigilConfiguration, logger: Logger) async throws {
        let application = try await buildApplication(configuration: configuration, logger: logger)
        try await application.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }

    public static func buildApplication(
        configuration: VigilConfiguration, logger: Logger, clock: any WallClock = SystemWallClock(),
        onReady: @escaping ReadyHandler = { _, _ in }
    ) async throws -> some ApplicationProtocol {
        let databaseFolder = (configuration.databasePath as NSString).deletingLastPathComponent
        if !databaseFolder.isEmpty {
            try FileManager.default.createDirectory(
                atPath: databaseFolder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
            )
        }
        let (daemonKey, created) = try DaemonKey.loadOrCreate(at: configuration.daemonKeyPath)
        logger.notice(
            created ? "daemon key created" : "daemon key loaded",
            metadata: ["key.id": "\(daemonKey.id.hex)", "key.path": "\(configuration.daemonKeyPath)"]
        )
        if configuration.adminAnchors.isEmpty {
            logger.warning(
                "no trust.adminKeys configured: no key can be registered, so every event will be refused as unknown_key"
            )
        }
        let anchors =
            configuration.adminAnchors + [TrustAnchor(publicKey: daemonKey.publicKey, role: .daemon, name: "vigild")]
        let registry = PrometheusCollectorRegistry()
        let metricsFactory = PrometheusMetricsFactory(registry: registry)
        let store = try EventStore.open(
            path: configuration.databasePath, anchors: anchors, clock: clock, logger: logger,
            metricsFactory: metricsFactory
        )

        let ingestor = Ingestor(
            store: store, validation: configuration.limits, limits: .init(maxBatchItems: configuration.maxBatchItems),
            clock: clock, logger: logger, metricsFactory: metricsFactory
        )
        let api = VigilAPI(
            ingestor: ingestor, authenticator: TokenAuthenticator(grants: configuration.tokens), daemonKey: daemonKey,
            metricsRegistry: registry, maxBodyBytes: configuration.maxBodyBytes,
            maxBatchBytes: configuration.maxBatchBytes,
            health: { health(store: store, clock: clock) }
        )
        return Application(
            router: api.buildRouter(),
            server: .http1(configuration: .init(idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds)))),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "vigild"
            ),
            services: [
                StoreService(store: store),
                HeadSigningService(store: store, key: daemonKey, interval: .seconds(60), logger: logger),
            ],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.httpPort
                logger.notice(
                    "vigild listening",
                    metadata: [
                        "http.host": "\(configuration.httpHost)", "http.port": "\(port)",
                        "log.size": "\(store.head.size)",
                    ]
                )
                await onReady(configuration.httpHost, port)
            },
            logger: logger
        )
    }

    static func health(store: EventStore, clock: any WallClock) -> HealthReport {
        let head = store.head
        var writerOK = true
        var detail = "idle"
        if let since = store.commitInProgressSince {
            let seconds = Double(clock.now().microsecondsSinceEpoch - since) / 1_000_000
            writerOK = seconds < 10
            detail = String(format: "committing for %.3f s", seconds)
        }
        return HealthReport(
            status: writerOK ? .ok : .degraded,
            checks: [("writer", writerOK, detail), ("log", true, "\(head.size) entries")]
        )
    }
}
