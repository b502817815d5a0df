/// Says a recurring failure once, and its end once: for work retried on a timer (the store's and the views'
/// write-ahead log movers, the shared log's follower), so that a full disk or a database away is one warning and
/// one notice in the journal, not one per attempt.
///
/// ```swift
/// var streak = FailureStreak()
/// while running {
///     do {
///         try await attempt()
///         if streak.succeeded() { logger.notice("working again") }
///     } catch {
///         if streak.failed() { logger.warning("failing: \(error)") }
///     }
/// }
/// ```
package struct FailureStreak: Sendable {
    /// Whether the last attempt failed.
    package private(set) var failing = false

    package init() {}

    /// Records a failure; true for the first one since the last success (the one worth saying).
    package mutating func failed() -> Bool {
        defer { failing = true }
        return !failing
    }

    /// Records a success; true when it ends a run of failures.
    package mutating func succeeded() -> Bool {
        defer { failing = false }
        return failing
    }
}
