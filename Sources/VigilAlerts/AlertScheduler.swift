public import Logging
public import ServiceLifecycle
public import VigilModel
public import VigilProjections

/// Raises the time-driven alerts (missed follow-ups, expedited-report reminders and overdue reports,
/// overdue inventories) as their deadlines pass.
///
/// Deadlines come from the read models once they have caught up with the log, never from memory of its own,
/// so a restart or a rebuild loses none and repeats none. The clock is injected; tests move it.
public struct AlertScheduler: Service {
    let engine: AlertEngine
    let runner: ProjectionRunner
    let clock: any WallClock
    let interval: Duration
    let logger: Logger

    public init(
        engine: AlertEngine, runner: ProjectionRunner, clock: any WallClock, interval: Duration = .seconds(30),
        logger: Logger
    ) {
        self.engine = engine
        self.runner = runner
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully {
            if runner.currentStatus.caughtUp, let state = runner.state {
                await engine.checkDeadlines(state: state, now: clock.now())
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}
