import AsyncHTTPClient
public import Foundation
public import Logging
public import Metrics
import NIOCore
import NIOHTTP1
public import ServiceLifecycle
public import VigilModel
public import VigilProjections

/// POSTs alerts of chosen severities to a webhook, retrying with exponential backoff.
///
/// The body is the alert as the read API shows it plus the signed `alert.raised` envelope, so the receiver
/// can verify the alert came from this daemon. Retries: up to `maxAttempts`, the first after `retryDelay`,
/// doubling, at most 5 minutes apart; any 2xx answer is a delivery. Alerts waiting for delivery are kept in
/// memory: after a restart, alerts raised before it are not re-sent (the log and the live stream have them).
///
/// It uses AsyncHTTPClient on the daemon's own event loops (FoundationNetworking's URLSession on Linux has
/// crashed in libdispatch when connections are reset, swift-corelibs-foundation #4791).
public final class WebhookNotifier: Service, Sendable {
    public struct Settings: Sendable {
        public var url: URL
        public var severities: Set<AlertSeverity>
        public var maxAttempts: Int
        public var retryDelay: Duration

        public init(url: URL, severities: Set<AlertSeverity>, maxAttempts: Int, retryDelay: Duration) {
            self.url = url
            self.severities = severities
            self.maxAttempts = maxAttempts
            self.retryDelay = retryDelay
        }
    }

    let settings: Settings
    let logger: Logger
    private let queue: AsyncStream<(AlertView, [UInt8])>
    private let input: AsyncStream<(AlertView, [UInt8])>.Continuation
    private let delivered: Counter
    private let failed: Counter

    public init(settings: Settings, logger: Logger, metricsFactory: any MetricsFactory) {
        self.settings = settings
        self.logger = logger
        (queue, input) = AsyncStream.makeStream(of: (AlertView, [UInt8]).self)
        delivered = Counter(label: "vigil_webhook_deliveries_total", factory: metricsFactory)
        failed = Counter(label: "vigil_webhook_failures_total", factory: metricsFactory)
    }

    /// Queues an alert if its severity is configured for the webhook.
    public func enqueue(_ alert: AlertView, envelope: Envelope) {
        guard settings.severities.contains(alert.severity) else { return }
        var body = JSONObject()
        guard let view = try? JSONValueEncoder.value(of: alert) else { return }
        body["alert"] = view
        body["envelope"] = envelope.json
        input.yield((alert, JSONWriter.bytes(.object(body))))
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for await (alert, body) in queue.cancelOnGracefulShutdown() {
                group.addTask { await self.deliver(alert, body: body) }
            }
        }
    }

    private func deliver(_ alert: AlertView, body: [UInt8]) async {
        var backoff = Backoff(first: settings.retryDelay, ceiling: .seconds(300))
        for attempt in 1...settings.maxAttempts {
            var request = HTTPClientRequest(url: settings.url.absoluteString)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Vigil-Alert-Id", value: alert.alertId.description)
            request.body = .bytes(body)
            let status: Int
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                status = Int(response.status.code)
                _ = try? await response.body.collect(upTo: 1 << 20)
            } catch {
                status = 0
            }
            if (200..<300).contains(status) {
                delivered.increment()
                logger.debug(
                    "alert delivered to the webhook",
                    metadata: ["alert.id": "\(alert.alertId)", "webhook.attempt": "\(attempt)"])
                return
            }
            failed.increment()
            guard attempt < settings.maxAttempts, !Task.isShuttingDownGracefully else { break }
            logger.warning(
                "webhook delivery failed; retrying",
                metadata: [
                    "alert.id": "\(alert.alertId)", "webhook.status": "\(status)", "webhook.attempt": "\(attempt)",
                ]
            )
            await backoff.wait()
        }
        logger.error(
            "webhook delivery given up", metadata: ["alert.id": "\(alert.alertId)", "rule": "\(alert.rule.rawValue)"])
    }
}
