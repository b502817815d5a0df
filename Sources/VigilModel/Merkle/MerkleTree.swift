import Crypto

/// The RFC 9162 (section 2.1) Merkle tree over the log's leaf hashes.
///
/// Leaves are the entries' leaf hashes, `SHA-256(0x00 || entry)`; an interior node is
/// `SHA-256(0x01 || left || right)`; the tree of `n` leaves splits at the largest power of two below `n`.
/// Leaves are numbered from 0 here, as in the RFC: the log's position `p` is leaf `p - 1`.
///
/// Proofs are built over a ``MerkleNodeSource``, which answers the hash of any perfect subtree (the
/// `2^level` leaves starting at `index * 2^level`); the store answers from its stored tiles.
package enum MerkleTree {
    /// The root of the empty tree: SHA-256 of the empty string.
    package static let emptyRoot: [UInt8] = Array(SHA256.hash(data: [UInt8]()))

    package static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(1)) { hasher.update(bufferPointer: $0) }
        hasher.update(data: left)
        hasher.update(data: right)
        return Array(hasher.finalize())
    }

    /// The largest power of two strictly below `n` (n >= 2).
    static func split(_ n: UInt64) -> UInt64 {
        UInt64(1) << (63 - (n - 1).leadingZeroBitCount)
    }

    /// The hash of the leaves `[start, start + count)` as a tree of their own: `MTH(D[start:start+count])`.
    /// `start` must be a multiple of the largest power of two not above `count` (as every range of the
    /// RFC's proofs is); the range is then a run of perfect subtrees, largest first.
    package static func rangeHash(start: UInt64, count: UInt64, source: some MerkleNodeSource) throws -> [UInt8] {
        precondition(count > 0)
        if count & (count - 1) == 0 {
            return try source.hash(
                level: count.trailingZeroBitCount, index: start >> UInt64(count.trailingZeroBitCount))
        }
        let k = split(count)
        return nodeHash(
            try rangeHash(start: start, count: k, source: source),
            try rangeHash(start: start + k, count: count - k, source: source))
    }

    /// The root of the tree of the first `size` leaves.
    package static func root(size: UInt64, source: some MerkleNodeSource) throws -> [UInt8] {
        size == 0 ? emptyRoot : try rangeHash(start: 0, count: size, source: source)
    }

    /// The audit path of leaf `index` in the tree of `size` leaves (RFC 9162 section 2.1.3.1), leaf side first.
    package static func inclusionProof(index: UInt64, size: UInt64, source: some MerkleNodeSource) throws -> [[UInt8]] {
        precondition(index < size)
        var proof: [[UInt8]] = []
        // PATH(m, D[start:start+n]), unrolled from the root down; collected root side first, then reversed.
        var start: UInt64 = 0
        var n = size
        var m = index
        while n > 1 {
            let k = split(n)
            if m < k {
                proof.append(try rangeHash(start: start + k, count: n - k, source: source))
                n = k
            } else {
                proof.append(try rangeHash(start: start, count: k, source: source))
                start += k
                m -= k
                n -= k
            }
        }
        return proof.reversed()
    }

    /// The proof that the tree of `first` leaves is a prefix of the tree of `second` (RFC 9162 section 2.1.4.1).
    package static func consistencyProof(
        first: UInt64, second: UInt64, source: some MerkleNodeSource
    ) throws
        -> [[UInt8]]
    {
        precondition(first <= second)
        if first == 0 || first == second { return [] }
        var proof: [[UInt8]] = []
        // SUBPROOF(m, D[start:start+n], b), unrolled; collected root side first, then reversed.
        var start: UInt64 = 0
        var n = second
        var m = first
        var whole = true
        while m != n {
            let k = split(n)
            if m <= k {
                proof.append(try rangeHash(start: start + k, count: n - k, source: source))
                n = k
            } else {
                proof.append(try rangeHash(start: start, count: k, source: source))
                start += k
                m -= k
                n -= k
                whole = false
            }
        }
        if !whole { proof.append(try rangeHash(start: start, count: m, source: source)) }
        return proof.reversed()
    }

    /// Whether `proof` shows `leafHash` at `index` in the tree of `size` leaves whose root is `root`
    /// (RFC 9162 section 2.1.3.2).
    package static func verifyInclusion(
        leafHash: [UInt8], index: UInt64, size: UInt64, proof: [[UInt8]], root: [UInt8]
    ) -> Bool {
        guard index < size else { return false }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                skipRightEdge(&fn, &sn)
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// Whether `proof` shows that the tree of `first` leaves with root `firstRoot` is a prefix of the tree of
    /// `second` leaves with root `secondRoot` (RFC 9162 section 2.1.4.2).
    package static func verifyConsistency(
        first: UInt64, second: UInt64, firstRoot: [UInt8], secondRoot: [UInt8], proof: [[UInt8]]
    ) -> Bool {
        guard first <= second else { return false }
        if first == second { return proof.isEmpty && firstRoot == secondRoot }
        if first == 0 { return proof.isEmpty }
        guard !proof.isEmpty else { return false }
        var path = proof
        if first & (first - 1) == 0 { path.insert(firstRoot, at: 0) }
        var fn = first - 1
        var sn = second - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                skipRightEdge(&fn, &sn)
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == firstRoot && sr == secondRoot && sn == 0
    }

    /// The verifiers' step where the node is on the tree's right edge (LSB(fn) not set): right-shift both
    /// until LSB(fn) is set or fn is 0, skipping levels where the node has no sibling.
    private static func skipRightEdge(_ fn: inout UInt64, _ sn: inout UInt64) {
        while fn & 1 == 0 && fn != 0 {
            fn >>= 1
            sn >>= 1
        }
    }
}

