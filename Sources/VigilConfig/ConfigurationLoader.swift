import Configuration
import Foundation
import SystemPackage
import VigilModel
import Yams

/// Loads the configuration: `VIGIL_*` environment variables over the file over the embedded defaults.
///
/// Every key has an environment variable named `VIGIL_` + the key in upper case with dots as underscores
/// (`http.port` is `VIGIL_HTTP_PORT`, `trust.adminKeys` is `VIGIL_TRUST_ADMINKEYS`; lists comma-separated).
/// Unknown keys in the file are refused, so a misspelt setting never silently falls back to a default.
package enum ConfigurationLoader {
    /// Whether a changed setting takes effect on SIGHUP (`systemctl reload vigild`) or only at the next start.
    package enum Reload: String, Sendable {
        /// Applied on reload, atomically; requests in flight finish with the values they started with.
        case live
        /// Read once at start: a reload that changes it logs a warning naming it, and the running value stays.
        case restart
    }

    /// One configuration key: its embedded default (a value that runs as is for a local trial) and when a change
    /// to it takes effect.
    package struct Setting: Sendable {
        package var key: String
        package var defaultValue: String
        package var reload: Reload

        init(_ key: String, _ defaultValue: String, _ reload: Reload) {
            self.key = key
            self.defaultValue = defaultValue
            self.reload = reload
        }
    }

    /// Every key, declared once: its default and its reload class. Live: the reader tokens, the plausibility
    /// limits, the log level and the safety rules. Everything else (files, listeners, keys, the webhook, the
    /// integrity checks, the transparency log) is read at start.
    package static let settings: [Setting] = [
        Setting("database.path", "vigil-data/vigil.sqlite", .restart),
        Setting("database.url", "", .restart),
        Setting("database.passwordFile", "", .restart),
        Setting("projections.path", "", .restart),
        Setting("http.host", "127.0.0.1", .restart),
        Setting("http.port", "8470", .restart),
        Setting("http.maxBodyBytes", "262144", .restart),
        Setting("http.maxBatchBytes", "16777216", .restart),
        Setting("http.maxBatchItems", "1000", .restart),
        Setting("http.idleTimeoutSeconds", "30", .restart),
        Setting("http.requestTimeoutSeconds", "30", .restart),
        Setting("http.maxHeaderBytes", "16384", .restart),
        Setting("http.maxConnections", "1024", .restart),
        Setting("http.unixSocket", "", .restart),
        Setting("http.unixSocketMode", "0660", .restart),
        Setting("http.unixSocketGroup", "", .restart),
        Setting("trust.adminKeys", "", .restart),
        Setting("auth.tokens", "", .live),
        Setting("daemon.keyPath", "vigil-data/daemon.key", .restart),
        Setting("daemon.writerStallSeconds", "20", .restart),
        Setting("limits.maxDoseMg", "250", .live),
        Setting("limits.maxQuantityMg", "1000000", .live),
        Setting("limits.maxFutureSkewSeconds", "300", .live),
        Setting("log.level", "info", .live),
        Setting("integrity.startupCheck", "tail", .restart),
        Setting("integrity.verifyIntervalSeconds", "300", .restart),
        Setting("integrity.viewsCheckIntervalSeconds", "86400", .restart),
        Setting("integrity.backgroundShare", "0.25", .restart),
        Setting("transparency.origin", "", .restart),
        Setting("transparency.witnesses", "", .restart),
        Setting("transparency.publicRequestsPerSecond", "500", .restart),
        Setting("transparency.checkpointIntervalSeconds", "60", .restart),
        Setting("alerts.webhook.url", "", .restart),
        Setting("alerts.webhook.severities", "urgent,critical", .restart),
        Setting("alerts.webhook.maxAttempts", "8", .restart),
        Setting("alerts.webhook.retrySeconds", "1", .restart),
        Setting("alerts.webhook.outboxPath", "", .restart),
        Setting("rules.doseRegimen.initialDosesMg", "80,120", .live),
        Setting("rules.doseRegimen.maxSessionTotalMg", "180", .live),
        Setting("rules.supplementalTiming.minMinutes", "90", .live),
        Setting("rules.supplementalTiming.maxMinutes", "150", .live),
        Setting("rules.doseCount.maxPerSession", "2", .live),
        Setting("rules.doseCount.maxSessionsPerCourse", "3", .live),
        Setting("rules.sessionSpacing.minDays", "21", .live),
        Setting("rules.hypertension.systolic", "160", .live),
        Setting("rules.hypertension.diastolic", "100", .live),
        Setting("rules.hypertension.cautionSystolic", "140", .live),
        Setting("rules.hypertension.cautionDiastolic", "90", .live),
        Setting("rules.tachycardia.warnAbove", "100", .live),
        Setting("rules.tachycardia.urgentAbove", "120", .live),
        Setting("rules.tachycardia.urgentCount", "3", .live),
        Setting("rules.temperature.warnAtC", "38.0", .live),
        Setting("rules.temperature.urgentAboveC", "39.0", .live),
        Setting("rules.temperature.criticalAboveC", "40.0", .live),
        Setting("rules.expeditedReport.reminderDaySevenDay", "5", .live),
        Setting("rules.expeditedReport.reminderDayFifteenDay", "12", .live),
        Setting("rules.phq9.warnTotal", "15", .live),
        Setting("rules.followUp.days", "7", .live),
        Setting("rules.followUp.utcOffsetMinutes", "0", .live),
        Setting("rules.timeZone", "", .live),
        Setting("rules.dispenseWitnessRequired", "false", .live),
        Setting("rules.lowMood.windowDays", "3", .live),
        Setting("rules.lowMood.drop", "3", .live),
        Setting("rules.countDiscrepancy.toleranceMg", "0", .live),
        Setting("rules.inventoryOverdue.days", "730", .live),
    ]

    static let listKeys: Set<String> = [
        "transparency.witnesses", "trust.adminKeys", "auth.tokens", "alerts.webhook.severities",
        "rules.doseRegimen.initialDosesMg",
    ]

    /// The environment variable that overrides `key`.
    package static func environmentName(of key: String) -> String {
        "VIGIL_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    /// Loads the configuration.
    ///
    /// - Parameters:
    ///   - file: a YAML file, or nil for the embedded defaults alone.
    ///   - environment: the process environment (only `VIGIL_*` variables are read).
    package static func load(
        file: String?, environment: [String: String]
    ) async throws(ConfigurationError) -> VigilConfiguration {
        var providers: [any ConfigProvider] = []
        // Environment: map each key to VIGIL_ + KEY (dots to underscores, no camel-case splitting).
        let environmentProvider = EnvironmentVariablesProvider(
            environmentVariables: environment.filter { $0.key.hasPrefix("VIGIL_") }
        )
        .mapKeys { key in AbsoluteConfigKey(["vigil"] + key.components.map { $0.lowercased() }, context: key.context) }
        providers.append(environmentProvider)
        if let file {
            try checkFileKeys(file)
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(file)))
            } catch {
                throw ConfigurationError(key: "", "cannot read the configuration file \(file): \(error)")
            }
        }
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for setting in settings {
            let (key, value) = (setting.key, setting.defaultValue)
            values[AbsoluteConfigKey(stringLiteral: key)] =
                listKeys.contains(key)
                ? ConfigValue(.stringArray(value.split(separator: ",").map(String.init)), isSecret: false)
                : ConfigValue(.string(value), isSecret: false)
        }
        providers.append(InMemoryProvider(name: "embedded defaults", values: values))
        let reader = ConfigReader(providers: providers)
        var configuration = try parse(reader)
        configuration.effective = effectiveValues(reader)
        return configuration
    }

    /// Each setting's effective value as text (lists joined with commas), to tell which settings two loads
    /// disagree on. Only compared, never logged: the reader tokens are among them.
    static func effectiveValues(_ config: ConfigReader) -> [String: String] {
        Dictionary(
            uniqueKeysWithValues: settings.map { setting in
                let key = ConfigKey(setting.key)
                let value =
                    config.stringArray(forKey: key)?.joined(separator: ",") ?? config.string(forKey: key) ?? ""
                return (setting.key, value)
            })
    }

    /// The settings whose effective values differ between two loads, with when each takes effect.
    package static func changes(from old: VigilConfiguration, to new: VigilConfiguration) -> [Setting] {
        settings.filter { old.effective[$0.key] != new.effective[$0.key] }
    }

    /// Refuses keys the file sets that Vigil does not know.
    static func checkFileKeys(_ file: String) throws(ConfigurationError) {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigurationError(
                key: "", "cannot read the configuration file \(file): \(error.localizedDescription)")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError(key: "", "the configuration file \(file) is not valid YAML: \(error)")
        }
        guard let root else { return }
        guard let mapping = root.mapping else {
            throw ConfigurationError(key: "", "the configuration file \(file) must be a YAML mapping")
        }
        let known = Set(settings.map(\.key))
        var unknown: [String] = []
        func walk(_ mapping: Node.Mapping, prefix: String) {
            for (keyNode, value) in mapping {
                let key = prefix.isEmpty ? (keyNode.string ?? "?") : prefix + "." + (keyNode.string ?? "?")
                if let nested = value.mapping, !known.contains(key) {
                    walk(nested, prefix: key)
                } else if !known.contains(key) {
                    unknown.append(key)
                }
            }
        }
        walk(mapping, prefix: "")
        if let first = unknown.sorted().first {
            throw ConfigurationError(
                key: first, "unknown setting in \(file) (known settings: \(known.sorted().joined(separator: ", ")))")
        }
    }

    static func parse(_ config: ConfigReader) throws(ConfigurationError) -> VigilConfiguration {
        let root = Scope(config)
        func string(_ key: String) throws(ConfigurationError) -> String { try root.string(key) }
        func integer(_ key: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
            try root.integer(key, in: range)
        }
        func number(_ key: String, in range: ClosedRange<Double>) throws(ConfigurationError) -> Double {
            try root.number(key, in: range)
        }
        func list(_ key: String) throws(ConfigurationError) -> [String] { try root.list(key) }
        func path(_ key: String) throws(ConfigurationError) -> String { try root.path(key) }

        var anchors: [TrustAnchor] = []
        for (index, entry) in try list("trust.adminKeys").enumerated() {
            let parts = entry.split(separator: ":", maxSplits: 1)
            guard let key = Base64.decode(String(parts[0])), key.count == 32,
                (try? VerifyingKey(rawRepresentation: key)) != nil
            else {
                throw ConfigurationError(
                    key: "trust.adminKeys",
                    "entry \(index + 1) is not the standard base64 of a raw 32-byte Ed25519 public key (optionally followed by ':' and the holder's printed name)"
                )
            }
            let name =
                parts.count > 1
                ? String(parts[1]).trimmingCharacters(in: .whitespaces) : "trust anchor \(KeyID(publicKey: key).short)"
            anchors.append(TrustAnchor(publicKey: key, role: .admin, name: name))
        }
        var tokens: [TokenGrant] = []
        for (index, entry) in try list("auth.tokens").enumerated() {
            let parts = entry.split(separator: ":")
            guard parts.count == 2, parts[0].utf8.count == 64, let hash = Hex.decode(String(parts[0])),
                let role = ReaderRole(rawValue: String(parts[1]))
            else {
                throw ConfigurationError(
                    key: "auth.tokens",
                    "entry \(index + 1) must be SHA256HEX:ROLE with the SHA-256 of the token in hex and a role of officer, auditor, pharmacy or ops"
                )
            }
            tokens.append(TokenGrant(sha256: hash, role: role))
        }
        var rules = RuleSettings()
        rules.initialDosesMg = try list("rules.doseRegimen.initialDosesMg").map {
            text throws(ConfigurationError) -> Double in
            guard let value = Double(text), value > 0, value <= 1000 else {
                throw ConfigurationError(key: "rules.doseRegimen.initialDosesMg", "must be a list of doses in mg")
            }
            return value
        }
        rules.maxSessionTotalMg = try number("rules.doseRegimen.maxSessionTotalMg", in: 1...10_000)
        rules.supplementalMinMinutes = try number("rules.supplementalTiming.minMinutes", in: 0...1440)
        rules.supplementalMaxMinutes = try number("rules.supplementalTiming.maxMinutes", in: 0...1440)
        guard rules.supplementalMinMinutes <= rules.supplementalMaxMinutes else {
            throw ConfigurationError(key: "rules.supplementalTiming.minMinutes", "must not be above maxMinutes")
        }
        rules.maxDosesPerSession = try integer("rules.doseCount.maxPerSession", in: 1...100)
        rules.maxSessionsPerCourse = try integer("rules.doseCount.maxSessionsPerCourse", in: 1...100)
        rules.minDaysBetweenSessions = try number("rules.sessionSpacing.minDays", in: 0...3650)
        rules.hypertensionSystolic = try number("rules.hypertension.systolic", in: 40...300)
        rules.hypertensionDiastolic = try number("rules.hypertension.diastolic", in: 20...200)
        rules.cautionSystolic = try number("rules.hypertension.cautionSystolic", in: 40...300)
        rules.cautionDiastolic = try number("rules.hypertension.cautionDiastolic", in: 20...200)
        rules.tachycardiaWarnAbove = try number("rules.tachycardia.warnAbove", in: 20...300)
        rules.tachycardiaUrgentAbove = try number("rules.tachycardia.urgentAbove", in: 20...300)
        rules.tachycardiaUrgentCount = try integer("rules.tachycardia.urgentCount", in: 1...1000)
        rules.temperatureWarnAtC = try number("rules.temperature.warnAtC", in: 30...45)
        rules.temperatureUrgentAboveC = try number("rules.temperature.urgentAboveC", in: 30...45)
        rules.temperatureCriticalAboveC = try number("rules.temperature.criticalAboveC", in: 30...45)
        rules.reminderDayForSevenDayReports = try integer("rules.expeditedReport.reminderDaySevenDay", in: 0...7)
        rules.reminderDayForFifteenDayReports = try integer("rules.expeditedReport.reminderDayFifteenDay", in: 0...15)
        rules.phq9WarnTotal = try integer("rules.phq9.warnTotal", in: 0...27)
        rules.followUpDays = try integer("rules.followUp.days", in: 0...90)
        let zoneName = try string("rules.timeZone")
        if zoneName.isEmpty {
            rules.timeZone = CivilZone(utcOffsetMinutes: try integer("rules.followUp.utcOffsetMinutes", in: -840...840))
        } else {
            guard let zone = CivilZone(identifier: zoneName) else {
                throw ConfigurationError(key: "rules.timeZone", "must be an IANA time-zone name, such as Europe/Oslo")
            }
            rules.timeZone = zone
        }
        switch try string("rules.dispenseWitnessRequired") {
        case "true": rules.dispenseWitnessRequired = true
        case "false": rules.dispenseWitnessRequired = false
        default: throw ConfigurationError(key: "rules.dispenseWitnessRequired", "must be true or false")
        }
        rules.lowMoodWindowDays = try integer("rules.lowMood.windowDays", in: 0...90)
        rules.lowMoodDrop = try integer("rules.lowMood.drop", in: 1...10)
        rules.countToleranceMg = try number("rules.countDiscrepancy.toleranceMg", in: 0...1_000_000)
        rules.inventoryOverdueDays = try integer("rules.inventoryOverdue.days", in: 1...36_500)
        let logLevel = try string("log.level").lowercased()
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
            throw ConfigurationError(
                key: "log.level", "must be one of trace, debug, info, notice, warning, error, critical")
        }
        let limits = ValidationLimits(
            maxDose: Milligrams(try integer("limits.maxDoseMg", in: 1...100_000)),
            maxQuantity: Milligrams(try integer("limits.maxQuantityMg", in: 1...1_000_000_000)),
            maxFutureSkewSeconds: Int64(try integer("limits.maxFutureSkewSeconds", in: 0...86_400))
        )
        var configuration = VigilConfiguration(
            databasePath: try path("database.path"),
            projectionsPath: try string("projections.path"),
            http: try Self.http(root.scoped("http")),
            adminAnchors: anchors,
            tokens: tokens,
            daemonKeyPath: try path("daemon.keyPath"),
            writerStallSeconds: try integer("daemon.writerStallSeconds", in: 1...3600),
            limits: limits,
            logLevel: logLevel
        )
        configuration.databaseURL = try string("database.url")
        if !configuration.databaseURL.isEmpty,
            !configuration.databaseURL.hasPrefix("postgres://") && !configuration.databaseURL.hasPrefix("postgresql://")
        {
            throw ConfigurationError(
                key: "database.url", "must be a postgres:// URL, or empty for the SQLite file at database.path")
        }
        if !(try string("database.passwordFile")).isEmpty {
            configuration.databasePasswordFile = try path("database.passwordFile")
        }
        configuration.integrity = try Self.integrity(root.scoped("integrity"))
        configuration.transparency = try Self.transparency(root.scoped("transparency"))
        configuration.rules = rules
        configuration.webhook = try Self.webhook(root.scoped("alerts.webhook"))
        return configuration
    }

    /// `http.*`, read through the scoped reader of `http`.
    static func http(_ http: Scope) throws(ConfigurationError) -> HTTPSettings {
        var settings = HTTPSettings(host: try http.path("host"), port: try http.integer("port", in: 0...65_535))
        settings.maxBodyBytes = try http.integer("maxBodyBytes", in: 1024...(64 << 20))
        settings.maxBatchBytes = try http.integer("maxBatchBytes", in: 1024...(1 << 30))
        settings.maxBatchItems = try http.integer("maxBatchItems", in: 1...100_000)
        settings.idleTimeoutSeconds = try http.integer("idleTimeoutSeconds", in: 1...3600)
        settings.requestTimeoutSeconds = try http.integer("requestTimeoutSeconds", in: 1...3600)
        settings.maxHeaderBytes = try http.integer("maxHeaderBytes", in: 1024...(1 << 20))
        settings.maxConnections = try http.integer("maxConnections", in: 1...100_000)
        settings.unixSocket = try http.string("unixSocket")
        guard let mode = UInt16(try http.string("unixSocketMode"), radix: 8), mode <= 0o777 else {
            throw ConfigurationError(key: http.key("unixSocketMode"), "must be permission bits in octal, such as 0660")
        }
        settings.unixSocketMode = mode
        settings.unixSocketGroup = try http.string("unixSocketGroup")
        return settings
    }

    /// `integrity.*`, read through the scoped reader of `integrity`.
    static func integrity(_ integrity: Scope) throws(ConfigurationError) -> IntegritySettings {
        var settings = IntegritySettings()
        switch try integrity.string("startupCheck") {
        case "tail": settings.fullStartupCheck = false
        case "full": settings.fullStartupCheck = true
        default: throw ConfigurationError(key: integrity.key("startupCheck"), "must be tail or full")
        }
        settings.verifyIntervalSeconds = try integrity.integer("verifyIntervalSeconds", in: 0...86_400 * 7)
        settings.viewsCheckIntervalSeconds = try integrity.integer("viewsCheckIntervalSeconds", in: 0...86_400 * 31)
        settings.backgroundShare = try integrity.number("backgroundShare", in: 0.01...1)
        return settings
    }

    /// `transparency.*`, read through the scoped reader of `transparency`.
    static func transparency(_ transparency: Scope) throws(ConfigurationError) -> TransparencySettings {
        var settings = TransparencySettings()
        let origin = try transparency.string("origin")
        settings.origin = origin.isEmpty ? ProcessInfo.processInfo.hostName + "/vigil" : origin
        guard settings.origin.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "+" }) else {
            throw ConfigurationError(
                key: transparency.key("origin"),
                "must be printable ASCII without spaces or '+', such as clinic.example.org/vigil")
        }
        settings.publicRequestsPerSecond = try transparency.integer("publicRequestsPerSecond", in: 1...100_000)
        settings.checkpointIntervalSeconds = try transparency.integer("checkpointIntervalSeconds", in: 1...86_400)
        settings.witnesses = try transparency.list("witnesses").map { (entry) throws(ConfigurationError) in
            let parts = entry.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].hasPrefix("http://") || parts[0].hasPrefix("https://"),
                let key = try? NoteKey(verifierKey: String(parts[1])), key.kind == .cosignature
            else {
                throw ConfigurationError(
                    key: transparency.key("witnesses"),
                    "each witness is '<URL> <verifier key>', the key of type 0x04 that the witness prints at start")
            }
            let url = parts[0].hasSuffix("/") ? parts[0].dropLast() : parts[0]
            return WitnessEndpoint(url: String(url), key: key)
        }
        return settings
    }

    /// `alerts.webhook.*`, read through the scoped reader of `alerts.webhook`.
    static func webhook(_ webhook: Scope) throws(ConfigurationError) -> WebhookSettings {
        var settings = WebhookSettings()
        settings.severities = try webhook.list("severities").map { (name) throws(ConfigurationError) in
            guard let severity = AlertSeverity(rawValue: name) else {
                throw ConfigurationError(
                    key: webhook.key("severities"), "must list severities: info, warn, urgent, critical")
            }
            return severity
        }
        settings.url = try webhook.string("url")
        if !settings.url.isEmpty, !(settings.url.hasPrefix("http://") || settings.url.hasPrefix("https://")) {
            throw ConfigurationError(key: webhook.key("url"), "must be an http:// or https:// URL")
        }
        settings.maxAttempts = try webhook.integer("maxAttempts", in: 1...100)
        settings.retrySeconds = try webhook.number("retrySeconds", in: 0.01...3600)
        settings.outboxPath = try webhook.string("outboxPath")
        return settings
    }
}

