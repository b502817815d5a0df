import Foundation
package import Hummingbird
import HummingbirdCore
package import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import UnixSignals
import VigilAlerts
import VigilBuild
package import VigilConfig
import VigilConsole
import VigilHTTP
import VigilIngest
package import VigilModel
import VigilPostgres
import VigilProjections
import VigilStore
package import VigilSystemd

/// Builds vigild from its configuration: the store, the ingest pipeline, the HTTP API and their services.
package enum Daemon {
    /// Called once the HTTP listener is bound, with the address it is bound to.
    package typealias ReadyHandler = @Sendable (_ host: String, _ port: Int) async -> Void

    /// Why vigild will not start, in words for the operator: a state that a restart cannot fix (a daemon key
    /// that is not its store's, a store written by a newer release).
    package struct StartRefusal: Error, CustomStringConvertible {
        package var description: String

        init(_ description: String) {
            self.description = description
        }
    }

    /// What a configuration reload can change while the daemon runs.
    struct LiveSettings: Sendable {
        let limits: Reloadable<ValidationLimits>
        let tokens: Reloadable<[TokenGrant]>
        let rules: Reloadable<RuleSettings>
        let logLevel: LogLevelControl

        init(_ configuration: VigilConfiguration, logLevel: LogLevelControl) {
            limits = Reloadable(configuration.limits)
            tokens = Reloadable(configuration.tokens)
            rules = Reloadable(configuration.rules)
            self.logLevel = logLevel
        }
    }

    /// The daemon's parts, before a server is chosen.
    struct Parts {
        let store: EventStore
        let router: Router<BasicRequestContext>
        let services: [any Service]
        /// Finished first on shutdown, so open alert streams end and the HTTP server can drain.
        let broadcaster: AlertBroadcaster
        let settings: LiveSettings
        let health: @Sendable () -> HealthReport
        /// The writer alone: what the systemd watchdog follows (a restart helps a wedged writer, not a full disk).
        let writerHealthy: @Sendable () -> Bool
    }

    /// Runs vigild until SIGTERM or SIGINT, then drains: the HTTP server finishes its requests, the appends
    /// under way commit, and the store closes. Under systemd it reports readiness, status, reloads and
    /// stopping (sd_notify), feeds the watchdog while healthy, and serves a socket passed by socket activation.
    /// SIGHUP reloads `configurationFile` (and the environment) without dropping a request.
    package static func run(
        configuration: VigilConfiguration, configurationFile: String?, logLevel: LogLevelControl, logger: Logger
    ) async throws {
        let notifier = SystemdNotifier()
        // Trap SIGHUP before anything else, so a reload requested during start-up is not fatal.
        let reloads = await UnixSignalsSequence(trapping: .sighup)
        let settings = LiveSettings(configuration, logLevel: logLevel)
        let parts = try await build(
            configuration: configuration, settings: settings, notifier: notifier, logger: logger)
        let store = parts.store
        let writerHealthy = parts.writerHealthy
        let ready: @Sendable ([String]) async -> Void = { addresses in
            let address = addresses.joined(separator: " and ")
            let status = "listening on \(address); log size \(store.head.size)"
            logger.notice("vigild ready", metadata: ["http.address": "\(address)", "log.size": "\(store.head.size)"])
            notifier.ready(status: status)
        }
        var services = parts.services
        if let interval = notifier.watchdogInterval() {
            services.append(
                WatchdogService(
                    notifier: notifier, interval: interval, isHealthy: writerHealthy, logger: logger)
            )
        }
        services.append(
            ConfigReloadService(
                signals: reloads, file: configurationFile, running: configuration, settings: settings,
                notifier: notifier,
                statusLine: { "listening; log size \(store.head.size)" }, logger: logger
            )
        )
        let http1 = HTTPServerSettings.channel(configuration)
        let listeners = configuration.http.unixSocket.isEmpty ? 1 : 2
        let readiness = ReadinessLatch(expected: listeners) { addresses in await ready(addresses) }
        if let descriptor = SocketActivation.descriptors().first {
            logger.notice("serving the socket passed by systemd", metadata: ["http.fd": "\(descriptor)"])
            services.append(
                ActivatedHTTPServer(
                    descriptor: descriptor, responder: parts.router.buildResponder(), configuration: http1,
                    maxConnections: configuration.http.maxConnections, serverName: "vigild", logger: logger,
                    onReady: { address in await readiness.arrived(address.map { "\($0)" } ?? "fd \(descriptor)") }
                )
            )
        } else {
            services.append(
                tcpApplication(parts, configuration: configuration, logger: logger) { host, port in
                    await readiness.arrived("\(host):\(port)")
                })
        }
        if !configuration.http.unixSocket.isEmpty {
            let socketAccess = try UnixSocketAccess(
                path: configuration.http.unixSocket, mode: configuration.http.unixSocketMode,
                group: configuration.http.unixSocketGroup)
            services.append(
                Application(
                    router: parts.router, server: .http1(configuration: http1),
                    configuration: HTTPServerSettings.application(
                        configuration, address: .unixDomainSocket(path: configuration.http.unixSocket)),
                    onServerRunning: { channel in
                        do {
                            try socketAccess.apply()
                        } catch {
                            // Never serve a socket whose access is not what the configuration says.
                            logger.critical(
                                "cannot set the unix socket's mode or group; stopping",
                                metadata: ["http.socket": "\(configuration.http.unixSocket)", "http.error": "\(error)"])
                            try? await channel.close()
                            return
                        }
                        logger.notice(
                            "vigild listening on a unix socket",
                            metadata: [
                                "http.socket": "\(configuration.http.unixSocket)",
                                "http.socket.mode": "\(String(configuration.http.unixSocketMode, radix: 8))",
                            ])
                        await readiness.arrived("unix:\(configuration.http.unixSocket)")
                    },
                    logger: logger
                )
            )
        }
        services.append(StoppingNotifier(notifier: notifier, logger: logger, broadcaster: parts.broadcaster))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }

    /// The daemon as one Hummingbird application (its store and background services included), for tests
    /// and embedding: no systemd integration, the configured TCP address. `clock` and `deadlineInterval` are
    /// the daemon's sense of time (nil: the scheduler's usual interval); a test that loads a course from months
    /// ago chooses when its deadlines pass.
    package static func buildApplication(
        configuration: VigilConfiguration, logger: Logger, clock: any WallClock = SystemWallClock(),
        deadlineInterval: Duration? = nil, onReady: @escaping ReadyHandler = { _, _ in }
    ) async throws -> some ApplicationProtocol {
        let settings = LiveSettings(
            configuration, logLevel: LogLevelControl(Logger.Level(rawValue: configuration.logLevel) ?? .info))
        let parts = try await build(
            configuration: configuration, settings: settings, clock: clock, deadlineInterval: deadlineInterval,
            logger: logger)
        return tcpApplication(parts, configuration: configuration, services: parts.services, logger: logger) {
            host, port in await onReady(host, port)
        }
    }

    /// The HTTP server on the configured TCP address, one setup for `run` (beside the other services) and for
    /// `buildApplication` (carrying them): it logs where it listens, then calls `onListening`.
    static func tcpApplication(
        _ parts: Parts, configuration: VigilConfiguration, services: [any Service] = [], logger: Logger,
        onListening: @escaping @Sendable (_ host: String, _ port: Int) async -> Void
    ) -> some ApplicationProtocol {
        let store = parts.store
        return Application(
            router: parts.router,
            server: .http1(configuration: HTTPServerSettings.channel(configuration)),
            configuration: HTTPServerSettings.application(
                configuration, address: .hostname(configuration.http.host, port: configuration.http.port)),
            services: services,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.http.port
                logger.notice(
                    "vigild listening",
                    metadata: [
                        "http.host": "\(configuration.http.host)", "http.port": "\(port)",
                        "log.size": "\(store.head.size)",
                    ]
                )
                await onListening(configuration.http.host, port)
            },
            logger: logger
        )
    }

    static func build(
        configuration: VigilConfiguration, settings: LiveSettings, clock: any WallClock = SystemWallClock(),
        deadlineInterval: Duration? = nil, notifier: SystemdNotifier? = nil, logger: Logger
    ) async throws -> Parts {
        logger.notice(
            "vigild starting",
            metadata: ["vigil.version": "\(VigilBuild.version)", "vigil.commit": "\(VigilBuild.commit)"])
        let databaseFolder = (configuration.databasePath as NSString).deletingLastPathComponent
        if !databaseFolder.isEmpty {
            try FileManager.default.createDirectory(
                atPath: databaseFolder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
            )
        }
        // One writer per store: a second vigild on this store, or a restore under way, makes this start fail.
        // Held until StoreService has closed the store (or the process ends).
        let lock = try StoreLock.acquire(forStore: configuration.databasePath)
        let backend = try await openBackend(configuration, logger: logger)
        // On a database several nodes share, one of them leads (``Leadership``); asked once now, so a node that
        // starts alone leads from its first moment.
        let shared = backend.file == nil
        let leadership = shared ? Leadership(leading: await backend.lead()) : .sole()
        if shared {
            logger.notice(
                leadership.isLeading ? "this node leads the shared log" : "another node leads the shared log",
                metadata: ["node.leading": "\(leadership.isLeading)"])
        }
        let (daemonKey, outcome) = try await loadDaemonKey(configuration, backend: backend)
        switch outcome {
        case .loaded, .created:
            logger.notice(
                outcome == .created ? "daemon key created" : "daemon key loaded",
                metadata: ["key.id": "\(daemonKey.id.hex)", "key.path": "\(configuration.daemonKeyPath)"])
        case .rotated(let previous):
            logger.critical(
                "daemon key rotated: heads and alerts from now on are signed with a new key",
                metadata: [
                    "key.id": "\(daemonKey.id.hex)", "key.previous": "\(previous.map(\.hex).joined(separator: ","))",
                    "key.path": "\(configuration.daemonKeyPath)",
                ])
        }
        if configuration.adminAnchors.isEmpty {
            logger.warning(
                "no trust.adminKeys configured: no key can be registered, so every event will be refused as unknown_key"
            )
        }
        let signer = LogSigner(key: daemonKey, origin: configuration.transparency.origin)
        logger.notice(
            "checkpoints are signed for this log",
            metadata: ["log.origin": "\(signer.origin)", "log.verifierKey": "\(signer.noteKey.verifierKey)"])
        let anchors =
            configuration.adminAnchors + [TrustAnchor(publicKey: daemonKey.publicKey, role: .daemon, name: "vigild")]
        let registry = PrometheusCollectorRegistry()
        let metricsFactory = PrometheusMetricsFactory(registry: registry)
        let store = try await EventStore.open(
            backend: backend, anchors: anchors, clock: clock, logger: logger, metricsFactory: metricsFactory)
        let gate = WriteGate()
        let startupFailure = await IntegrityService.startupCheck(
            store: store, gate: gate, full: configuration.integrity.fullStartupCheck, signer: signer,
            notifier: notifier,
            logger: logger
        )
        let ingestor = Ingestor(
            store: store, validation: settings.limits, limits: .init(maxBatchItems: configuration.http.maxBatchItems),
            clock: clock, gate: gate, logger: logger, metricsFactory: metricsFactory
        )
        let projectionsPath =
            configuration.projectionsPath.isEmpty
            ? ProjectionDatabase.defaultPath(forStore: configuration.databasePath) : configuration.projectionsPath
        let views = try ProjectionDatabase.open(path: projectionsPath)
        let broadcaster = AlertBroadcaster()
        var webhook: WebhookNotifier?
        if !configuration.webhook.url.isEmpty, let url = URL(string: configuration.webhook.url) {
            let outboxPath =
                configuration.webhook.outboxPath.isEmpty
                ? WebhookOutbox.defaultPath(forStore: configuration.databasePath) : configuration.webhook.outboxPath
            webhook = WebhookNotifier(
                settings: .init(
                    url: url, severities: Set(configuration.webhook.severities),
                    maxAttempts: configuration.webhook.maxAttempts,
                    retryDelay: .milliseconds(Int64(configuration.webhook.retrySeconds * 1000))
                ),
                outbox: try WebhookOutbox.open(path: outboxPath, logEnd: store.head.size), store: store,
                leadership: leadership, logger: logger, metricsFactory: metricsFactory
            )
        }
        let engine = AlertEngine(
            store: store, database: views, key: daemonKey, settings: settings.rules, broadcaster: broadcaster,
            webhook: webhook, leadership: leadership, clock: clock, logger: logger, metricsFactory: metricsFactory
        )
        let runner = ProjectionRunner(
            store: store, database: views, settings: settings.rules, reactor: engine,
            rebuild: configuration.rebuildViews, clock: clock, logger: logger, metricsFactory: metricsFactory
        )
        let viewCheck = ViewCheckService(
            store: store, views: views,
            interval: configuration.integrity.viewsCheckIntervalSeconds > 0
                ? .seconds(configuration.integrity.viewsCheckIntervalSeconds) : nil,
            runner: runner, logger: logger, metricsFactory: metricsFactory)
        let integrity = IntegrityService(
            store: store, gate: gate, engine: engine, clock: clock,
            interval: configuration.integrity.verifyIntervalSeconds > 0
                ? .seconds(configuration.integrity.verifyIntervalSeconds) : nil,
            share: configuration.integrity.backgroundShare, logger: logger, metricsFactory: metricsFactory,
            startupFailure: startupFailure)
        let witnesses = WitnessService(
            store: store, witnesses: configuration.transparency.witnesses, leadership: leadership, clock: clock,
            logger: logger)
        let scheduler = AlertScheduler(
            engine: engine, runner: runner, clock: clock, interval: deadlineInterval ?? AlertScheduler.defaultInterval,
            logger: logger)
        // What a node does on taking the lead: append the alerts the old leader decided and did not append, raise
        // what is due, send what its webhook outbox has not, submit the latest checkpoint.
        leadership.onGain { [webhook] in
            await engine.takeOver()
            await scheduler.tick()
            webhook?.alertsAppended()
            await witnesses.round()
        }
        let stall = Double(configuration.writerStallSeconds)
        let health: @Sendable () -> HealthReport = {
            HealthReport.daemon(
                store: store, projections: runner.currentStatus, views: viewCheck.currentStatus,
                integrity: integrity.currentStatus,
                witnesses: configuration.transparency.witnesses.isEmpty ? nil : witnesses.currentStatus,
                clock: clock, stallSeconds: stall, gate: gate, leadership: shared ? leadership : nil)
        }
        let readModels = ReadModels(database: views, settings: settings.rules)
        let state = StateMetrics(factory: metricsFactory, logger: logger)
        let beforeScrape: @Sendable () async -> Void = {
            await state.refresh(
                health: health(), logSize: store.head.size, projected: runner.currentStatus.position,
                readModels: readModels)
        }
        let api = VigilAPI(
            ingestor: ingestor, authenticator: TokenAuthenticator(grants: settings.tokens), signer: signer,
            readModels: readModels, alertBroadcaster: broadcaster,
            doseCheck: { request in try await DoseCheck.evaluate(request, engine: engine, now: clock.now()) },
            health: health, metricsRegistry: registry,
            beforeScrape: beforeScrape,
            limits: VigilAPI.Limits(
                maxBodyBytes: configuration.http.maxBodyBytes, maxBatchBytes: configuration.http.maxBatchBytes,
                requestTimeout: .seconds(configuration.http.requestTimeoutSeconds)),
            publicReads: RateLimiter(
                rate: Double(configuration.transparency.publicRequestsPerSecond),
                burst: Double(2 * configuration.transparency.publicRequestsPerSecond)),
            clock: clock)
        var services: [any Service] = [
            StoreService(store: store, lock: lock),
            ProjectionService(runner: runner, database: views),
            ViewLogService(database: views, logger: logger),
            scheduler,
            AlertStreamService(broadcaster: broadcaster),
            integrity,
            viewCheck,
            HeadSigningService(
                store: store, signer: signer, leadership: leadership,
                interval: .seconds(configuration.transparency.checkpointIntervalSeconds),
                metrics: SignedHeadMetrics(factory: metricsFactory), logger: logger),
            witnesses,
        ]
        // 1 on the node that leads (always, on an SQLite file), 0 on a follower.
        let leading = Gauge(label: "vigil_node_leading", factory: metricsFactory)
        leading.record(leadership.isLeading ? 1 : 0)
        if shared {
            // After the store's service, so it stops before the store closes.
            services.insert(
                SharedLogService(
                    store: store, leadership: leadership, leading: leading, logger: logger,
                    able: { runner.currentStatus.failure == nil }), at: 1)
        }
        if let webhook { services.append(webhook) }
        return Parts(
            store: store,
            router: try router(api: api, rules: settings.rules, clock: clock),
            services: services, broadcaster: broadcaster,
            settings: settings, health: health,
            writerHealthy: { Self.writer(store: store, clock: clock, stallSeconds: stall).ok }
        )
    }

    /// The API's routes and the officers' console on one router.
    static func router(
        api: VigilAPI, rules: Reloadable<RuleSettings>, clock: any WallClock
    ) throws -> Router<
        BasicRequestContext
    > {
        let router = api.buildRouter()
        let console = try Console(
            readModels: api.readModels, store: api.store, authenticator: api.authenticator,
            alertBroadcaster: api.alertBroadcaster, rules: rules, health: api.health, clock: clock)
        console.addRoutes(to: router)
        return router
    }

    /// The daemon's key, checked against the keys the log records; the database is closed if it is refused.
    static func loadDaemonKey(
        _ configuration: VigilConfiguration, backend: any LogBackend
    ) async throws -> (key: SigningKey, outcome: DaemonKey.Outcome) {
        do {
            return try DaemonKey.load(
                at: configuration.daemonKeyPath, recorded: DaemonKey.daemonKeys(in: try await backend.anchorHistory()),
                store: backend.location, rotate: configuration.rotateDaemonKey)
        } catch {
            await backend.close()
            throw error
        }
    }

    /// Opens the database that holds the log: the SQLite file at `database.path`, or PostgreSQL at `database.url`.
    /// A store written by a newer release, or a URL that cannot be used, is a ``StartRefusal``.
    static func openBackend(_ configuration: VigilConfiguration, logger: Logger) async throws -> any LogBackend {
        guard !configuration.databaseURL.isEmpty else {
            let opened = Result { () throws(StoreError) in
                try SQLiteLog(path: configuration.databasePath, logger: logger)
            }
            if case .failure(let error) = opened, error.code == .newerVersion { throw StartRefusal(error.message) }
            return try opened.get()
        }
        let location = Result { () throws(PostgresStoreError) in
            try PostgresLocation(
                url: configuration.databaseURL,
                passwordFile: configuration.databasePasswordFile.isEmpty ? nil : configuration.databasePasswordFile)
        }
        if case .failure(let error) = location { throw StartRefusal(error.message) }
        let log: PostgresLog
        do {
            log = try await PostgresLog.open(try location.get(), logger: logger)
        } catch {
            if error.code == .newerVersion { throw StartRefusal(error.message) }
            throw error
        }
        logger.notice("the log is in PostgreSQL", metadata: ["store.location": "\(log.location)"])
        return log
    }

    /// Whether the writer is moving: not healthy when a commit has been running for `stallSeconds` or more.
    static func writer(store: EventStore, clock: any WallClock, stallSeconds: Double) -> (ok: Bool, detail: String) {
        guard let since = store.commitInProgressSince else { return (true, "idle") }
        let seconds = Double(clock.now().microsecondsSinceEpoch - since) / 1_000_000
        return (seconds < stallSeconds, String(format: "committing for %.3f s", seconds))
    }

    /// Degraded when a commit has been running longer than `stallSeconds` (the writer is wedged), the last
    /// commit failed (a full disk), the read models cannot be written, or an integrity check holds writes.
}

/// Tells systemd the daemon is stopping as soon as graceful shutdown begins (it is the last service, so the
/// first one told).
struct StoppingNotifier: Service {
    let notifier: SystemdNotifier
    let logger: Logger
    let broadcaster: AlertBroadcaster?

    func run() async throws {
        try? await gracefulShutdown()
        logger.notice("vigild stopping: finishing the requests in hand")
        notifier.stopping(status: "stopping: finishing the requests in hand")
        broadcaster?.finish()
    }
}
