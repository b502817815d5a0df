import Foundation
import Logging
import Metrics
import VigilBuild
import VigilHTTP
import VigilModel
import VigilProjections
import VigilStore

/// The series that describe the daemon's present state rather than count what happened (docs/metrics.md):
/// what build runs, whether it is healthy, how many alerts wait for an officer, how far the read models
/// trail the log. They are brought up to date at each scrape, from the same sources as `/healthz` and the
/// read API, so a scrape can never disagree with them.
struct StateMetrics: Sendable {
    let healthy: Gauge
    let projectionLag: Gauge
    let openAlerts: [AlertSeverity: Gauge]
    let residentMemory: Gauge
    let sqliteMemory: Gauge
    let logger: Logger

    init(factory: any MetricsFactory, logger: Logger) {
        Gauge(
            label: "vigil_build_info", dimensions: [("version", VigilBuild.version), ("commit", VigilBuild.commit)],
            factory: factory
        ).record(1)
        healthy = Gauge(label: "vigil_healthy", factory: factory)
        residentMemory = Gauge(label: "process_resident_memory_bytes", factory: factory)
        sqliteMemory = Gauge(label: "vigil_sqlite_memory_bytes", factory: factory)
        projectionLag = Gauge(label: "vigil_projection_lag_events", factory: factory)
        openAlerts = Dictionary(
            uniqueKeysWithValues: AlertSeverity.allCases.map { severity in
                (
                    severity,
                    Gauge(label: "vigil_alerts_open", dimensions: [("severity", severity.rawValue)], factory: factory)
                )
            })
        self.logger = logger
    }

    /// Reads the present state into the gauges. A read of the alerts that fails leaves their last values and
    /// is logged; the health gauge then still says what `/healthz` says.
    func refresh(health: HealthReport, logSize: Int64, projected: Int64, readModels: ReadModels) async {
        healthy.record(health.status == .ok ? 1 : 0)
        projectionLag.record(max(0, logSize - projected))
        if let resident = Self.residentBytes() { residentMemory.record(resident) }
        sqliteMemory.record(SQLiteMemory.bytesInUse)
        do {
            for (severity, count) in try await readModels.openAlertCounts() {
                openAlerts[severity]?.record(count)
            }
        } catch {
            logger.warning(
                "could not count open alerts for the metrics", metadata: ["error.type": "\(type(of: error))"])
        }
    }
}

extension StateMetrics {
    /// The process's resident set, from /proc/self/statm (its second field, in pages).
    static func residentBytes() -> Int64? {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let pages = statm.split(separator: " ").dropFirst().first.flatMap({ Int64($0) })
        else { return nil }
        return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// When the daemon last signed the log's head, and at what size (set by ``HeadSigningService``).
struct SignedHeadMetrics: Sendable {
    let time: Gauge
    let size: Gauge

    init(factory: any MetricsFactory) {
        time = Gauge(label: "vigil_log_signed_head_timestamp_seconds", factory: factory)
        size = Gauge(label: "vigil_log_signed_head_size", factory: factory)
    }

    func record(_ head: SignedHead) {
        time.record(Double(head.issuedAt.microsecondsSinceEpoch) / 1_000_000)
        size.record(head.size)
    }
}
