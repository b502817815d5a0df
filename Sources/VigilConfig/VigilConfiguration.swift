package import VigilModel

/// A reader token's role: what it may read (docs/protocol.md §4, "Reads").
package enum ReaderRole: String, Sendable, CaseIterable, Hashable {
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
package struct TokenGrant: Sendable, Equatable {
    package var sha256: [UInt8]
    package var role: ReaderRole

    package init(sha256: [UInt8], role: ReaderRole) {
        self.sha256 = sha256
        self.role = role
    }
}

/// Everything vigild reads from its configuration (each key is commented in Config/vigil.yaml).
package struct VigilConfiguration: Sendable, Equatable {
    /// `database.path`: the SQLite event store file; with ``databaseURL``, the base of this node's own files
    /// (read models, webhook outbox, the store lock).
    package var databasePath: String
    /// `database.url`: empty for the SQLite file at ``databasePath``, or the `postgres://` URL of the database
    /// that holds the log (never with a password).
    package var databaseURL = ""
    /// `database.passwordFile`: the file holding the database password, for ``databaseURL``.
    package var databasePasswordFile = ""
    /// `projections.path`: the read models' SQLite file; empty means beside the store
    /// (`vigil.sqlite` → `vigil.projections.sqlite`).
    package var projectionsPath: String
    /// `http.*`: the listeners and the limits of a request (restart-only).
    package var http: HTTPSettings
    /// `trust.adminKeys`: the roots of trust.
    package var adminAnchors: [TrustAnchor]
    /// `auth.tokens`
    package var tokens: [TokenGrant]
    /// `daemon.keyPath`: the daemon's own signing key, created on first start.
    package var daemonKeyPath: String
    /// `daemon.writerStallSeconds`: a commit running longer than this means the writer is wedged; health turns
    /// degraded and the systemd watchdog is no longer fed, so systemd restarts the daemon.
    package var writerStallSeconds: Int
    /// `limits.*`
    package var limits: ValidationLimits
    /// `log.level`: trace, debug, info, notice, warning, error or critical.
    package var logLevel: String
    /// `integrity.*`: the checks of the log and the read models (restart-only).
    package var integrity = IntegritySettings()
    /// `transparency.*`: checkpoints, witnesses and the public routes (restart-only).
    package var transparency = TransparencySettings()
    /// Each setting's effective value as text, keyed by setting (set by ``ConfigurationLoader``): what a reload
    /// compares to tell which settings changed.
    package var effective: [String: String] = [:]
    /// Not a file key: rebuild the read models from the log at start (`vigild --rebuild`).
    package var rebuildViews = false
    /// Not a file key: take the key at `daemon.keyPath` (or a new one) even though the store is signed with
    /// another, recording the rotation in the store (`vigild --new-daemon-key`).
    package var rotateDaemonKey = false
    /// `rules.*`: the safety thresholds.
    package var rules: RuleSettings = .default
    /// `alerts.webhook.*`: where alerts are POSTed and how their delivery is retried (restart-only).
    package var webhook = WebhookSettings()

    package init(
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
package struct HTTPSettings: Sendable, Equatable {
    /// `http.host`
    package var host: String
    /// `http.port`; 0 picks any free port (printed in the log).
    package var port: Int
    /// `http.maxBodyBytes`: the largest single-envelope request body.
    package var maxBodyBytes = 262_144
    /// `http.maxBatchBytes`: the largest batch request body.
    package var maxBatchBytes = 16 << 20
    /// `http.maxBatchItems`: the most envelopes in one batch.
    package var maxBatchItems = 1000
    /// `http.idleTimeoutSeconds`: a connection that sends nothing for this long is closed (headers included).
    package var idleTimeoutSeconds = 30
    /// `http.requestTimeoutSeconds`: a request body must arrive within this long (408 at a piece that comes later).
    package var requestTimeoutSeconds = 30
    /// `http.maxHeaderBytes`: the largest request head (larger: the connection is closed with 400).
    package var maxHeaderBytes = 16384
    /// `http.maxConnections`: connections served at once; more wait in the listen backlog.
    package var maxConnections = 1024
    /// `http.unixSocket`: also listen on this Unix socket (empty: no).
    package var unixSocket = ""
    /// `http.unixSocketMode`: the socket file's permission bits (octal), which limit who may connect.
    package var unixSocketMode: UInt16 = 0o660
    /// `http.unixSocketGroup`: the socket file's group (empty: the daemon's).
    package var unixSocketGroup = ""

    package init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// `integrity.*`: how the log and the read models are checked, at start and while running.
package struct IntegritySettings: Sendable, Equatable {
    /// `integrity.startupCheck`: at start, verify the log from the last signed head (`tail`) or all of it (`full`).
    package var fullStartupCheck = false
    /// `integrity.verifyIntervalSeconds`: how often the log is verified from the last signed head while
    /// running (0: never).
    package var verifyIntervalSeconds = 300
    /// `integrity.viewsCheckIntervalSeconds`: how often the read models are checked against a replay of the log
    /// into a scratch file, in the background (0: never).
    package var viewsCheckIntervalSeconds = 86_400
    /// `integrity.backgroundShare`: the share of one core each background check may take while running (the
    /// periodic log check and the views check pause between chunks to stay under it).
    package var backgroundShare = 0.25

    package init() {}
}

/// `transparency.*`: the log's checkpoints, its witnesses and the routes that serve its hashes without a token.
package struct TransparencySettings: Sendable, Equatable {
    /// `transparency.origin`: the log's name in its checkpoints and the name of the daemon's note key
    /// (empty in the file: `<hostname>/vigil`).
    package var origin = "localhost/vigil"
    /// `transparency.publicRequestsPerSecond`: the rate the routes without a token (checkpoint, proofs, tiles)
    /// answer together, on average; bursts may reach twice it. Beyond it: 429.
    package var publicRequestsPerSecond = 500
    /// `transparency.checkpointIntervalSeconds`: how often vigild signs the log's head and a checkpoint of its
    /// tree (when the log has grown), and submits the checkpoint to the witnesses.
    package var checkpointIntervalSeconds = 60
    /// `transparency.witnesses`: the witnesses each new checkpoint is submitted to for cosigning.
    package var witnesses: [WitnessEndpoint] = []

    package init() {}
}

/// `alerts.webhook.*`: the webhook alerts are POSTed to, and how their delivery is retried.
package struct WebhookSettings: Sendable, Equatable {
    /// `alerts.webhook.url`: where alerts are POSTed (empty: no webhook).
    package var url = ""
    /// `alerts.webhook.severities`: which severities go to the webhook.
    package var severities: [AlertSeverity] = [.urgent, .critical]
    /// `alerts.webhook.maxAttempts`: attempts per alert before it is given up (logged as an error).
    package var maxAttempts = 8
    /// `alerts.webhook.retrySeconds`: the first retry's delay; each further one doubles, up to 5 minutes.
    package var retrySeconds: Double = 1
    /// `alerts.webhook.outboxPath`: the SQLite file that keeps alerts until the webhook has taken them; empty
    /// means beside the store (`vigil.sqlite` → `vigil.outbox.sqlite`).
    package var outboxPath = ""

    package init() {}
}

/// A transparency-log witness: where it listens (its submission prefix) and its cosigning key.
package struct WitnessEndpoint: Sendable, Equatable {
    package var url: String
    package var key: NoteKey

    package init(url: String, key: NoteKey) {
        self.url = url
        self.key = key
    }

    package static func == (lhs: WitnessEndpoint, rhs: WitnessEndpoint) -> Bool {
        lhs.url == rhs.url && lhs.key.verifierKey == rhs.key.verifierKey
    }
}

/// A configuration value that cannot be used, named by its key.
package struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    package var key: String
    package var message: String

    package init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    package var description: String { key.isEmpty ? message : "\(key): \(message)" }
}
