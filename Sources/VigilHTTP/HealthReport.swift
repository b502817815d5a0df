/// The daemon's state as reported by `/healthz`: a list of checks, and `ok` exactly when every one passes.
///
/// The checks themselves are made where their parts live (`HealthReport.daemon(...)` in VigilDaemon).
public struct HealthReport: Sendable {
    public enum Status: String, Sendable {
        case ok
        case degraded
    }

    public struct Check: Sendable {
        public var name: String
        public var ok: Bool
        public var detail: String

        public init(_ name: String, ok: Bool, _ detail: String) {
            self.name = name
            self.ok = ok
            self.detail = detail
        }
    }

    public var checks: [Check]

    public init(checks: [Check]) {
        self.checks = checks
    }

    /// Degraded as soon as any check fails: the status can never disagree with the checks.
    public var status: Status { checks.allSatisfy(\.ok) ? .ok : .degraded }
}
