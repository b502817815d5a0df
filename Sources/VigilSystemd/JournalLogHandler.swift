import CSystemd
import Glibc
package import Logging
import Synchronization

/// The daemon-wide log level, changeable at run time (a configuration reload).
package final class LogLevelControl: Sendable {
    private let current: Mutex<Logger.Level>

    package init(_ level: Logger.Level) {
        current = Mutex(level)
    }

    package var level: Logger.Level {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}

/// A swift-log handler that writes to the systemd journal natively (sd_journal_sendv).
///
/// Each entry has MESSAGE, PRIORITY (from the level), SYSLOG_IDENTIFIER, CODE_FILE/CODE_LINE/CODE_FUNC of the
/// Swift call site, and every metadata key as an upper-case `VIGIL_*` field (`alert.id` becomes `VIGIL_ALERT_ID`,
/// `alert.rule` becomes `VIGIL_ALERT_RULE`), so operators can filter:
/// `journalctl -u vigild VIGIL_ALERT_RULE=hypertension`.
///
/// Metadata keys are `component.field` (docs/operations.md, The journal). Release 0.9 logged the alerts' rule,
/// severity and participant as bare `rule`, `severity` and `participant`; their old fields (`VIGIL_RULE`,
/// `VIGIL_SEVERITY`, `VIGIL_PARTICIPANT`) are still written beside the new ones, so existing filters keep
/// working, until release 0.12.
package struct JournalLogHandler: LogHandler {
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let identifier: String
    private let control: LogLevelControl
    private var overrideLevel: Logger.Level?

    package init(label: String, identifier: String = "vigild", control: LogLevelControl) {
        self.label = label
        self.identifier = identifier
        self.control = control
    }

    package var logLevel: Logger.Level {
        get { overrideLevel ?? control.level }
        set { overrideLevel = newValue }
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The syslog priority of a level (journald's PRIORITY field).
    package static func priority(of level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// The fields an earlier release wrote for a key, still written beside the current one (until 0.12).
    static let legacyFields: [String: String] = [
        "alert.rule": "VIGIL_RULE", "alert.severity": "VIGIL_SEVERITY", "alert.participant": "VIGIL_PARTICIPANT",
    ]

    /// `alert.rule` → `VIGIL_ALERT_RULE`: upper case, anything else than letters and digits as `_`.
    package static func fieldName(for key: String) -> String {
        let cleaned = key.uppercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "_" }
        return String(("VIGIL_" + String(cleaned)).prefix(64))
    }

    package func log(event: LogEvent) {
        var fields: [String] = [
            "MESSAGE=\(event.message)",
            "PRIORITY=\(Self.priority(of: event.level))",
            "SYSLOG_IDENTIFIER=\(identifier)",
            "CODE_FILE=\(event.file)",
            "CODE_LINE=\(event.line)",
            "CODE_FUNC=\(event.function)",
            "VIGIL_LOGGER=\(label)",
            "VIGIL_SOURCE=\(event.source)",
        ]
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            fields.append("\(Self.fieldName(for: key))=\(value)")
            if let legacy = Self.legacyFields[key] { fields.append("\(legacy)=\(value)") }
        }
        if let error = event.error {
            fields.append("VIGIL_ERROR_TYPE=\(String(reflecting: type(of: error)))")
        }
        Self.send(fields)
    }

    /// Sends fields with sd_journal_sendv; values may contain newlines.
    static func send(_ fields: [String]) {
        var storage: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in fields {
            let start = storage.count
            storage.append(contentsOf: field.utf8)
            ranges.append(start..<storage.count)
        }
        storage.withUnsafeMutableBytes { bytes in
            let vectors = ranges.map { iovec(iov_base: bytes.baseAddress! + $0.lowerBound, iov_len: $0.count) }
            _ = sd_journal_sendv(vectors, Int32(vectors.count))
        }
    }
}

/// Readable console output (stderr) whose level follows a ``LogLevelControl``.
package struct ConsoleLogHandler: LogHandler {
    private var stream: StreamLogHandler
    private let control: LogLevelControl
    private var overrideLevel: Logger.Level?

    package init(label: String, control: LogLevelControl) {
        self.stream = StreamLogHandler.standardError(label: label)
        self.stream.logLevel = .trace
        self.control = control
    }

    package var logLevel: Logger.Level {
        get { overrideLevel ?? control.level }
        set { overrideLevel = newValue }
    }

    package var metadata: Logger.Metadata {
        get { stream.metadata }
        set { stream.metadata = newValue }
    }

    package var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { stream[metadataKey: key] }
        set { stream[metadataKey: key] = newValue }
    }

    package func log(event: LogEvent) {
        stream.log(event: event)
    }
}

/// Chooses where the daemon logs.
package enum VigilLogging {
    /// True when systemd started the process (JOURNAL_STREAM or INVOCATION_ID is set): log to the journal.
    package static var runningUnderSystemd: Bool {
        getenv("JOURNAL_STREAM") != nil || getenv("INVOCATION_ID") != nil
    }

    /// Bootstraps swift-log: the journal under systemd, readable console output otherwise.
    package static func bootstrap(control: LogLevelControl, journal: Bool = runningUnderSystemd) {
        LoggingSystem.bootstrap { label -> any LogHandler in
            if journal { return JournalLogHandler(label: label, control: control) }
            return ConsoleLogHandler(label: label, control: control)
        }
    }
}
