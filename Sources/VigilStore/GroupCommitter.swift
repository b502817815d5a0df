import Foundation
import Logging
import Metrics
import Synchronization
import VigilModel

/// Commits appends in groups: one transaction and one fsync for everything queued.
///
/// Leader and followers: the first caller to find no commit under way leads. It takes every queued request
/// (up to ``maximumEventsPerCommit``), commits them in one durable transaction, answers each, and hands the
/// lead to the oldest request still queued, so no caller serves others indefinitely. While one group
/// is being fsynced the next one queues, which is what lets many concurrent clients share each fsync.
final class GroupCommitter: Sendable {
    static let maximumEventsPerCommit = 8192

    private struct Request: Sendable {
        let events: [VerifiedEvent]
        let ticket: Ticket
    }

    private struct Queue {
        var pending: [Request] = []
        var leading = false
        var closed = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let backend: any LogBackend
    private let clock: any WallClock
    private let logger: Logger
    private let queue = Mutex(Queue())
    private let state: Mutex<WriterState>
    /// When the commit under way started (Unix microseconds), or nil when idle. Read by the watchdog.
    private let commitStartedAt = Mutex<Int64?>(nil)
    private let failure = Mutex<String?>(nil)

    private let metrics: StoreMetrics
    /// Followers of the head (projections): each gets the new size after every commit that stored something.
    private let followers = Mutex<[Int: AsyncStream<Int64>.Continuation]>([:])
    private let nextFollower = Atomic<Int>(0)

    init(backend: any LogBackend, state: WriterState, clock: any WallClock, logger: Logger, metrics: StoreMetrics) {
        self.backend = backend
        self.state = Mutex(state)
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        metrics.logSize.record(state.head.size)
    }

    var currentState: WriterState { state.withLock { $0 } }

    var commitInProgressSince: Int64? { commitStartedAt.withLock { $0 } }
    /// Why the last commit failed, until one succeeds.
    var lastCommitFailure: String? { failure.withLock { $0 } }

    /// The log size after each commit that stored something, starting with the current size. The stream
    /// keeps only the newest value, so a slow follower sees the latest head, never a backlog.
    func heads() -> AsyncStream<Int64> {
        let (stream, continuation) = AsyncStream.makeStream(of: Int64.self, bufferingPolicy: .bufferingNewest(1))
        let id = nextFollower.add(1, ordering: .relaxed).newValue
        followers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in _ = self?.followers.withLock { $0.removeValue(forKey: id) } }
        continuation.yield(currentState.head.size)
        return stream
    }

    /// Takes a state read from the database (another node's appends, ``LogBackend/newerState(than:)``) when it is
    /// beyond the one this writer knows, and tells the followers of the head.
    func observe(_ newer: WriterState) {
        advance(to: newer)
    }

    /// Moves the known state forward, never back: a commit that answers after another node's appends were
    /// observed leaves the newer state in place. Followers hear of every size the state grows to.
    private func advance(to newer: WriterState) {
        let grew = state.withLock { state -> Bool in
            guard newer.head.size > state.head.size else { return false }
            state = newer
            return true
        }
        guard grew else { return }
        metrics.logSize.record(newer.head.size)
        // The size now, read under the followers' lock: a commit and an observation that race yield in order, and
        // the last value a follower keeps is the largest.
        followers.withLock { followers in
            let size = state.withLock { $0.head.size }
            for continuation in followers.values { continuation.yield(size) }
        }
    }

    /// Stores `events` in order, each stored, reported as a duplicate, or refused on its own.
    func append(_ events: [VerifiedEvent]) async -> [AppendOutcome] {
        if events.isEmpty { return [] }
        let ticket = Ticket()
        enum Role { case lead, follow, closed }
        let role: Role = queue.withLock { queue in
            if queue.closed { return .closed }
            queue.pending.append(Request(events: events, ticket: ticket))
            if queue.leading { return .follow }
            queue.leading = true
            return .lead
        }
        switch role {
        case .closed:
            return events.map { _ in .refused(IngestError(.unavailable, "the store is shutting down; retry later")) }
        case .lead:
            await leadOneRound()
        case .follow:
            break
        }
        while true {
            switch await ticket.next() {
            case .done(let outcomes): return outcomes
            case .lead: await leadOneRound()
            }
        }
    }

