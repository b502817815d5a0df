package import VigilModel

/// The rows one group of appends adds to the log, worked out from the writer's state alone: what every backend
/// writes, so the entries, hashes and tree nodes are the same bytes whichever database holds them.
///
/// Each event is stored, found to be a duplicate (its id is stored with the same bytes: the original position
/// is answered), a conflict (its id is stored with other bytes) or refused by the key registry as it stands at
/// that event (a key registered or revoked earlier in the same group counts).
package struct AppendPlan: Sendable {
    /// An event as the log already holds it: what a duplicate is answered with.
    package struct Stored: Sendable {
        package var position: Int64
        package var envelope: [UInt8]
        package var chainHash: [UInt8]

        package init(position: Int64, envelope: [UInt8], chainHash: [UInt8]) {
            self.position = position
            self.envelope = envelope
            self.chainHash = chainHash
        }
    }

    /// A perfect subtree the tiles keep, completed by this group.
    package struct TreeNode: Sendable {
        package var level: Int
        package var index: UInt64
        package var hash: [UInt8]
    }

    /// The new entries, in position order.
    package private(set) var entries: [StoredEntry] = []
    package private(set) var treeNodes: [TreeNode] = []
    /// The key registrations and revocations among the new entries, by position.
    package private(set) var keyChanges: [(position: Int64, change: KeyChange)] = []
    /// The writer's state once these rows are stored.
    package private(set) var state: WriterState
    /// One outcome per event, per request, in order.
    package private(set) var outcomes: [[AppendOutcome]] = []

    /// Plans `requests` after `before`, stamped `recordedAt`; `stored` answers which ids the log holds already.
    package init(
        _ requests: [[VerifiedEvent]], from before: WriterState, recordedAt: Int64,
        stored: (EventID) throws -> Stored?
    ) rethrows {
        var state = before
        var entries: [StoredEntry] = []
        var treeNodes: [TreeNode] = []
        var keyChanges: [(position: Int64, change: KeyChange)] = []
        var outcomes: [[AppendOutcome]] = []
        let recordedTime = Timestamp(microsecondsSinceEpoch: recordedAt)
        // Ids stored earlier in this group, which the database does not know of yet.
        var added: [EventID: Stored] = [:]
        outcomes.reserveCapacity(requests.count)
        for events in requests {
            var results: [AppendOutcome] = []
            results.reserveCapacity(events.count)
            for event in events {
                let id = event.payload.id
                if let existing = try added[id] ?? stored(id) {
                    if existing.envelope == event.envelopeBytes {
                        results.append(.duplicate(position: existing.position, chainHash: existing.chainHash))
                    } else {
                        results.append(
                            .refused(
                                IngestError(
                                    .conflict,
                                    "event \(id) is already stored at position \(existing.position) with other bytes"
                                )))
                    }
                    continue
                }
                do throws(IngestError) {
                    try state.registry.authorize(event.envelope, payload: event.payload)
                } catch {
                    results.append(.refused(error))
                    continue
                }
                let position = state.head.size + 1
                let leaf = ChainHash.leafHash(position: position, recordedAt: recordedAt, envelope: event.envelopeBytes)
                let chain = ChainHash.chainHash(previous: state.head.chainHash, leaf: leaf)
                entries.append(
                    StoredEntry(
                        position: position, eventID: id, recordedAt: recordedAt, envelope: event.envelopeBytes,
                        leafHash: leaf, chainHash: chain))
                state.tree.append(leaf) { level, index, hash in
                    if level % LogTree.tileHeight == 0 {
                        treeNodes.append(TreeNode(level: level, index: index, hash: hash))
                    }
                }
                if let change = KeyChange(event.payload) {
                    keyChanges.append((position, change))
                    state.registry.apply(change, at: position)
                }
                added[id] = Stored(position: position, envelope: event.envelopeBytes, chainHash: chain)
                state.head = LogHead(size: position, chainHash: chain, lastRecordedAt: recordedAt)
                results.append(.stored(position: position, chainHash: chain, recordedAt: recordedTime))
            }
            outcomes.append(results)
        }
        self.state = state
        self.entries = entries
        self.treeNodes = treeNodes
        self.keyChanges = keyChanges
        self.outcomes = outcomes
    }

    /// The ids of every event in `requests`, once each: what to look up before planning.
    package static func ids(of requests: [[VerifiedEvent]]) -> [EventID] {
        var seen = Set<EventID>()
        var ids: [EventID] = []
        for events in requests {
            for event in events where seen.insert(event.payload.id).inserted { ids.append(event.payload.id) }
        }
        return ids
    }
}