/// Answers the hash of the perfect subtree of `2^level` leaves starting at leaf `index * 2^level`.
package protocol MerkleNodeSource {
    func hash(level: Int, index: UInt64) throws -> [UInt8]
}

/// The right edge of a growing tree: the roots of the perfect subtrees that make up its leaves, largest
/// first (one per bit set in the size). Appending a leaf costs O(log n) hashes at most and one on average,
/// and reports each perfect subtree it completes, which is how the store keeps its tiles.
package struct MerkleFrontier: Sendable, Equatable {
    package private(set) var size: UInt64 = 0
    /// The perfect subtrees' roots, largest (leftmost) first.
    package private(set) var hashes: [[UInt8]] = []

    package init() {}

    /// The frontier of the tree of `size` leaves, from the roots of its perfect subtrees, largest first.
    package init(size: UInt64, hashes: [[UInt8]]) {
        precondition(hashes.count == size.nonzeroBitCount)
        self.size = size
        self.hashes = hashes
    }

    /// The frontier of the first `size` leaves of a tree whose perfect subtrees `source` knows.
    package init(size: UInt64, source: some MerkleNodeSource) throws {
        var hashes: [[UInt8]] = []
        var start: UInt64 = 0
        for level in stride(from: 63, through: 0, by: -1) where size >> UInt64(level) & 1 == 1 {
            hashes.append(try source.hash(level: level, index: start >> UInt64(level)))
            start += UInt64(1) << UInt64(level)
        }
        self.init(size: size, hashes: hashes)
    }

    /// Adds a leaf; `completed` receives each perfect subtree of two leaves or more that it completes, by its
    /// level (log2 of its leaves) and index (its first leaf divided by its width).
    package mutating func append<E: Error>(
        _ leaf: [UInt8], completed: (_ level: Int, _ index: UInt64, _ hash: [UInt8]) throws(E) -> Void
    ) throws(E) {
        var hash = leaf
        var level = 0
        while size >> UInt64(level) & 1 == 1 {
            hash = MerkleTree.nodeHash(hashes.removeLast(), hash)
            level += 1
            try completed(level, size >> UInt64(level), hash)
        }
        hashes.append(hash)
        size += 1
    }

    package mutating func append(_ leaf: [UInt8]) {
        append(leaf) { _, _, _ in }
    }

    /// The root of the tree of ``size`` leaves.
    package var root: [UInt8] {
        guard var root = hashes.last else { return MerkleTree.emptyRoot }
        for hash in hashes.dropLast().reversed() { root = MerkleTree.nodeHash(hash, root) }
        return root
    }
}
