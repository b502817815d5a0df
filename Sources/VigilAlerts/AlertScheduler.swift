package import Logging
import ServiceLifecycle
package import VigilModel
package import VigilProjections
import VigilStore

/// Raises the time-driven alerts (missed follow-ups, expedited-report reminders and overdue reports, overdue
/// inventories) as their deadlines pass.
///
/// Deadlines come from the views (a due time per session's next follow-up day, per open expedited report and
/// per lot), once they have caught up with the log, and only those that have passed are read: a restart or a
/// rebuild loses none and repeats none, and a tick costs what is due. The clock is injected; tests move it. On a
/// database several nodes share, only the leader raises them.
package struct AlertScheduler: Service {
    let engine: AlertEngine
    let runner: ProjectionRunner
    let clock: any WallClock
    let interval: Duration
    let logger: Logger

    /// How often deadlines are looked at when nobody says otherwise: a follow-up missed at midnight is raised
    /// within half a minute.
    package static let defaultInterval: Duration = .seconds(30)

    package init(
        engine: AlertEngine, runner: ProjectionRunner, clock: any WallClock, interval: Duration = defaultInterval,
        logger: Logger
    ) {
        self.engine = engine
        self.runner = runner
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    package func run() async throws {
        while !Task.isShuttingDownGracefully {
            await tick()
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    /// Raises what is due now, when this node leads (``Leadership``) and its views have caught up with the log.
    /// Called every `interval`, and when this node takes the lead.
    package func tick() async {
        guard engine.leadership.isLeading, runner.currentStatus.caughtUp else { return }
        do {
            try await engine.checkDeadlines(now: clock.now())
        } catch {
            logger.error("the alert deadlines could not be checked", metadata: ["alert.error": "\(error)"])
        }
    }
}
