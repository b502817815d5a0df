package import VigilModel
package import VigilStore

/// One stored event, decoded: what projections and the safety rules consume.
package struct StoredEvent: Sendable {
    package var position: Int64
    package var recordedAt: Timestamp
    /// Who signed it: the author first, then the witnesses in order.
    package var signers: [KeyID]
    package var payload: EventPayload

    package init(position: Int64, recordedAt: Timestamp, signers: [KeyID], payload: EventPayload) {
        precondition(!signers.isEmpty, "an event has its author's signature")
        self.position = position
        self.recordedAt = recordedAt
        self.signers = signers
        self.payload = payload
    }

    package var author: KeyID { signers[0] }
    package var witnessCount: Int { signers.count - 1 }
}

/// Turns stored entries into decoded events, in parallel, and streams them in log order.
package enum LogReplay {
    /// Where a replay decodes the log.
    package enum Decoding: Sendable {
        /// On every core, as fast as it goes: a rebuild, an offline export or check.
        case everyCore
        /// On one thread of its own at a lower priority (nice 10): work the daemon does beside the requests, which
        /// must leave them the cores (the periodic views check, whose reads and writes of its scratch views go
        /// there too, and the exports it serves).
        case besideRequests

        /// Runs `body`, work that blocks its thread (a read or a write of SQLite, which runs on the calling
        /// thread), on a thread of its own: at a lower priority beside the requests.
        package func onThreadOfItsOwn<Output: Sendable>(
            _ body: @escaping @Sendable () throws -> Output
        ) async throws -> Output {
            try await Parallel.onThreadOfItsOwn(lowerPriority: self == .besideRequests) { Result(catching: body) }
                .get()
        }
    }

    /// Decodes entries (by default on every core); nil where an entry does not decode (the verifier would name it).
    package static func decode(_ entries: [StoredEntry], _ decoding: Decoding = .everyCore) async -> [StoredEvent?] {
        switch decoding {
        case .everyCore:
            await Parallel.map(entries, minimumChunk: 256) { decode($0) }
        case .besideRequests:
            await Parallel.onThreadOfItsOwn(lowerPriority: true) { entries.map { decode($0) } }
        }
    }

    /// Decodes one stored entry. It was validated when it was accepted, so its envelope is only skimmed for the
    /// payload and the signers (strictly decoded when the skim finds anything unexpected); the payload is decoded
    /// with the same rules as at ingest (`.replay`: no clock), so a stored event means what it meant then.
    package static func decode(_ entry: StoredEntry) -> StoredEvent? {
        let payloadBytes: [UInt8]
        let signers: [KeyID]
        if let skim = EnvelopeSkim.read(entry.envelope) {
            (payloadBytes, signers) = (skim.payload, skim.signers)
        } else if let envelope = try? Envelope.decode(entry.envelope) {
            (payloadBytes, signers) = (envelope.payload, envelope.signatures.map(\.keyID))
        } else {
            return nil
        }
        guard let payload = try? EventPayload.decode(payloadBytes, context: .replay) else { return nil }
        return StoredEvent(
            position: entry.position, recordedAt: Timestamp(microsecondsSinceEpoch: entry.recordedAt),
            signers: signers, payload: payload)
    }

    /// A chunk of the log: each entry with its decoded event (nil where it does not decode).
    package typealias Chunk = [(entry: StoredEntry, event: StoredEvent?)]

    /// Reads the log after `start` up to `end` (nil: its end when reached) in chunks that `fetch(after, limit)`
    /// returns, and hands each chunk to `body` in order. The next chunk is read and decoded (where `decoding` says)
    /// while `body` works on the current one.
    package static func stream(
        after start: Int64, upTo end: Int64? = nil, chunk: Int = 8192, decoding: Decoding = .everyCore,
        fetch: @escaping @Sendable (_ after: Int64, _ limit: Int) async throws -> [StoredEntry],
        _ body: (Chunk) async throws -> Void
    ) async throws {
        @Sendable func next(after position: Int64) async throws -> Chunk {
            let limit = end.map { Int(min(Int64(chunk), $0 - position)) } ?? chunk
            guard limit > 0 else { return [] }
            let entries = try await fetch(position, limit)
            return Array(zip(entries, await decode(entries, decoding)))
        }
        var current = try await next(after: start)
        while let last = current.last {
            if let end, last.entry.position >= end {
                // Nothing left to read: no task for a prefetch (following the log, most rounds are one chunk).
                try await body(current)
                return
            }
            let prefetch = Task { try await next(after: last.entry.position) }
            do {
                try await body(current)
            } catch {
                prefetch.cancel()
                throw error
            }
            current = try await prefetch.value
        }
    }

    /// Every trust anchor ever recorded, for the printed names of their signatures.
    package static func anchors(_ history: [AnchorChange]) -> [TrustAnchor] {
        var seen: [KeyID: TrustAnchor] = [:]
        for change in history where change.kind == .added { seen[change.anchor.keyID] = change.anchor }
        return seen.values.sorted { $0.keyID < $1.keyID }
    }
}
