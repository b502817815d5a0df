import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import VigilConfig
import VigilModel
import VigilSystemd

/// Reloads the configuration on SIGHUP without dropping a request.
///
/// The reloadable settings (reader tokens, plausibility limits, log level) are swapped atomically; requests
/// in flight finish with the values they started with. Settings that need a restart (store path, listen
/// address, trust anchors, daemon key) keep their running values and a warning says so. An invalid file is
/// refused with a clear log entry and the running configuration stays. systemd sees RELOADING=1, then READY=1.
struct ConfigReloadService: Service, CustomStringConvertible {
    let signals: UnixSignalsSequence
    let file: String?
    let running: VigilConfiguration
    let settings: Daemon.LiveSettings
    let notifier: SystemdNotifier
    let statusLine: @Sendable () -> String
    let logger: Logger

    /// What the service group logs; reflecting the signal sources and the live settings' locks is not safe.
    var description: String { "ConfigReloadService(file: \(file ?? "embedded defaults"))" }

    func run() async throws {
        var current = running
        for await _ in signals.cancelOnGracefulShutdown() {
            notifier.reloading()
            do {
                let next = try await ConfigurationLoader.load(
                    file: file, environment: ProcessInfo.processInfo.environment)
                apply(next, over: current)
                current = next
                logger.notice("configuration reloaded", metadata: ["config.file": "\(file ?? "embedded defaults")"])
            } catch {
                logger.error(
                    "configuration reload refused; the running configuration stays",
                    metadata: ["config.file": "\(file ?? "embedded defaults")", "config.error": "\(error)"]
                )
            }
            notifier.ready(status: statusLine())
        }
    }

    private func apply(_ next: VigilConfiguration, over current: VigilConfiguration) {
        settings.limits.value = next.limits
        settings.tokens.value = next.tokens
        settings.rules.value = next.rules
        settings.logLevel.level = Logger.Level(rawValue: next.logLevel) ?? .info
        var restartOnly: [String] = []
        if next.databasePath != running.databasePath { restartOnly.append("database.path") }
        if next.httpHost != running.httpHost || next.httpPort != running.httpPort {
            restartOnly.append("http.host/http.port")
        }
        if next.unixSocket != running.unixSocket || next.unixSocketMode != running.unixSocketMode
            || next.unixSocketGroup != running.unixSocketGroup
        {
            restartOnly.append("http.unixSocket")
        }
        if next.adminAnchors != running.adminAnchors { restartOnly.append("trust.adminKeys") }
        if next.daemonKeyPath != running.daemonKeyPath { restartOnly.append("daemon.keyPath") }
        if next.maxBodyBytes != running.maxBodyBytes || next.maxBatchBytes != running.maxBatchBytes
            || next.maxBatchItems != running.maxBatchItems || next.idleTimeoutSeconds != running.idleTimeoutSeconds
            || next.requestTimeoutSeconds != running.requestTimeoutSeconds
            || next.maxHeaderBytes != running.maxHeaderBytes || next.maxConnections != running.maxConnections
        {
            restartOnly.append("http limits")
        }
        if !restartOnly.isEmpty {
            logger.warning(
                "some changed settings take effect only after a restart; their running values stay",
                metadata: ["config.restart_needed": "\(restartOnly.joined(separator: ", "))"]
            )
        }
    }
}
