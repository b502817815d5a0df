/// Waits that double between attempts, up to a ceiling: the one shape of every retry loop in Vigil (the views'
/// flushes, appending alerts, raising an integrity failure, webhook delivery).
///
/// ```swift
/// var backoff = Backoff(ceiling: .seconds(5))
/// while true {
///     do { return try await attempt() } catch { log(error) }
///     await backoff.wait()
/// }
/// ```
package struct Backoff: Sendable {
    /// The next wait.
    package private(set) var delay: Duration
    package let ceiling: Duration

    package init(first: Duration = .milliseconds(100), ceiling: Duration) {
        delay = min(first, ceiling)
        self.ceiling = ceiling
    }

    /// Sleeps for the current delay (returning early when the task is cancelled), then doubles it, up to the
    /// ceiling.
    package mutating func wait() async {
        try? await Task.sleep(for: next())
    }

    /// The current delay, doubling it (up to the ceiling) for next time, without sleeping: for a retry that is
    /// scheduled rather than waited for, such as a webhook delivery whose next attempt is a time in its outbox.
    package mutating func next() -> Duration {
        defer { delay = min(delay * 2, ceiling) }
        return delay
    }
}
