import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import VigilProjections
import VigilStore

/// Checks the read models against the log in the background: every `interval`, the log is replayed into a
/// scratch file beside the views up to their checkpoint, and the two are compared projection by projection.
///
/// The replay is not paced (paced to `integrity.backgroundShare` it spread its cost over more of the soak's
/// windows without lowering their maxima: docs/benchmarks.md, "the views check, paced or not"); it decodes the log,
/// and reads and writes its scratch views, on threads of their own at a lower priority, so that the requests come
/// first whenever both want a core, and it holds no reader on the views while it replays (their write-ahead log
/// goes on being emptied).
/// A difference (an edited views file, a bug) is logged as critical with the table and key where it starts,
/// counted, and turns `/healthz` degraded until a check finds the views equal again; `vigilctl rebuild` (daemon
/// stopped) or `vigild --rebuild` repairs them. Reads and ingest go on meanwhile.
final class ViewCheckService: Service, Sendable {
    struct Status: Sendable, Equatable {
        /// What the last check found wrong; nil when it found the views equal to the log (or none ran yet).
        var mismatch: String?
        var summary = "not checked yet"
    }

    let store: EventStore
    let views: ProjectionDatabase
    let interval: Duration?
    let runner: ProjectionRunner
    let logger: Logger
    private let status = Mutex(Status())
    private let mismatches: Counter
    private let checks: Counter

    init(
        store: EventStore, views: ProjectionDatabase, interval: Duration?, runner: ProjectionRunner,
        logger: Logger, metricsFactory: any MetricsFactory
    ) {
        self.store = store
        self.views = views
        self.interval = interval
        self.runner = runner
        self.logger = logger
        mismatches = Counter(label: "vigil_views_check_mismatches_total", factory: metricsFactory)
        checks = Counter(label: "vigil_views_checks_total", factory: metricsFactory)
        if interval == nil { status.withLock { $0.summary = "periodic check off" } }
    }

    var currentStatus: Status { status.withLock { $0 } }

    func run() async throws {
        await repeatEvery(interval) {
            if runner.currentStatus.caughtUp { await check() }
        }
    }

    func check() async {
        do {
            let report = try await cancelWhenGracefulShutdown { [store, views] in
                try await ProjectionRebuild.check(
                    log: store, views: views, scratchPath: views.path + ".check", decoding: .besideRequests)
            }
            checks.increment()
            if report.mismatched.isEmpty {
                status.withLock {
                    $0.mismatch = nil
                    $0.summary = "equal to the log at position \(report.position) (checked in \(Int(report.seconds)) s)"
                }
                logger.info(
                    "read models checked against the log: equal",
                    metadata: ["projection.position": "\(report.position)", "check.seconds": "\(report.seconds)"])
            } else {
                mismatches.increment()
                let what =
                    "the read models differ from the log at position \(report.position): "
                    + report.differences.joined(separator: "; ")
                status.withLock { $0.mismatch = what + "; rebuild them (vigilctl rebuild)" }
                logger.critical(
                    "read models differ from the log; rebuild them (vigilctl rebuild or vigild --rebuild)",
                    metadata: [
                        "projection.mismatched": "\(report.mismatched.map(\.rawValue).joined(separator: ","))",
                        "projection.differences": "\(report.differences.joined(separator: "; "))",
                        "projection.position": "\(report.position)",
                    ])
            }
        } catch is CancellationError {
            return
        } catch {
            logger.warning("the read models could not be checked", metadata: ["check.error": "\(error)"])
        }
    }
}
