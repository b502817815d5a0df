import ServiceLifecycle
import Synchronization
package import VigilProjections

/// Fans alerts out to live subscribers (the Server-Sent Events stream).
package final class AlertBroadcaster: Sendable {
    package enum Kind: String, Sendable {
        /// A new alert.
        case raised = "alert"
        /// An alert was acknowledged or resolved.
        case updated = "alert-updated"
    }

    package enum Message: Sendable {
        case alert(AlertView, position: Int64, kind: Kind)
        /// Keeps idle connections (and proxies) alive.
        case heartbeat
    }

    private let subscribers = Mutex<[Int: AsyncStream<Message>.Continuation]>([:])
    private let next = Atomic<Int>(0)

    package init() {}

    /// A stream of messages from now on; ends when the broadcaster finishes or the subscriber goes away.
    package func subscribe() -> AsyncStream<Message> {
        let (stream, continuation) = AsyncStream.makeStream(of: Message.self, bufferingPolicy: .bufferingNewest(1000))
        let id = next.add(1, ordering: .relaxed).newValue
        subscribers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in _ = self?.subscribers.withLock { $0.removeValue(forKey: id) } }
        return stream
    }

    package var subscriberCount: Int { subscribers.withLock { $0.count } }

    package func publish(_ alert: AlertView, position: Int64, kind: Kind) {
        send(.alert(alert, position: position, kind: kind))
    }

    package func heartbeat() {
        send(.heartbeat)
    }

    /// Ends every stream. The continuations are finished outside the lock: finishing one runs its
    /// `onTermination`, which takes the lock to remove it.
    package func finish() {
        let continuations = subscribers.withLock { table in
            defer { table.removeAll() }
            return Array(table.values)
        }
        for continuation in continuations { continuation.finish() }
    }

    private func send(_ message: Message) {
        let continuations = subscribers.withLock { Array($0.values) }
        for continuation in continuations { continuation.yield(message) }
    }
}

/// Heartbeats for the live stream every `interval`; ends all streams on graceful shutdown.
package struct AlertStreamService: Service {
    let broadcaster: AlertBroadcaster
    let interval: Duration

    package init(broadcaster: AlertBroadcaster, interval: Duration = .seconds(15)) {
        self.broadcaster = broadcaster
        self.interval = interval
    }

    package func run() async throws {
        defer { broadcaster.finish() }
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            broadcaster.heartbeat()
        }
    }
}
