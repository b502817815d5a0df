/// The daemon's state as reported by `/healthz`: a list of checks, and `ok` exactly when every one passes.
///
/// The checks themselves are made where their parts live (`HealthReport.daemon(...)` in VigilDaemon).
package struct HealthReport: Sendable {
    package enum Status: String, Sendable {
        case ok
        case degraded
    }

    package struct Check: Sendable {
        package var name: String
        package var ok: Bool
        package var detail: String

        package init(_ name: String, ok: Bool, _ detail: String) {
            self.name = name
            self.ok = ok
            self.detail = detail
        }
    }

    package var checks: [Check]

    package init(checks: [Check]) {
        self.checks = checks
    }

    /// Degraded as soon as any check fails: the status can never disagree with the checks.
    package var status: Status { checks.allSatisfy(\.ok) ? .ok : .degraded }
}
