import Foundation
import GRDB
import Synchronization
package import VigilModel

/// The log's Merkle tree as the store keeps it (RFC 9162, C2SP tlog-tiles).
///
/// Level 0 is the entries' leaf hashes (`events.leaf_hash`, leaf `i` at position `i + 1`). The writer stores
/// every perfect subtree of `256^k` leaves (k >= 1) in `tree_nodes` as it completes, in the transaction of
/// the entry that completes it: those are exactly the hashes of the C2SP tiles above level 0. Any other
/// subtree is hashed from at most 128 stored hashes, so a root or a proof costs O(log n) reads.
package enum LogTree {
    /// The tree levels stored: multiples of 8 (a tile spans 8 levels).
    package static let tileHeight = 8

    static func insertNode(level: Int, index: UInt64, hash: [UInt8], db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)")
            .execute(arguments: [level, Int64(index), Data(hash)])
    }

    /// Stores a subtree the frontier completed, if it is one the tiles hold.
    static func record(level: Int, index: UInt64, hash: [UInt8], db: Database) throws {
        if level % tileHeight == 0 { try insertNode(level: level, index: index, hash: hash, db: db) }
    }

    /// Builds `tree_nodes` from the leaf hashes of an existing store (the migration that adds the tree).
    static func backfill(_ db: Database) throws {
        var frontier = MerkleFrontier()
        let rows = try Row.fetchCursor(db, sql: "SELECT leaf_hash FROM events ORDER BY position")
        while let row = try rows.next() {
            try frontier.append([UInt8](row[0] as Data)) { level, index, hash in
                try record(level: level, index: index, hash: hash, db: db)
            }
        }
    }

    /// Reads stored hashes: `count` consecutive ones at a stored `level` from `first`.
    static func storedHashes(level: Int, first: UInt64, count: Int, db: Database) throws -> [[UInt8]] {
        precondition(level % tileHeight == 0)
        let statement = try db.cachedStatement(
            sql: level == 0
                ? "SELECT leaf_hash FROM events WHERE position > ? AND position <= ? ORDER BY position"
                : "SELECT hash FROM tree_nodes WHERE level = \(level) AND idx >= ? AND idx < ? ORDER BY idx")
        let lower = Int64(first)
        let upper = Int64(first) + Int64(count)
        var hashes: [[UInt8]] = []
        hashes.reserveCapacity(count)
        let rows = try Row.fetchCursor(statement, arguments: [lower, upper])
        while let row = try rows.next() { hashes.append([UInt8](row[0] as Data)) }
        guard hashes.count == count, hashes.allSatisfy({ $0.count == 32 }) else {
            throw StoreError(
                .corrupt,
                "the tree's level \(level) lacks hashes \(first)..<\(first + UInt64(count)) or holds a bad one")
        }
        return hashes
    }

    /// Where a perfect subtree's hash is read from: the stored level below it (a multiple of ``tileHeight``)
    /// and the run of consecutive hashes there that it spans.
    package struct Span: Hashable, Sendable {
        package var level: Int
        package var first: UInt64
        package var count: Int

        package init(level: Int, index: UInt64) {
            self.level = level - level % tileHeight
            first = index << UInt64(level - self.level)
            count = 1 << (level - self.level)
        }

        /// `count` consecutive stored hashes of a stored `level` from `first`.
        package init(level: Int, first: UInt64, count: Int) {
            self.level = level
            self.first = first
            self.count = count
        }
    }

    /// The root of consecutive perfect subtrees of equal size (a span's hashes).
    package static func reduce(_ hashes: [[UInt8]]) -> [UInt8] {
        var hashes = hashes
        while hashes.count > 1 {
            hashes = stride(from: 0, to: hashes.count, by: 2).map { MerkleTree.nodeHash(hashes[$0], hashes[$0 + 1]) }
        }
        return hashes[0]
    }

    /// Perfect subtrees read through a database connection.
    struct Nodes: MerkleNodeSource {
        let db: Database

        func hash(level: Int, index: UInt64) throws -> [UInt8] {
            let span = Span(level: level, index: index)
            return reduce(try storedHashes(level: span.level, first: span.first, count: span.count, db: db))
        }
    }

    /// Runs a tree computation over hashes read in one go: once against placeholders, noting the spans it
    /// reads (which depend on the sizes and positions asked for, never on the hashes), then over those spans
    /// as `fetch` reads them. For a database where each read is a round trip.
    package static func prefetched<T>(
        _ body: (StoredNodes) throws -> T, fetch: ([Span]) async throws -> [Span: [[UInt8]]]
    ) async throws -> T {
        let noted = NotedSpans()
        _ = try body(StoredNodes(noted))
        let spans = try await fetch(Array(noted.spans.withLock { $0 }))
        for (span, hashes) in spans where hashes.count != span.count || !hashes.allSatisfy({ $0.count == 32 }) {
            throw StoreError(
                .corrupt,
                "the tree's level \(span.level) lacks hashes \(span.first)..<\(span.first + UInt64(span.count)) or holds a bad one"
            )
        }
        return try body(StoredNodes(FetchedSpans(spans: spans)))
    }

    private final class NotedSpans: MerkleNodeSource, Sendable {
        let spans = Mutex<Set<Span>>([])

        func hash(level: Int, index: UInt64) throws -> [UInt8] {
            _ = spans.withLock { $0.insert(Span(level: level, index: index)) }
            return [UInt8](repeating: 0, count: 32)
        }
    }

    private struct FetchedSpans: MerkleNodeSource {
        let spans: [Span: [[UInt8]]]

        func hash(level: Int, index: UInt64) throws -> [UInt8] {
            let span = Span(level: level, index: index)
            guard let hashes = spans[span] else {
                throw StoreError(.corrupt, "the tree's level \(span.level) lacks hashes from \(span.first)")
            }
            return reduce(hashes)
        }
    }
}

