import Crypto
import Foundation
import Testing
import VigilModel
import VigilTestSupport

/// A tree held in memory: every perfect subtree hashed from its leaves, the RFC's definition taken literally.
struct LeafList: MerkleNodeSource {
    var leaves: [[UInt8]]

    func hash(level: Int, index: UInt64) throws -> [UInt8] {
        let width = 1 << level
        let start = Int(index) * width
        return Reference.root(Array(leaves[start..<start + width]))
    }
}

/// The RFC 9162 definitions written recursively over arrays, independent of the module's loops and of its
/// bit-walking verifiers: MTH, and root reconstruction from a proof by following the same recursion.
enum Reference {
    static func node(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: [1] + left + right))
    }

    static func split(_ n: Int) -> Int {
        var k = 1
        while k * 2 < n { k *= 2 }
        return k
    }

    static func root(_ leaves: ArraySlice<[UInt8]>) -> [UInt8] {
        if leaves.isEmpty { return Array(SHA256.hash(data: [UInt8]())) }
        if leaves.count == 1 { return leaves.first! }
        let k = split(leaves.count)
        let start = leaves.startIndex
        return node(root(leaves[start..<start + k]), root(leaves[(start + k)...]))
    }

    static func root(_ leaves: [[UInt8]]) -> [UInt8] { root(leaves[...]) }

    /// The root that an inclusion proof of `leaf` at `index` in a tree of `size` leads to; the proof is
    /// consumed from its end (the root side), as PATH builds it.
    static func rootFromInclusion(leaf: [UInt8], index: Int, size: Int, proof: inout [[UInt8]]) -> [UInt8]? {
        if size == 1 { return leaf }
        guard let sibling = proof.popLast() else { return nil }
        let k = split(size)
        if index < k {
            guard let left = rootFromInclusion(leaf: leaf, index: index, size: k, proof: &proof) else { return nil }
            return node(left, sibling)
        }
        guard let right = rootFromInclusion(leaf: leaf, index: index - k, size: size - k, proof: &proof) else {
            return nil
        }
        return node(sibling, right)
    }

    /// The roots (old, new) that a consistency proof from `m` leaves leads to inside a subtree of `n` leaves,
    /// following SUBPROOF(m, D[n], whole): `old` is the hash of the old tree's part of this subtree.
    static func rootsFromConsistency(
        m: Int, n: Int, whole: Bool, firstRoot: [UInt8], proof: inout [[UInt8]]
    ) -> (old: [UInt8], new: [UInt8])? {
        if m == n {
            if whole { return (firstRoot, firstRoot) }
            guard let hash = proof.popLast() else { return nil }
            return (hash, hash)
        }
        guard let last = proof.popLast() else { return nil }
        let k = split(n)
        if m <= k {
            guard let inner = rootsFromConsistency(m: m, n: k, whole: whole, firstRoot: firstRoot, proof: &proof)
            else { return nil }
            return (inner.old, node(inner.new, last))
        }
        guard let inner = rootsFromConsistency(m: m - k, n: n - k, whole: false, firstRoot: firstRoot, proof: &proof)
        else { return nil }
        return (node(last, inner.old), node(last, inner.new))
    }

    static func checkInclusion(leaf: [UInt8], index: Int, size: Int, proof: [[UInt8]], root: [UInt8]) -> Bool {
        var remaining = proof
        return rootFromInclusion(leaf: leaf, index: index, size: size, proof: &remaining) == root && remaining.isEmpty
    }

    static func checkConsistency(m: Int, n: Int, proof: [[UInt8]], firstRoot: [UInt8], secondRoot: [UInt8]) -> Bool {
        if m == 0 || m == n { return proof.isEmpty && (m == 0 || firstRoot == secondRoot) }
        var remaining = proof
        guard let roots = rootsFromConsistency(m: m, n: n, whole: true, firstRoot: firstRoot, proof: &remaining)
        else { return false }
        return remaining.isEmpty && roots.old == firstRoot && roots.new == secondRoot
    }
}

func randomLeaves(_ count: Int) -> [[UInt8]] {
    (0..<count).map { _ in (0..<32).map { _ in UInt8.random(in: 0...255) } }
}

@Suite struct MerkleTreeTests {
    struct Vectors: Decodable {
        var leafInputs: [String]
        var leafHashes: [String]
        var rootHashes: [String]
    }

    static func hex(_ text: String) -> [UInt8] {
        stride(from: 0, to: text.count, by: 2).map {
            let start = text.index(text.startIndex, offsetBy: $0)
            return UInt8(text[start..<text.index(start, offsetBy: 2)], radix: 16)!
        }
    }

