import Foundation
import GRDB
package import VigilModel
package import VigilStore

/// Rebuilds the read models from the log, and checks views against a rebuild.
///
/// Both replay the log into a scratch file beside the views, in large transactions, decoding on every core
/// while applying (the daemon's periodic check: smaller ones, on threads of their own at a lower priority; see
/// ``LogReplay/Decoding``); memory stays bounded by the chunk size whatever the log's length. Views are compared
/// projection by projection with ``ViewDigest`` (their rows in key order) at the position the views claimed,
/// and a difference is named by table and key.
package enum ProjectionRebuild {
    package struct Report: Sendable {
        /// The log position the rebuild reached (or, for a check, the views' checkpoint it replayed to).
        package var position: Int64
        package var seconds: Double
        /// The views' checkpoint before the rebuild, if there were views of this version.
        package var previousPosition: Int64?
        /// Projections whose rows differ from a replay of the log up to `previousPosition`.
        package var mismatched: [Projection]
        /// For each mismatched projection, where it first differs.
        package var differences: [String]
        package var undecodable: [Int64]

        package var eventsPerSecond: Double { seconds > 0 ? Double(position) / seconds : 0 }
    }

    /// Events per transaction when replaying: 8192 offline, 1024 beside the requests, where the chunks read and
    /// decoded ahead are memory the daemon keeps (glibc does not give it back): at 8192 each views check of the soak
    /// raised its resident set by 80-90 MB.
    static func chunk(_ decoding: LogReplay.Decoding) -> Int {
        switch decoding {
        case .everyCore: 8192
        case .besideRequests: 1024
        }
    }

    /// Rebuilds the views at `projectionsPath` from the store: replays the log into a new file, compares it with
    /// the old views at their checkpoint, replays the rest, and puts the new file in place of the old one.
    ///
    /// Run it with the daemon stopped. The safety rules (`reactor`) run for the events after the position the
    /// old views had evaluated; alerts they decide wait in the new views' outbox for the daemon to append.
    package static func run(
        storePath: String, projectionsPath: String, settings: RuleSettings = .default,
        reactor: (any ProjectionReactor)? = nil, now: @escaping @Sendable () -> Timestamp = { SystemWallClock().now() }
    ) async throws -> Report {
        let reader = try LogReader(path: storePath)
        defer { reader.close() }
        let started = ContinuousClock.now
        let scratchPath = projectionsPath + ".rebuild"
        try removeDatabase(at: scratchPath)
        let scratch = try ProjectionDatabase.openScratch(path: scratchPath)
        var old: ProjectionDatabase?
        if FileManager.default.fileExists(atPath: projectionsPath) {
            let views = try ProjectionDatabase.open(path: projectionsPath)
            if views.createdEmpty { try views.close() } else { old = views }
        }
        var report = Report(
            position: 0, seconds: 0, previousPosition: nil, mismatched: [], differences: [], undecodable: [])
        do {
            var evaluated: Int64 = 0
            if let old {
                let previous = try await old.checkpoint()
                report.previousPosition = previous.position
                evaluated = previous.evaluated
                try await carryOutbox(from: old, to: scratch, evaluated: evaluated)
            }
            try await seed(scratch, anchors: LogReplay.anchors(try reader.anchorHistory()), settings: settings)
            if let old, let previous = report.previousPosition {
                report.position = try await replay(
                    reader, into: scratch, upTo: previous, evaluated: evaluated, settings: settings, reactor: reactor,
                    now: now, undecodable: &report.undecodable)
                if report.position == previous {
                    (report.mismatched, report.differences) = try await compare(old, scratch)
                } else {
                    // The old views claimed more of the log than it holds.
                    report.mismatched = Projection.allCases
                    report.differences = [
                        "the views' checkpoint \(previous) is beyond the log's end \(report.position)"
                    ]
                }
                try old.close()
            }
            report.position = try await replay(
                reader, into: scratch, upTo: nil, evaluated: evaluated, settings: settings, reactor: reactor, now: now,
                undecodable: &report.undecodable)
            try scratch.closeIntoOneFile()
        } catch {
            try? old?.close()
            try? scratch.close()
            try? removeDatabase(at: scratchPath)
            throw error
        }
        try removeDatabase(at: projectionsPath)
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: scratchPath + suffix) {
            try FileManager.default.moveItem(atPath: scratchPath + suffix, toPath: projectionsPath + suffix)
        }
        report.seconds = (ContinuousClock.now - started) / .seconds(1)
        return report
    }

    /// Checks the views at `projectionsPath` against the log: replays the log into a scratch file up to the
    /// views' checkpoint (as it is when the check starts) and compares. Nothing is changed; the daemon may run.
    package static func check(
        storePath: String, projectionsPath: String, scratchPath: String? = nil
    ) async throws -> Report {
        let views = try ProjectionDatabase.open(path: projectionsPath)
        defer { try? views.close() }
        return try await check(
            storePath: storePath, views: views, scratchPath: scratchPath ?? projectionsPath + ".check")
    }

    /// Checks open views against the store file at `storePath`, with a scratch file at `scratchPath`.
    package static func check(
        storePath: String, views: ProjectionDatabase, scratchPath: String
    ) async throws -> Report {
        let reader = try LogReader(path: storePath)
        defer { reader.close() }
        return try await check(log: reader, views: views, scratchPath: scratchPath)
    }

    /// Checks open views against the log `log` reads (the daemon's periodic check), with a scratch file at
    /// `scratchPath`, decoding the log as `decoding` says (the daemon's periodic check: beside the requests, on one
    /// thread at a lower priority; docs/benchmarks.md, "the views check beside the requests").
    ///
    /// The views' checkpoint and digests are read at the start in one short read transaction; the replay then goes
    /// on without holding the views still. (A reader held through the replay kept the views' write-ahead log from
    /// starting again: it grew by tens of megabytes during each check of the soak and was copied into the file in
    /// one burst after, and the requests waited on the disk.) Where a projection differs, the views are held still
    /// only then, and the scratch brought to their checkpoint by the few events since, to name the first row.
    package static func check(
        log reader: some LogSource, views: ProjectionDatabase, scratchPath: String,
        decoding: LogReplay.Decoding = .everyCore
    ) async throws -> Report {
        let started = ContinuousClock.now
        let (target, found) = try await digests(of: views, decoding)
        try removeDatabase(at: scratchPath)
        let scratch = try ProjectionDatabase.openScratch(path: scratchPath)
        defer {
            try? scratch.close()
            try? removeDatabase(at: scratchPath)
        }
        try await seed(scratch, anchors: LogReplay.anchors(try await reader.anchorHistory()), settings: .default)
        var report = Report(
            position: 0, seconds: 0, previousPosition: target, mismatched: [], differences: [], undecodable: [])
        func replayScratch(upTo end: Int64) async throws -> Int64 {
            try await replay(
                reader, into: scratch, upTo: end, evaluated: .max, settings: .default, reactor: nil,
                now: { SystemWallClock().now() }, decoding: decoding, undecodable: &report.undecodable)
        }
        report.position = try await replayScratch(upTo: target)
        if report.position == target {
            let expected = try await digests(of: scratch, decoding).digests
            report.mismatched = Projection.allCases.filter { expected[$0] != found[$0] }
        } else {
            report.mismatched = Projection.allCases
            report.differences = ["the views' checkpoint \(target) is beyond the log's end \(report.position)"]
        }
        if !report.mismatched.isEmpty && report.differences.isEmpty {
            let snapshot = try views.snapshot()
            let now = try await snapshot.read { try ViewTables($0).checkpoint().position }
            let caughtUp = try await replayScratch(upTo: now) == now
            for projection in report.mismatched {
                let difference =
                    caughtUp
                    ? try await snapshot.read { live in
                        try scratch.pool.read { rebuilt in try ViewDigest.firstDifference(projection, live, rebuilt) }
                    } : nil
                report.differences.append("\(projection.rawValue): \(difference ?? "rows differ")")
            }
        }
        report.seconds = (ContinuousClock.now - started) / .seconds(1)
        return report
    }

    /// The checkpoint of `views` and the digest of each projection, read in one transaction (beside the requests,
    /// at a lower priority).
    static func digests(
        of views: ProjectionDatabase, _ decoding: LogReplay.Decoding
    ) async throws -> (position: Int64, digests: [Projection: [UInt8]]) {
        @Sendable func read(_ tables: ViewTables) throws -> (position: Int64, digests: [Projection: [UInt8]]) {
            (try tables.checkpoint().position, try ViewDigest.of(tables.db))
        }
        return try await decoding.onThreadOfItsOwn { try views.readBlocking(read) }
    }

    // MARK: - Parts

    /// Applies the log after the scratch views' checkpoint up to `end` (nil: the end), one transaction per chunk.
    /// Returns the position reached.
    static func replay(
        _ reader: some LogSource, into views: ProjectionDatabase, upTo end: Int64?, evaluated: Int64,
        settings: RuleSettings, reactor: (any ProjectionReactor)?, now: @escaping @Sendable () -> Timestamp,
        decoding: LogReplay.Decoding = .everyCore, undecodable: inout [Int64]
    ) async throws -> Int64 {
        var position = try await views.checkpoint().position
        var skipped: [Int64] = []
        try await LogReplay.stream(
            after: position, upTo: end, chunk: chunk(decoding), decoding: decoding,
            fetch: { try await reader.entries(after: $0, limit: $1) }
        ) { chunk in
            let last = chunk.last!.entry.position
            try await decoding.onThreadOfItsOwn {
                try views.writeBlocking(settings: settings) { writer in
                    for (_, event) in chunk {
                        guard let event else { continue }
                        try writer.apply(event)
                        if let reactor, event.position > evaluated { try reactor.react(to: event, in: writer) }
                    }
                    try writer.setCheckpoint(
                        position: last, evaluated: reactor != nil ? max(evaluated, last) : min(evaluated, last),
                        now: now())
                }
            }
            skipped += chunk.filter { $0.event == nil }.map(\.entry.position)
            position = last
        }
        undecodable += skipped
        return position
    }

    static func seed(_ views: ProjectionDatabase, anchors: [TrustAnchor], settings: RuleSettings) async throws {
        try await views.write(settings: settings) { writer in
            for anchor in anchors { try writer.seed(anchor) }
        }
    }

    /// Keeps the alerts the old views had decided and not yet seen projected, and how far the rules had run.
    static func carryOutbox(from old: ProjectionDatabase, to new: ProjectionDatabase, evaluated: Int64) async throws {
        let rows = try await old.pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT alert_id, rule, severity, session, payload, stored FROM outbox ORDER BY seq"
            )
            .map { row in
                (row[0] as Data, row[1] as String, row[2] as String, row[3] as String?, row[4] as Data, row[5] as Bool)
            }
        }
        try await new.pool.write { db in
            for row in rows {
                try db.execute(
                    sql:
                        "INSERT INTO outbox (alert_id, rule, severity, session, payload, stored) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [row.0, row.1, row.2, row.3, row.4, row.5])
            }
            try db.execute(sql: "UPDATE checkpoint SET evaluated = ? WHERE id = 1", arguments: [evaluated])
        }
    }

    static func compare(_ old: ProjectionDatabase, _ new: ProjectionDatabase) async throws -> ([Projection], [String]) {
        let found = try await old.read { try ViewDigest.of($0.db) }
        let expected = try await new.read { try ViewDigest.of($0.db) }
        var mismatched: [Projection] = []
        var differences: [String] = []
        for projection in Projection.allCases where found[projection] != expected[projection] {
            mismatched.append(projection)
            let difference = try await old.pool.read { live in
                try new.pool.read { rebuilt in try ViewDigest.firstDifference(projection, live, rebuilt) }
            }
            differences.append("\(projection.rawValue): \(difference ?? "rows differ")")
        }
        return (mismatched, differences)
    }

    /// Removes a SQLite file with its WAL and shared-memory files.
    static func removeDatabase(at path: String) throws {
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.removeItem(atPath: path + suffix)
        }
    }
}