/// Any source of the tree's perfect subtrees, as one type (the backends' own sources differ).
package struct StoredNodes: MerkleNodeSource {
    let base: any MerkleNodeSource

    package init(_ base: any MerkleNodeSource) {
        self.base = base
    }

    package func hash(level: Int, index: UInt64) throws -> [UInt8] {
        try base.hash(level: level, index: index)
    }
}

/// One C2SP tile: its level, its index in the level, and its width (256 for a full tile).
package struct TileAddress: Sendable, Equatable {
    package var level: Int
    package var index: UInt64
    package var width: Int

    package init(level: Int, index: UInt64, width: Int) {
        self.level = level
        self.index = index
        self.width = width
    }

    /// Reads a tile path after `tile/`: `<L>/<N>` or `<L>/<N>.p/<W>`, N in 3-digit elements with `x` on all
    /// but the last (`x001/x234/067`). Nil for anything else, including leading zeros and `entries`.
    package init?(path: String) {
        var elements = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard elements.count >= 2, let level = Self.decimal(elements[0]), level < 64 else { return nil }
        elements.removeFirst()
        var width = 256
        if elements.count >= 2, elements[elements.count - 2].hasSuffix(".p") {
            guard let w = Self.decimal(elements.removeLast()), (1...255).contains(w) else { return nil }
            width = w
            elements[elements.count - 1].removeLast(2)
        }
        var index: UInt64 = 0
        for (position, element) in elements.enumerated() {
            let last = position == elements.count - 1
            var digits = Substring(element)
            if !last {
                guard digits.first == "x" else { return nil }
                digits = digits.dropFirst()
            }
            guard digits.count == 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let part = UInt64(digits),
                index <= (UInt64.max - part) / 1000
            else { return nil }
            index = index * 1000 + part
        }
        self.init(level: level, index: index, width: width)
    }

    /// The path after `tile/`.
    package var path: String {
        var parts: [String] = []
        var rest = index
        repeat {
            let part = String(rest % 1000)
            parts.insert(String(repeating: "0", count: 3 - part.count) + part, at: 0)
            rest /= 1000
        } while rest > 0
        let indexPath = parts.enumerated().map { $0.offset < parts.count - 1 ? "x" + $0.element : $0.element }
        return "\(level)/" + indexPath.joined(separator: "/") + (width < 256 ? ".p/\(width)" : "")
    }

    private static func decimal(_ text: String) -> Int? {
        guard let value = Int(text), value >= 0, String(value) == text else { return nil }
        return value
    }
}

// MARK: - Proofs, roots and tiles

extension EventStore {
    /// The root of the tree of the first `size` entries (`size` at most the log's size).
    package func treeRoot(size: Int64) async throws(StoreError) -> [UInt8] {
        try await readTree(up: size) { nodes in try MerkleTree.root(size: UInt64(size), source: nodes) }
    }

