import Foundation
package import GRDB
import Synchronization
import VigilModel

/// Copies a WAL database's write-ahead log into its file beside the writer, for databases opened with
/// `PRAGMA wal_autocheckpoint = 0` (``disableAutomaticCheckpoints(_:)``). SQLite's automatic checkpoint runs inside
/// the commit that crosses its threshold (1000 pages), which then returns only once the log is copied and the whole
/// file synced: an append waited for it before its acknowledgement, and a flush of the views delayed the alerts
/// decided in it.
///
/// ``move(restartingPast:)`` copies what the log holds into the file (a passive checkpoint) on a connection of its
/// own: it takes no writer lock, so commits go on meanwhile and never pay for the file's sync. That alone does not
/// keep the log short: SQLite starts the log again from its beginning only when a write begins with every frame of
/// it copied, and under steady commits one more has always been appended by the time a checkpoint beside them ends
/// (the views' log grew to 7.5 GB in 20 minutes at 600 events/s; docs/benchmarks.md). So when more than
/// `restartingPast` frames are left in the log, the writer's own connection, between two commits, copies the little
/// left and starts the log again (a restart checkpoint). It waits at most ``restartWait`` for readers of older
/// snapshots to finish; past that the log is left as it is and the next call tries again.
package final class WriteAheadLogMover: Sendable {
    let path: String
    let writer: DatabasePool
    let label: String
    /// The writer's busy timeout in seconds, set again after a restart (which waits ``restartWait`` at most).
    let busyTimeout: Double
    /// The connection of its own for passive checkpoints, opened when first needed; nil once closed.
    private let connection = Mutex<(queue: DatabaseQueue?, closed: Bool)>((nil, false))
    /// The move ``moveInBackground(atMostEvery:failed:recovered:)`` started last, when, whether it still runs, and
    /// whether the last ones failed.
    private let background = Mutex<
        (task: Task<Void, Never>?, started: ContinuousClock.Instant?, running: Bool, streak: FailureStreak)
    >((nil, nil, false, FailureStreak()))

    /// Frames (pages) the log may hold before a move starts it again: about 16 MB, a few seconds of commits at the
    /// soak's rate.
    package static let restartFrames = 4096

    /// How long a restart may hold the writer back waiting for readers.
    package static let restartWait = Duration.milliseconds(10)

    package init(path: String, writer: DatabasePool, label: String, busyTimeout: Double) {
        self.path = path
        self.writer = writer
        self.label = label
        self.busyTimeout = busyTimeout
    }

    /// For a `prepareDatabase` of a database whose log a mover copies: no checkpoint at commit.
    package static func disableAutomaticCheckpoints(_ db: Database) throws {
        try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
    }

    /// Copies the log into the file, and starts the log again when it holds more than `frames` frames. Does nothing
    /// once closed.
    package func move(restartingPast frames: Int = WriteAheadLogMover.restartFrames) async throws {
        let opened = try connection.withLock { state -> DatabaseQueue? in
            if state.closed { return nil }
            if let queue = state.queue { return queue }
            var configuration = Configuration()
            configuration.label = label
            configuration.busyMode = .timeout(busyTimeout)
            configuration.prepareDatabase { db in
                // A checkpoint syncs the file before the log may start again over the frames it copied, unless its
                // connection syncs nothing: an acknowledged append must survive a power loss.
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            state.queue = queue
            return queue
        }
        guard let opened else { return }
        let left: Int
        do {
            left = try await opened.writeWithoutTransaction { db in try db.checkpoint(.passive) }.walFrameCount
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            // Another checkpoint ran, or its read of the log's header met a commit writing it (SQLite then needs the
            // writer's lock, which a passive checkpoint does not wait for): the next call copies what this did not.
            return
        }
        guard left > frames else { return }
        try await writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA busy_timeout = \(Int(Self.restartWait / .milliseconds(1)))")
            defer { try? db.execute(sql: "PRAGMA busy_timeout = \(Int(self.busyTimeout * 1000))") }
            do {
                _ = try db.checkpoint(.restart)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                // A reader is still on an older snapshot: everything it allowed was copied; restart next time.
            }
        }
    }

    /// Starts ``move(restartingPast:)`` in the background unless one is running or one started less than `interval`
    /// ago: for an owner that calls it after each commit. A move that fails is tried again by a later call. `failed`
    /// hears of the first failure only, and `recovered` of the first move that succeeds after failures: on a full
    /// disk the owner reports it once, not once per interval.
    package func moveInBackground(
        atMostEvery interval: Duration, failed: @escaping @Sendable (any Error) -> Void,
        recovered: @escaping @Sendable () -> Void
    ) {
        let now = ContinuousClock.now
        background.withLock { state in
            if state.running { return }
            if let started = state.started, now - started < interval { return }
            state.started = now
            state.running = true
            state.task = Task.detached { [self] in
                let error: (any Error)?
                do {
                    try await move()
                    error = nil
                } catch let failure {
                    error = failure
                }
                let (first, ended) = background.withLock { state in
                    state.running = false
                    return error == nil ? (false, state.streak.succeeded()) : (state.streak.failed(), false)
                }
                if let error, first { failed(error) }
                if ended { recovered() }
            }
        }
    }

    /// Waits for a background move to end and closes the mover's connection; later moves do nothing.
    package func close() async throws {
        await background.withLock { $0.task }?.value
        try closeNow()
    }

    /// Closes the mover's connection without waiting, for owners that never move in the background.
    package func closeNow() throws {
        try connection.withLock { state in
            state.closed = true
            try state.queue?.close()
            state.queue = nil
        }
    }
}
