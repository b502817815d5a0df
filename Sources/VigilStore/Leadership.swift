import Synchronization

/// Whether this process is the node that runs the work that must run once for a log: appending the alerts the
/// rules decide, the deadline scheduler, checkpoint signing, witnesses and webhook delivery.
///
/// Every node of a shared database appends clients' events, follows the log into its own read models and decides
/// the same alerts from it (the rules are a function of the log); only the leader appends those alerts and does
/// the rest. On PostgreSQL the lead is a session advisory lock (``LogBackend/lead()``), asked for every
/// ``pollInterval``: when the leader's process dies its session ends, the lock is free, and another node takes it
/// at its next try. On an SQLite file the one process always leads (``sole``).
package final class Leadership: Sendable {
    private struct State {
        var leading: Bool
        var gained: [@Sendable () async -> Void] = []
    }

    private let state: Mutex<State>
    /// How often a node asks for the lead (or checks it still holds it).
    package static let pollInterval: Duration = .seconds(1)

    package init(leading: Bool) {
        state = Mutex(State(leading: leading))
    }

    /// A process that always leads: the only one that can write its log.
    package static func sole() -> Leadership { Leadership(leading: true) }

    /// Whether this node leads now.
    package var isLeading: Bool { state.withLock { $0.leading } }

    /// Calls `action` each time this node takes the lead (not for a lead held from the start).
    package func onGain(_ action: @escaping @Sendable () async -> Void) {
        state.withLock { $0.gained.append(action) }
    }

    /// Records the answer of one try (``LogBackend/lead()``): nil when nothing changed; when it did, the actions
    /// to run for a gain ([] for a loss). The caller runs them apart from its polling, so a slow one (an append
    /// waiting for the database) does not hold up the next try.
    package func update(leading: Bool) -> [@Sendable () async -> Void]? {
        state.withLock { state in
            guard state.leading != leading else { return nil }
            state.leading = leading
            return leading ? state.gained : []
        }
    }
}
