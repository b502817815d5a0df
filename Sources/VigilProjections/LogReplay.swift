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

    /// Applies every entry after `state`'s position up to `end` (nil: to the end of the log), in chunks that
    /// `fetch(after, limit)` reads; each chunk is decoded on every core while the one before it is applied.
    /// Returns the positions that did not decode.
    public static func replay(
        into state: inout ProjectionState, upTo end: Int64? = nil, chunk: Int = 8192,
        fetch: (_ after: Int64, _ limit: Int) async throws -> [StoredEntry]
    ) async throws -> [Int64] {
        func next(after position: Int64) async throws -> [StoredEntry] {
            let limit = end.map { Int(min(Int64(chunk), $0 - position)) } ?? chunk
            return limit > 0 ? try await fetch(position, limit) : []
        }
        var undecodable: [Int64] = []
        var entries = try await next(after: state.position)
        var decoding = entries.isEmpty ? nil : Task { [entries] in await decode(entries) }
        while let current = decoding {
            let applying = entries
            let events = await current.value
            entries = try await next(after: applying.last!.position)
            decoding = entries.isEmpty ? nil : Task { [entries] in await decode(entries) }
            for (entry, event) in zip(applying, events) {
                if let event {
                    state.apply(event)
                } else {
                    state.skip(to: entry.position)
                    undecodable.append(entry.position)
                }
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