    /// Refuses new appends and waits until every queued one is committed and answered.
    func close() async {
        // Finished outside the lock: finishing runs the stream's onTermination, which takes the lock to remove it.
        defer { for continuation in followers.withLock({ $0.values }) { continuation.finish() } }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = queue.withLock { queue -> Bool in
                queue.closed = true
                if queue.leading {
                    queue.idleWaiters.append(continuation)
                    return false
                }
                return true
            }
            if idle { continuation.resume() }
        }
    }

    private func leadOneRound() async {
        let batch: [Request] = queue.withLock { queue in
            var taken = 0
            var count = 0
            for request in queue.pending {
                if count > 0 && count + request.events.count > Self.maximumEventsPerCommit { break }
                count += request.events.count
                taken += 1
            }
            let batch = Array(queue.pending.prefix(taken))
            queue.pending.removeFirst(taken)
            return batch
        }
        if !batch.isEmpty {
            let outcomes = await commit(batch.map(\.events))
            for (request, outcome) in zip(batch, outcomes) {
                request.ticket.send(.done(outcome))
            }
        }
        let waiters: [CheckedContinuation<Void, Never>] = queue.withLock { queue in
            if let next = queue.pending.first {
                next.ticket.send(.lead)
                return []
            }
            queue.leading = false
            defer { queue.idleWaiters.removeAll() }
            return queue.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func commit(_ requests: [[VerifiedEvent]]) async -> [[AppendOutcome]] {
        let before = state.withLock { $0 }
        let now = clock.now().microsecondsSinceEpoch
        // recordedAt never goes backwards, even if the wall clock does.
        let recordedAt = max(now, before.head.lastRecordedAt)
        commitStartedAt.withLock { $0 = now }
        defer { commitStartedAt.withLock { $0 = nil } }
        let result: Result<(WriterState, [[AppendOutcome]]), any Error>
        do {
            result = .success(try await backend.commit(requests, from: before, recordedAt: recordedAt))
        } catch {
            result = .failure(error)
        }
        let elapsed = clock.now().microsecondsSinceEpoch - now
        switch result {
        case .success(let (after, outcomes)):
            failure.withLock { $0 = nil }
            metrics.commitDuration.recordNanoseconds(max(0, elapsed) * 1000)
            metrics.commitEvents.record(requests.reduce(0) { $0 + $1.count })
            advance(to: after)
            return outcomes
        case .failure(let error):
            metrics.commitFailures.increment()
            let code = backend.errorCode(of: error)
            logger.error(
                "commit failed; nothing in this group was stored",
                metadata: ["store.error": "\(code)", "store.events": "\(requests.reduce(0) { $0 + $1.count })"]
            )
            let message = backend.unavailableMessage(for: error)
            failure.withLock { $0 = message }
            return requests.map { events in events.map { _ in .refused(IngestError(.unavailable, message)) } }
        }
    }
}

/// The writer's metrics.
struct StoreMetrics: Sendable {
    let commitDuration: Metrics.Timer
    let commitEvents: Recorder
    let commitFailures: Counter
    let logSize: Gauge

    init(factory: any MetricsFactory) {
        commitDuration = Metrics.Timer(label: "vigil_store_commit_seconds", factory: factory)
        commitEvents = Recorder(label: "vigil_store_commit_events", aggregate: true, factory: factory)
        commitFailures = Counter(label: "vigil_store_commit_failures_total", factory: factory)
        logSize = Gauge(label: "vigil_log_size", factory: factory)
    }
}

/// A one-request mailbox: the leader either hands it the lead or its results.
private final class Ticket: Sendable {
    enum Signal: Sendable {
        case lead
        case done([AppendOutcome])
    }

    private struct State {
        var signals: [Signal] = []
        var waiter: CheckedContinuation<Signal, Never>?
    }

    private let state = Mutex(State())

    func send(_ signal: Signal) {
        let waiter: CheckedContinuation<Signal, Never>? = state.withLock { state in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.signals.append(signal)
            return nil
        }
        waiter?.resume(returning: signal)
    }

    func next() async -> Signal {
        await withCheckedContinuation { continuation in
            let ready: Signal? = state.withLock { state in
                if !state.signals.isEmpty { return state.signals.removeFirst() }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
