public import VigilModel

/// A reader token's role: what it may read (docs/protocol.md §4, "Reads").
public enum ReaderRole: String, Sendable, CaseIterable, Hashable {
    /// Everything.
    case officer
    /// The log (whole envelopes, clinical content included), its head, the inventory and the ledger.
    case auditor
    /// Health and metrics only.
    case ops
    /// The inventory, the ledger and the dose check: nothing clinical.
    case pharmacy
}

/// A reader token, kept only as the SHA-256 of the token text.
public struct TokenGrant: Sendable, Equatable {
    public var sha256: [UInt8]
    public var role: ReaderRole

    public init(sha256: [UInt8], role: ReaderRole) {
        self.sha256 = sha256
        self.role = role
    }
}

/// Everything vigild reads from its configuration (each key is commented in Config/vigil.yaml).
public struct VigilConfiguration: Sendable, Equatable {
    /// `database.path`: the SQLite event store file.
    public var databasePath: String
    /// `projections.path`: the read models' SQLite file; empty means beside the store
    /// (`vigil.sqlite` → `vigil.projections.sqlite`).
    public var projectionsPath: String
    /// `http.*`: the listeners and the limits of a request (restart-only).
    public var http: HTTPSettings
    /// `trust.adminKeys`: the roots of trust.
    public var adminAnchors: [TrustAnchor]
    /// `auth.tokens`
    public var tokens: [TokenGrant]
    /// `daemon.keyPath`: the daemon's own signing key, created on first start.
    public var daemonKeyPath: String
    /// `daemon.writerStallSeconds`: a commit running longer than this means the writer is wedged; health turns
    /// degraded and the systemd watchdog is no longer fed, so systemd restarts the daemon.
    public var writerStallSeconds: Int
    /// `limits.*`
    public var limits: ValidationLimits
    /// `log.level`: trace, debug, info, notice, warning, error or critical.
    public var logLevel: String
    /// `integrity.*`: the checks of the log and the read models (restart-only).
    public var integrity = IntegritySettings()
    /// `transparency.*`: checkpoints, witnesses and the public routes (restart-only).
    public var transparency = TransparencySettings()
    /// Each setting's effective value as text, keyed by setting (set by ``ConfigurationLoader``): what a reload
    /// compares to tell which settings changed.
    public var effective: [String: String] = [:]
    /// Not a file key: rebuild the read models from the log at start (`vigild --rebuild`).
    public var rebuildViews = false
    /// Not a file key: take the key at `daemon.keyPath` (or a new one) even though the store is signed with
    /// another, recording the rotation in the store (`vigild --new-daemon-key`).
    public var rotateDaemonKey = false
    /// `rules.*`: the safety thresholds.
    public var rules: RuleSettings = .default
    /// `alerts.webhook.*`: where alerts are POSTed and how their delivery is retried (restart-only).
    public var webhook = WebhookSettings()

    public init(
        databasePath: String, projectionsPath: String = "", http: HTTPSettings, adminAnchors: [TrustAnchor],
        tokens: [TokenGrant], daemonKeyPath: String, writerStallSeconds: Int = 20, limits: ValidationLimits,
        logLevel: String
    ) {
        self.databasePath = databasePath
        self.projectionsPath = projectionsPath
        self.http = http
        self.adminAnchors = adminAnchors
        self.tokens = tokens
        self.daemonKeyPath = daemonKeyPath
        self.writerStallSeconds = writerStallSeconds
        self.limits = limits
        self.logLevel = logLevel
    }
}