    /// The inclusion proof of the entry at `position` in the tree of `size` entries (RFC 9162 order).
    package func inclusionProof(position: Int64, size: Int64) async throws(StoreError) -> [[UInt8]] {
        guard position >= 1, position <= size else {
            throw StoreError(.outOfRange, "position \(position) is not in a tree of \(size) entries")
        }
        return try await readTree(up: size) { nodes in
            try MerkleTree.inclusionProof(index: UInt64(position - 1), size: UInt64(size), source: nodes)
        }
    }

    /// The proof that the tree of `from` entries is a prefix of the tree of `to` entries (RFC 9162 order).
    package func consistencyProof(from: Int64, to: Int64) async throws(StoreError) -> [[UInt8]] {
        guard from >= 0, from <= to else {
            throw StoreError(.outOfRange, "a tree of \(from) entries cannot be a prefix of one of \(to)")
        }
        return try await readTree(up: to) { nodes in
            try MerkleTree.consistencyProof(first: UInt64(from), second: UInt64(to), source: nodes)
        }
    }

    /// The hashes of a C2SP tile, or nil when the log is too small to have all of them.
    package func tile(_ address: TileAddress) async throws(StoreError) -> [UInt8]? {
        let size = UInt64(head.size)
        let available = size >> UInt64(LogTree.tileHeight * address.level)
        guard address.level < 8, address.index < UInt64.max / 256,
            available >= address.index * 256 + UInt64(address.width)
        else { return nil }
        do {
            return try await backend.storedHashes(
                level: LogTree.tileHeight * address.level, first: address.index * 256, count: address.width
            ).flatMap { $0 }
        } catch {
            throw StoreError(error, while: "reading a tile")
        }
    }

    private func readTree<T: Sendable>(
        up size: Int64, _ body: @Sendable @escaping (StoredNodes) throws -> T
    ) async throws(StoreError) -> T {
        guard size >= 0, size <= head.size else {
            throw StoreError(.outOfRange, "the log holds \(head.size) entries, not \(size)")
        }
        do {
            return try await backend.readTree(body)
        } catch {
            throw StoreError(error, while: "reading the tree")
        }
    }
}

// MARK: - Proof bundles

extension EventStore {
    /// The proof bundle of the event `id` against the latest checkpoint, or nil if the log does not hold the
    /// event. Throws `outOfRange` when no checkpoint covers the event yet (the caller issues one first).
    package func proofBundle(of id: EventID) async throws(StoreError) -> ProofBundle? {
        do {
            guard let stored = try await entry(eventID: id) else { return nil }
            let position = stored.position
            // The newest checkpoint that covers the event and that witnesses cosigned, or else the newest.
            var newest = try await backend.newestCosignedCheckpoint(covering: position)
            if newest == nil { newest = try await backend.latestCheckpoint() }
            guard let checkpoint = newest, checkpoint.size >= position else {
                throw StoreError(.outOfRange, "no checkpoint covers position \(position) yet")
            }
            // The registration in force for each signer: the last one before the event.
            var registrations: [StoredEntry] = []
            let signers = (try? Envelope.decode(stored.envelope))?.signatures.map(\.keyID) ?? []
            for keyID in signers {
                if let registered = try await backend.lastRegistration(of: keyID, before: position) {
                    registrations.append(registered)
                }
            }
            let size = UInt64(checkpoint.size)
            let entries = [stored] + registrations
            let proofs = try await backend.readTree { nodes in
                try entries.map { entry in
                    try MerkleTree.inclusionProof(index: UInt64(entry.position - 1), size: size, source: nodes)
                }
            }
            let bundled = zip(entries, proofs).map { entry, proof in
                ProofBundle.Entry(
                    position: entry.position, recordedAtMicros: entry.recordedAt, envelope: entry.envelope,
                    inclusion: proof)
            }
            // The checkpoint as served: with the witnesses' cosignatures of it.
            return ProofBundle(
                checkpoint: checkpoint.note + (try await backend.cosignatureLines(of: checkpoint.seq)),
                event: bundled[0], registrations: Array(bundled.dropFirst()))
        } catch {
            throw StoreError(error, while: "building a proof bundle")
        }
    }
}
