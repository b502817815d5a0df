import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import VigilAlerts
import VigilIngest
import VigilModel
import VigilProjections
import VigilStore
import VigilSystemd

/// Verifies the log at start and periodically while running; on a failure, closes the write gate (reads go
/// on), logs a critical entry and raises `integrity_failure`.
///
/// The check starts at the last head the daemon signed (its signature and chain hash vouch for what came
/// before) and rehashes and re-verifies everything after it; `integrity.startupCheck: full` checks the whole
/// log at start. At start it runs on every core, before the daemon serves; while running, it is paced: on one
/// thread of its own at a lower priority, pausing after each chunk so that it stays under
/// `integrity.backgroundShare` of one core. Its cost is spread over the interval instead of paid in a burst
/// that would hold requests back.
final class IntegrityService: Service, Sendable {
    /// What the periodic check last found, for `/healthz`.
    struct Status: Sendable {
        var verifiedSize: Int64 = 0
        var lastPassSeconds: Double = 0
        var passes = 0
    }

    let store: EventStore
    let gate: WriteGate
    let engine: AlertEngine
    let clock: any WallClock
    let interval: Duration?
    let share: Double
    let logger: Logger
    /// What the start-up check found, if it found something.
    let startupFailure: VerificationFailure?
    private let status = Mutex(Status())
    private let passes: Counter
    private let busy: Metrics.Timer
    private let verified: Gauge
    private let lastCheckTime: Gauge
    private let lastCheckOK: Gauge

    init(
        store: EventStore, gate: WriteGate, engine: AlertEngine, clock: any WallClock, interval: Duration?,
        share: Double, logger: Logger, metricsFactory: any MetricsFactory, startupFailure: VerificationFailure?
    ) {
        self.store = store
        self.gate = gate
        self.engine = engine
        self.clock = clock
        self.interval = interval
        self.share = share
        self.logger = logger
        self.startupFailure = startupFailure
        passes = Counter(label: "vigil_integrity_checks_total", factory: metricsFactory)
        busy = Metrics.Timer(label: "vigil_integrity_check_busy_seconds", factory: metricsFactory)
        verified = Gauge(label: "vigil_integrity_verified_size", factory: metricsFactory)
        lastCheckTime = Gauge(label: "vigil_integrity_last_check_timestamp_seconds", factory: metricsFactory)
        lastCheckOK = Gauge(label: "vigil_integrity_last_check_ok", factory: metricsFactory)
    }

    /// Records a finished check for the metrics: when, and whether the log held.
    private func recordCheck(ok: Bool) {
        lastCheckTime.record(Double(clock.now().microsecondsSinceEpoch) / 1_000_000)
        lastCheckOK.record(ok ? 1 : 0)
    }

    var currentStatus: Status { status.withLock { $0 } }

    /// Runs the start-up check; on a failure closes the gate and logs it. The alert follows once running.
    ///
    /// A log that verifies gets a signed head at its tip at once, so the next start (after a crash, which
    /// leaves no head signed at shutdown) checks only what came after it.
    /// Under systemd, a check that outlasts a few seconds asks for more start-up time as it goes
    /// (EXTEND_TIMEOUT_USEC) and reports its progress (STATUS=), so a long full check of a large log is not
    /// killed by the unit's start timeout.
    static func startupCheck(
        store: EventStore, gate: WriteGate, full: Bool, signer: LogSigner, notifier: SystemdNotifier?,
        logger: Logger
    ) async -> VerificationFailure? {
        let started = ContinuousClock.now
        let progress = StartupProgress.reporting(to: notifier, size: store.head.size, full: full)
        switch await store.verify(.init(fromLastSignedHead: !full, progress: progress)) {
        case .success(let report):
            if let failure = report.failure {
                fail(failure, gate: gate, logger: logger)
                return failure
            }
            logger.notice(
                "event log verified",
                metadata: [
                    "integrity.mode": "\(full ? "full" : "from the last signed head")",
                    "integrity.entries": "\(report.entriesChecked)",
                    "integrity.from": "\(report.startedAfter)",
                    "integrity.seconds": "\((ContinuousClock.now - started) / .seconds(1))",
                ]
            )
            // Nothing is appended before the check returns, so the store's head is the verified one.
            if report.head.size > report.startedAfter, store.head.size == report.head.size,
                store.head.chainHash == report.head.chainHash
            {
                do {
                    _ = try await store.signHead(with: signer)
                } catch {
                    logger.warning("could not sign the verified head", metadata: ["store.error": "\(error)"])
                }
            }
            return nil
        case .failure(let error):
            let failure = VerificationFailure(
                position: 0, reason: "the log could not be read for verification: \(error)")
            fail(failure, gate: gate, logger: logger)
            return failure
        }
    }

