import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import VigilConfig
import VigilModel
import VigilSystemd

/// Reloads the configuration on SIGHUP without dropping a request.
///
/// Each setting is live or restart-only, as ``ConfigurationLoader/settings`` declares: the live ones (reader
/// tokens, plausibility limits, log level, safety rules) are swapped atomically, and requests in flight finish
/// with the values they started with; a restart-only one that changed keeps its running value, and a warning
/// names it. An invalid file is
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

    /// Swaps in the live settings and warns about every restart-only setting that now differs from the value
    /// the daemon started with (which it keeps).
    private func apply(_ next: VigilConfiguration, over current: VigilConfiguration) {
        settings.limits.value = next.limits
        settings.tokens.value = next.tokens
        settings.rules.value = next.rules
        settings.logLevel.level = Logger.Level(rawValue: next.logLevel) ?? .info
        let applied = ConfigurationLoader.changes(from: current, to: next).filter { $0.reload == .live }
        if !applied.isEmpty {
            logger.notice(
                "changed settings applied",
                metadata: ["config.applied": "\(applied.map(\.key).joined(separator: ", "))"])
        }
        let waiting = ConfigurationLoader.changes(from: running, to: next).filter { $0.reload == .restart }
        if !waiting.isEmpty {
            logger.warning(
                "changed settings take effect only after a restart; their running values stay",
                metadata: ["config.restartNeeded": "\(waiting.map(\.key).joined(separator: ", "))"]
            )
        }
    }
}