/// `http.*`: where vigild listens and what one request may take.
public struct HTTPSettings: Sendable, Equatable {
    /// `http.host`
    public var host: String
    /// `http.port`; 0 picks any free port (printed in the log).
    public var port: Int
    /// `http.maxBodyBytes`: the largest single-envelope request body.
    public var maxBodyBytes = 262_144
    /// `http.maxBatchBytes`: the largest batch request body.
    public var maxBatchBytes = 16 << 20
    /// `http.maxBatchItems`: the most envelopes in one batch.
    public var maxBatchItems = 1000
    /// `http.idleTimeoutSeconds`: a connection that sends nothing for this long is closed (headers included).
    public var idleTimeoutSeconds = 30
    /// `http.requestTimeoutSeconds`: a request body must arrive within this long (408 otherwise).
    public var requestTimeoutSeconds = 30
    /// `http.maxHeaderBytes`: the largest request head (larger: the connection is closed with 400).
    public var maxHeaderBytes = 16384
    /// `http.maxConnections`: connections served at once; more wait in the listen backlog.
    public var maxConnections = 1024
    /// `http.unixSocket`: also listen on this Unix socket (empty: no).
    public var unixSocket = ""
    /// `http.unixSocketMode`: the socket file's permission bits (octal), which limit who may connect.
    public var unixSocketMode: UInt16 = 0o660
    /// `http.unixSocketGroup`: the socket file's group (empty: the daemon's).
    public var unixSocketGroup = ""

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// `integrity.*`: how the log and the read models are checked, at start and while running.
public struct IntegritySettings: Sendable, Equatable {
    /// `integrity.startupCheck`: at start, verify the log from the last signed head (`tail`) or all of it (`full`).
    public var fullStartupCheck = false
    /// `integrity.verifyIntervalSeconds`: how often the log is verified from the last signed head while
    /// running (0: never).
    public var verifyIntervalSeconds = 300
    /// `integrity.viewsCheckIntervalSeconds`: how often the read models are checked against a replay of the log
    /// into a scratch file, in the background (0: never).
    public var viewsCheckIntervalSeconds = 86_400
    /// `integrity.backgroundShare`: the share of one core each background check may take while running (the
    /// periodic log check and the views check pause between chunks to stay under it).
    public var backgroundShare = 0.25

    public init() {}
}

/// `transparency.*`: the log's checkpoints, its witnesses and the routes that serve its hashes without a token.
public struct TransparencySettings: Sendable, Equatable {
    /// `transparency.origin`: the log's name in its checkpoints and the name of the daemon's note key
    /// (empty in the file: `<hostname>/vigil`).
    public var origin = "localhost/vigil"
    /// `transparency.publicRequestsPerSecond`: the rate the routes without a token (checkpoint, proofs, tiles)
    /// answer together, on average; bursts may reach twice it. Beyond it: 429.
    public var publicRequestsPerSecond = 500
    /// `transparency.checkpointIntervalSeconds`: how often vigild signs the log's head and a checkpoint of its
    /// tree (when the log has grown), and submits the checkpoint to the witnesses.
    public var checkpointIntervalSeconds = 60
    /// `transparency.witnesses`: the witnesses each new checkpoint is submitted to for cosigning.
    public var witnesses: [WitnessEndpoint] = []

    public init() {}
}

/// `alerts.webhook.*`: the webhook alerts are POSTed to, and how their delivery is retried.
public struct WebhookSettings: Sendable, Equatable {
    /// `alerts.webhook.url`: where alerts are POSTed (empty: no webhook).
    public var url = ""
    /// `alerts.webhook.severities`: which severities go to the webhook.
    public var severities: [AlertSeverity] = [.urgent, .critical]
    /// `alerts.webhook.maxAttempts`: attempts per alert before it is given up (logged as an error).
    public var maxAttempts = 8
    /// `alerts.webhook.retrySeconds`: the first retry's delay; each further one doubles, up to 5 minutes.
    public var retrySeconds: Double = 1
    /// `alerts.webhook.outboxPath`: the SQLite file that keeps alerts until the webhook has taken them; empty
    /// means beside the store (`vigil.sqlite` → `vigil.outbox.sqlite`).
    public var outboxPath = ""

    public init() {}
}

/// A transparency-log witness: where it listens (its submission prefix) and its cosigning key.
public struct WitnessEndpoint: Sendable, Equatable {
    public var url: String
    public var key: NoteKey

    public init(url: String, key: NoteKey) {
        self.url = url
        self.key = key
    }

    public static func == (lhs: WitnessEndpoint, rhs: WitnessEndpoint) -> Bool {
        lhs.url == rhs.url && lhs.key.verifierKey == rhs.key.verifierKey
    }
}

/// A configuration value that cannot be used, named by its key.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var message: String

    public init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { key.isEmpty ? message : "\(key): \(message)" }
}