    static func fail(_ failure: VerificationFailure, gate: WriteGate, logger: Logger) {
        gate.close(
            because:
                "writes are refused: the event log failed verification at position \(failure.position); an administrator must investigate (vigilctl verify)"
        )
        logger.critical(
            "event log integrity failure: writes are refused, reads go on",
            metadata: [
                "integrity.position": "\(failure.position)", "integrity.reason": "\(failure.reason)",
                "alert.rule": "integrity_failure",
            ]
        )
    }

    func run() async throws {
        // The start-up check finished moments before the services started.
        recordCheck(ok: startupFailure == nil)
        if let startupFailure { await raise(startupFailure) }
        await repeatEvery(interval) {
            guard gate.refusal == nil else { return }
            switch await store.verify(.init(fromLastSignedHead: true, share: share)) {
            case .success(let report):
                passes.increment()
                busy.recordSeconds(report.busySeconds)
                recordCheck(ok: report.failure == nil)
                if let failure = report.failure {
                    Self.fail(failure, gate: gate, logger: logger)
                    await raise(failure)
                } else {
                    verified.record(report.head.size)
                    status.withLock {
                        $0.verifiedSize = report.head.size
                        $0.lastPassSeconds = report.elapsedSeconds
                        $0.passes += 1
                    }
                    logger.info(
                        "event log verified from the last signed head",
                        metadata: [
                            "integrity.entries": "\(report.entriesChecked)", "integrity.size": "\(report.head.size)",
                            "integrity.busy": "\(report.busySeconds)", "integrity.seconds": "\(report.elapsedSeconds)",
                        ])
                }
            case .failure(let error):
                logger.warning("the periodic log verification could not run", metadata: ["integrity.error": "\(error)"])
            }
        }
    }

    /// Raises the alert (once: its identity is the failure's position and reason).
    private func raise(_ failure: VerificationFailure) async {
        var backoff = Backoff(ceiling: .seconds(5))
        while !Task.isShuttingDownGracefully {
            do {
                return try await engine.raiseIntegrityFailure(
                    position: failure.position, reason: failure.reason, now: clock.now())
            } catch {
                logger.error(
                    "integrity_failure could not be raised yet; retrying", metadata: ["alert.error": "\(error)"])
            }
            await backoff.wait()
        }
    }
}

/// Reports a start-up check's progress to systemd when it begins and then at most every few seconds, each
/// report extending the start timeout well past the next one.
final class StartupProgress: Sendable {
    let notifier: SystemdNotifier
    let size: Int64
    let full: Bool
    private let lastReport = Mutex<ContinuousClock.Instant?>(nil)

    /// How often progress is reported, and how much time each report asks for.
    static let period = Duration.seconds(5)
    static let grant = Duration.seconds(30)

    init(notifier: SystemdNotifier, size: Int64, full: Bool) {
        self.notifier = notifier
        self.size = size
        self.full = full
    }

    /// The progress callback for a check of a log of `size` entries; nil without systemd to report to.
    static func reporting(
        to notifier: SystemdNotifier?, size: Int64, full: Bool
    ) -> (@Sendable (Int64) -> Void)? {
        guard let notifier else { return nil }
        let reporter = StartupProgress(notifier: notifier, size: size, full: full)
        reporter.report(0)
        return { position in reporter.report(position) }
    }

    func report(_ position: Int64) {
        let now = ContinuousClock.now
        let due = lastReport.withLock { last in
            if let previous = last, now - previous < Self.period { return false }
            last = now
            return true
        }
        guard due else { return }
        let percent = Int(size > 0 ? Double(position) / Double(size) * 100 : 100)
        let mode = full ? "full" : "from the last signed head"
        notifier.extendTimeout(
            by: Self.grant, status: "verifying the log (\(mode)): position \(position) of \(size), \(percent) %")
    }
}
