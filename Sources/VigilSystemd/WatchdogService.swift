package import Logging
import ServiceLifecycle

/// Pings the systemd watchdog at half of WATCHDOG_USEC, but only while the daemon makes progress.
///
/// `isHealthy` is asked before every ping. When it says no (the writer has been stuck in one commit for too
/// long), the pings stop, so systemd's WatchdogSec runs out and it restarts the daemon (Restart=on-failure).
package struct WatchdogService: Service {
    let notifier: SystemdNotifier
    let interval: Duration
    let isHealthy: @Sendable () -> Bool
    let logger: Logger

    /// - Parameter interval: WATCHDOG_USEC; pings go out every half of it.
    package init(
        notifier: SystemdNotifier, interval: Duration, isHealthy: @escaping @Sendable () -> Bool, logger: Logger
    ) {
        self.notifier = notifier
        self.interval = interval
        self.isHealthy = isHealthy
        self.logger = logger
    }

    package func run() async throws {
        let period = interval / 2
        var withholding = false
        logger.info(
            "watchdog enabled",
            metadata: [
                "watchdog.intervalMs":
                    "\(interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000)"
            ])
        while !Task.isShuttingDownGracefully {
            if isHealthy() {
                notifier.watchdog()
                if withholding {
                    logger.notice("daemon healthy again; watchdog pings resumed")
                    withholding = false
                }
            } else if !withholding {
                logger.critical("the writer is stalled; withholding watchdog pings so that systemd restarts the daemon")
                withholding = true
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: period) }
            } catch {
                return
            }
        }
    }
}
