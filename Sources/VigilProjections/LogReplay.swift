public import VigilModel
public import VigilStore

/// Turns stored entries into decoded events, in parallel, and feeds them to a state in order.
public enum LogReplay {
    /// Decodes entries on every core; nil where an entry does not decode (the verifier would name it).
    public static func decode(_ entries: [StoredEntry]) async -> [StoredEvent?] {
        await Parallel.map(entries, minimumChunk: 256) { entry in
            guard let envelope = try? Envelope.decode(entry.envelope),
                let payload = try? EventPayload.decode(envelope.payload, context: .replay)
            else { return nil }
            return StoredEvent(
                position: entry.position, recordedAt: Timestamp(microsecondsSinceEpoch: entry.recordedAt),
                envelope: envelope,
                payload: payload
            )
        }
    }

    /// Applies entries to `state`; returns the positions that did not decode.
    @discardableResult
    public static func apply(_ entries: [StoredEntry], to state: inout ProjectionState) async -> [Int64] {
        let events = await decode(entries)
        var undecodable: [Int64] = []
        for (entry, event) in zip(entries, events) {
            if let event {
                state.apply(event)
            } else {
                state.skip(to: entry.position)
                undecodable.append(entry.position)
            }
        }
        return undecodable
    }

    /// The initial state: every trust anchor ever recorded, for the printed names of their signatures.
    public static func initialState(anchors: [AnchorChange]) -> ProjectionState {
        var seen: [KeyID: TrustAnchor] = [:]
        for change in anchors where change.kind == .added { seen[change.anchor.keyID] = change.anchor }
        return ProjectionState(anchors: seen.values.sorted { $0.keyID < $1.keyID })
    }
}