    /// The RFC 6962 reference tree (the same data as transparency-dev/merkle's tests), copied into the
    /// repository so that the test runs wherever it is checked out.
    @Test func theReferenceVectorsAreReproduced() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Vectors/rfc6962-merkle-vectors.json")
        let vectors = try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
        let leaves = vectors.leafInputs.map { input in Array(SHA256.hash(data: [0] + Self.hex(input))) }
        #expect(leaves == vectors.leafHashes.map(Self.hex))
        #expect(MerkleTree.emptyRoot == Self.hex(vectors.rootHashes[0]))
        var frontier = MerkleFrontier()
        #expect(frontier.root == Self.hex(vectors.rootHashes[0]))
        for (count, leaf) in leaves.enumerated() {
            frontier.append(leaf)
            let expected = Self.hex(vectors.rootHashes[count + 1])
            #expect(frontier.root == expected, "root of \(count + 1) leaves")
            #expect(try MerkleTree.root(size: UInt64(count + 1), source: LeafList(leaves: leaves)) == expected)
            #expect(Reference.root(Array(leaves.prefix(count + 1))) == expected)
        }
    }

    /// The frontier gives the reference root at every size, reports each perfect subtree it completes, and
    /// is rebuilt from those subtrees alone.
    @Test func theFrontierMatchesTheDefinitionAtEverySize() async throws {
        let leaves = randomLeaves(600)
        let (completed, wrong) = try await onOwnThread { () -> ([String: [UInt8]], [Int]) in
            let source = LeafList(leaves: leaves)
            var frontier = MerkleFrontier()
            var completed: [String: [UInt8]] = [:]
            var wrong: [Int] = []
            for (count, leaf) in leaves.enumerated() {
                frontier.append(leaf) { level, index, hash in completed["\(level)/\(index)"] = hash }
                let rebuilt = try MerkleFrontier(size: UInt64(count + 1), source: source)
                if frontier.root != Reference.root(Array(leaves.prefix(count + 1))) || rebuilt != frontier {
                    wrong.append(count + 1)
                }
            }
            return (completed, wrong)
        }
        #expect(wrong.isEmpty, "wrong at sizes \(wrong)")
        #expect(completed.count == 600 - 600.nonzeroBitCount)
        #expect(completed["8/1"] == Reference.root(Array(leaves[256..<512])))
        #expect(completed["9/0"] == Reference.root(Array(leaves[0..<512])))
    }

    /// Every inclusion and consistency proof for every pair of sizes up to 64, checked by the reference
    /// recursion above and by the module's verifiers.
    @Test func proofsForEveryPairOfSizesUpTo64Verify() async throws {
        let leaves = randomLeaves(64)
        let failures = try await onOwnThread { () -> [String] in
            let source = LeafList(leaves: leaves)
            let roots = (0...64).map { Reference.root(Array(leaves.prefix($0))) }
            var failures: [String] = []
            for size in 1...64 {
                for index in 0..<size {
                    let proof = try MerkleTree.inclusionProof(index: UInt64(index), size: UInt64(size), source: source)
                    if !Reference.checkInclusion(
                        leaf: leaves[index], index: index, size: size, proof: proof, root: roots[size])
                        || !MerkleTree.verifyInclusion(
                            leafHash: leaves[index], index: UInt64(index), size: UInt64(size), proof: proof,
                            root: roots[size])
                    {
                        failures.append("inclusion of \(index) in \(size)")
                    }
                }
            }
            for second in 1...64 {
                for first in 0...second {
                    let proof = try MerkleTree.consistencyProof(
                        first: UInt64(first), second: UInt64(second), source: source)
                    if !Reference.checkConsistency(
                        m: first, n: second, proof: proof, firstRoot: roots[first], secondRoot: roots[second])
                        || !MerkleTree.verifyConsistency(
                            first: UInt64(first), second: UInt64(second), firstRoot: roots[first],
                            secondRoot: roots[second], proof: proof)
                    {
                        failures.append("consistency \(first) -> \(second)")
                    }
                }
            }
            return failures
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    /// A changed bit in any hash of a proof, a wrong index, size or root, or a proof cut short or padded:
    /// each fails.
    @Test func alteredProofsFail() throws {
        let leaves = randomLeaves(45)
        let source = LeafList(leaves: leaves)
        let root = Reference.root(leaves)
        let proof = try MerkleTree.inclusionProof(index: 17, size: 45, source: source)
        for position in proof.indices {
            var altered = proof
            altered[position][5] ^= 0x10
            #expect(!MerkleTree.verifyInclusion(leafHash: leaves[17], index: 17, size: 45, proof: altered, root: root))
        }
        #expect(!MerkleTree.verifyInclusion(leafHash: leaves[17], index: 18, size: 45, proof: proof, root: root))
        // Sizes 33 to 64 share leaf 17's path; a size that changes the path fails.
        #expect(!MerkleTree.verifyInclusion(leafHash: leaves[17], index: 17, size: 32, proof: proof, root: root))
        #expect(!MerkleTree.verifyInclusion(leafHash: leaves[17], index: 17, size: 65, proof: proof, root: root))
        #expect(!MerkleTree.verifyInclusion(leafHash: leaves[16], index: 17, size: 45, proof: proof, root: root))
        #expect(
            !MerkleTree.verifyInclusion(leafHash: leaves[17], index: 17, size: 45, proof: proof.dropLast(), root: root))
        #expect(
            !MerkleTree.verifyInclusion(
                leafHash: leaves[17], index: 17, size: 45, proof: proof + [leaves[0]], root: root))
        #expect(!MerkleTree.verifyInclusion(leafHash: leaves[17], index: 45, size: 45, proof: proof, root: root))

        let firstRoot = Reference.root(Array(leaves.prefix(13)))
        let consistency = try MerkleTree.consistencyProof(first: 13, second: 45, source: source)
        #expect(
            MerkleTree.verifyConsistency(
                first: 13, second: 45, firstRoot: firstRoot, secondRoot: root, proof: consistency))
        for position in consistency.indices {
            var altered = consistency
            altered[position][0] ^= 1
            #expect(
                !MerkleTree.verifyConsistency(
                    first: 13, second: 45, firstRoot: firstRoot, secondRoot: root, proof: altered))
        }
        #expect(
            !MerkleTree.verifyConsistency(
                first: 12, second: 45, firstRoot: firstRoot, secondRoot: root, proof: consistency))
        #expect(
            !MerkleTree.verifyConsistency(
                first: 13, second: 45, firstRoot: root, secondRoot: firstRoot, proof: consistency))
        #expect(
            !MerkleTree.verifyConsistency(
                first: 13, second: 45, firstRoot: firstRoot, secondRoot: root, proof: consistency.dropLast()))
        #expect(!MerkleTree.verifyConsistency(first: 45, second: 13, firstRoot: root, secondRoot: root, proof: []))
    }
}
