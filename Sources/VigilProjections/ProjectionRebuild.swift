import Foundation
public import VigilModel
import VigilStore

/// Rebuilds the read models from the log offline (`vigilctl rebuild`) and proves whether the rebuild
/// reproduced what was there: at the old checkpoint's position, each projection's digest is compared.
public enum ProjectionRebuild {
    public struct Report: Sendable {
        public var eventsReplayed: Int64
        public var seconds: Double
        /// The previous checkpoint's position, if there was one.
        public var previousPosition: Int64?
        /// Projections whose digest at the previous checkpoint differs from the one stored there.
        public var mismatched: [ProjectionState.Projection]
        public var undecodable: [Int64]
        public var digests: ProjectionDigests

        public var eventsPerSecond: Double { seconds > 0 ? Double(eventsReplayed) / seconds : 0 }
    }

    public static func run(
        storePath: String, projectionsPath: String, now: Timestamp = SystemWallClock().now()
    ) async throws -> Report {
        let reader = try LogReader(path: storePath)
        defer { reader.close() }
        let views = try ProjectionDatabase.open(path: projectionsPath)
        defer { try? views.close() }
        let previous = try await views.checkpoint()
        let started = ContinuousClock.now
        var state = LogReplay.initialState(anchors: try reader.anchorHistory())
        var undecodable: [Int64] = []
        var mismatched: [ProjectionState.Projection] = []
        // Replay up to the previous checkpoint (views of this schema version), compare digests there ...
        if let previous, previous.schemaVersion == ProjectionDatabase.schemaVersion {
            undecodable += try await LogReplay.replay(into: &state, upTo: previous.position) {
                try reader.entries(after: $0, limit: $1)
            }
            // A log shorter than the checkpoint means the views claimed what the log does not hold.
            mismatched =
                state.position == previous.position
                ? compare(state, with: previous) : ProjectionState.Projection.allCases
        }
        // ... then the rest of the log.
        undecodable += try await LogReplay.replay(into: &state) { try reader.entries(after: $0, limit: $1) }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        _ = state.takeChanges()
        try await views.reset()
        var digests = ProjectionDigests()
        var documents: [ProjectionState.Projection: [(key: String, bytes: [UInt8]?, state: ViewColumns)]] = [:]
        for projection in ProjectionState.Projection.allCases {
            documents[projection] = state.keys(projection).sorted().map { key in
                (
                    key, digests.update(projection, key: key, document: state.document(projection, key: key)),
                    ViewColumns.of(projection, key: key, in: state)
                )
            }
        }
        try await views.write(documents, position: state.position, digests: digests, now: now)
        return Report(
            eventsReplayed: state.position, seconds: seconds, previousPosition: previous?.position,
            mismatched: mismatched,
            undecodable: undecodable, digests: digests
        )
    }

    static func compare(
        _ state: ProjectionState, with checkpoint: ProjectionDatabase.Checkpoint
    ) -> [ProjectionState.Projection] {
        let digests = ProjectionDigests.of(state)
        return ProjectionState.Projection.allCases.filter {
            digests.digest($0) != (checkpoint.digests[$0] ?? ProjectionDigest())
        }
    }
}