/// The settings under one prefix (`http`, `alerts.webhook` ...), read through swift-configuration's scoped reader
/// for it, with typed getters whose errors name the full key.
struct Scope {
    let reader: ConfigReader
    let prefix: String

    init(_ reader: ConfigReader, prefix: String = "") {
        self.reader = reader
        self.prefix = prefix
    }

    /// The settings under `name`, relative to this scope.
    func scoped(_ name: String) -> Scope {
        Scope(reader.scoped(to: ConfigKey(name)), prefix: key(name))
    }

    /// The full key of `name`, for messages.
    func key(_ name: String) -> String { prefix.isEmpty ? name : prefix + "." + name }

    func string(_ name: String) throws(ConfigurationError) -> String {
        guard let value = reader.string(forKey: ConfigKey(name)) else {
            throw ConfigurationError(key: key(name), "must be a single value")
        }
        return value.trimmingCharacters(in: .whitespaces)
    }

    func integer(_ name: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let value = Int(try string(name)), range.contains(value) else {
            throw ConfigurationError(
                key: key(name), "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func number(_ name: String, in range: ClosedRange<Double>) throws(ConfigurationError) -> Double {
        guard let value = Double(try string(name)), value.isFinite, range.contains(value) else {
            throw ConfigurationError(key: key(name), "must be a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func list(_ name: String) throws(ConfigurationError) -> [String] {
        if let values = reader.stringArray(forKey: ConfigKey(name)) {
            return values.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        // A single scalar (for example from a one-item environment variable) is a one-item list.
        guard let single = reader.string(forKey: ConfigKey(name)) else {
            throw ConfigurationError(key: key(name), "must be a list")
        }
        return single.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func path(_ name: String) throws(ConfigurationError) -> String {
        let value = try string(name)
        guard !value.isEmpty else { throw ConfigurationError(key: key(name), "must not be empty") }
        return value
    }
}
