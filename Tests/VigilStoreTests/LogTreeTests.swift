import Foundation
import GRDB
import Logging
import Testing
import VigilModel
import VigilTestSupport

@testable import VigilStore

/// The leaf hashes of a store, read raw, and the roots an independent frontier gives at chosen sizes.
func leafHashes(of path: String) throws -> [[UInt8]] {
    let raw = try DatabaseQueue(path: path)
    defer { try? raw.close() }
    return try raw.read { db in
        try Data.fetchAll(db, sql: "SELECT leaf_hash FROM events ORDER BY position").map { [UInt8]($0) }
    }
}

func roots(of leaves: [[UInt8]], at sizes: Set<Int>) -> [Int: [UInt8]] {
    var frontier = MerkleFrontier()
    var roots: [Int: [UInt8]] = [:]
    if sizes.contains(0) { roots[0] = frontier.root }
    for (index, leaf) in leaves.enumerated() {
        frontier.append(leaf)
        if sizes.contains(index + 1) { roots[index + 1] = frontier.root }
    }
    return roots
}

@Suite struct LogTreeTests {
    /// Appends in groups of odd sizes across two tile boundaries: the stored nodes, roots, proofs and tiles
    /// all agree with the tree computed from the leaves, before and after a reopen.
    @Test func theTreeFollowsEveryAppendAndSurvivesAReopen() async throws {
        try await withTemporaryDirectory { folder in
            let fixture = StoreFixture(folder: folder)
            var store = try fixture.open()
            try await fixture.registerAll(store)
            for group in [1, 2, 37, 250, 100, 3, 255, 64] {
                _ = await store.append(
                    (0..<group).map { _ in Fixtures.verified(Fixtures.vitals(), by: fixture.keys.device) })
            }
            let size = Int(store.head.size)
            #expect(size == 6 + 712)
            await store.close()
            let leaves = try leafHashes(of: fixture.path)
            let raw = try DatabaseQueue(path: fixture.path)
            let nodes = try raw.read { db in
                try Row.fetchAll(db, sql: "SELECT level, idx, hash FROM tree_nodes ORDER BY level, idx")
            }
            try raw.close()
            #expect(nodes.count == 2)
            for (index, row) in nodes.enumerated() {
                #expect(row[0] as Int == 8 && row[1] as Int == index)
                #expect(
                    [UInt8](row[2] as Data) == roots(of: Array(leaves[index * 256..<(index + 1) * 256]), at: [256])[256]
                )
            }

            store = try fixture.open()
            let sizes: Set<Int> = [0, 1, 2, 255, 256, 257, 511, 512, 513, size]
            let expected = roots(of: leaves, at: sizes)
            for size in sizes {
                #expect(try await store.treeRoot(size: Int64(size)) == expected[size], "root of \(size)")
            }
            for (position, size) in [(1, 1), (1, size), (256, 256), (257, 513), (size, size), (300, 512)] {
                let proof = try await store.inclusionProof(position: Int64(position), size: Int64(size))
                #expect(
                    MerkleTree.verifyInclusion(
                        leafHash: leaves[position - 1], index: UInt64(position - 1), size: UInt64(size), proof: proof,
                        root: expected[size]!), "inclusion of \(position) in \(size)")
            }
            for (first, second) in [(1, 2), (255, 256), (256, 257), (257, 513), (2, size), (512, size)] {
                let proof = try await store.consistencyProof(from: Int64(first), to: Int64(second))
                #expect(
                    MerkleTree.verifyConsistency(
                        first: UInt64(first), second: UInt64(second), firstRoot: expected[first]!,
                        secondRoot: expected[second]!, proof: proof), "consistency \(first) -> \(second)")
            }

            // Tiles: level 0 holds the leaf hashes, level 1 the level-8 nodes; nothing past the log.
            #expect(
                try await store.tile(TileAddress(level: 0, index: 1, width: 256)) == Array(leaves[256..<512].joined()))
            let partial = size % 256
            #expect(
                try await store.tile(TileAddress(level: 0, index: 2, width: partial))
                    == Array(leaves[512..<size].joined()))
            #expect(try await store.tile(TileAddress(level: 0, index: 2, width: partial + 1)) == nil)
            #expect(try await store.tile(TileAddress(level: 0, index: 2, width: 256)) == nil)
            #expect(
                try await store.tile(TileAddress(level: 1, index: 0, width: 2))
                    == Array(nodes.map { [UInt8]($0[2] as Data) }.joined()))
            #expect(try await store.tile(TileAddress(level: 2, index: 0, width: 1)) == nil)

            // Appends after the reopen continue the same tree.
            _ = await store.append(
                (0..<300).map { _ in Fixtures.verified(Fixtures.vitals(), by: fixture.keys.device) })
            let grown = Int(store.head.size)
            await store.close()
            let allLeaves = try leafHashes(of: fixture.path)
            store = try fixture.open()
            #expect(try await store.treeRoot(size: Int64(grown)) == roots(of: allLeaves, at: [grown])[grown])
            let consistency = try await store.consistencyProof(from: Int64(size), to: Int64(grown))
            #expect(
                MerkleTree.verifyConsistency(
                    first: UInt64(size), second: UInt64(grown), firstRoot: expected[size]!,
                    secondRoot: roots(of: allLeaves, at: [grown])[grown]!, proof: consistency))
            await store.close()
        }
    }

    @Test func requestsPastTheLogAreOutOfRange() async throws {
        try await withStore { _, store in
            let size = store.head.size
            for attempt in [
                { _ = try await store.treeRoot(size: size + 1) },
                { _ = try await store.inclusionProof(position: 0, size: size) },
                { _ = try await store.inclusionProof(position: size + 1, size: size + 1) },
                { _ = try await store.inclusionProof(position: 3, size: 2) },
                { _ = try await store.consistencyProof(from: 3, to: 2) },
                { _ = try await store.consistencyProof(from: 1, to: size + 1) },
                { _ = try await store.consistencyProof(from: -1, to: 2) },
            ] as [() async throws -> Void] {
                do {
                    try await attempt()
                    Issue.record("a request past the log was answered")
                } catch let error as StoreError {
                    #expect(error.code == .outOfRange)
                }
            }
        }
    }

    /// A store written before the tree existed gets it from its leaves when it is opened.
    @Test func aStoreFromBeforeTheTreeGetsItByMigration() async throws {
        try await withTemporaryDirectory { folder in
            let fixture = StoreFixture(folder: folder)
            var store = try fixture.open()
            try await fixture.registerAll(store)
            _ = await store.append(
                (0..<600).map { _ in Fixtures.verified(Fixtures.vitals(), by: fixture.keys.device) })
            let size = Int(store.head.size)
            await store.close()
            try tamper(
                fixture.path, "DROP TABLE tree_nodes", "DROP TABLE cosignatures", "DROP TABLE checkpoints",
                "DELETE FROM grdb_migrations WHERE identifier = 'v2-merkle-tree'")
            store = try fixture.open()
            let leaves = try leafHashes(of: fixture.path)
            #expect(try await store.treeRoot(size: Int64(size)) == roots(of: leaves, at: [size])[size])
            _ = await store.append([Fixtures.verified(Fixtures.vitals(), by: fixture.keys.device)])
            await store.close()
            let raw = try DatabaseQueue(path: fixture.path)
            let nodes = try await raw.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tree_nodes") }
            #expect(nodes == 2)
            try raw.close()
        }
    }

    /// Proofs from a store of a million entries (rows written straight into an old-format file, so the
    /// migration builds the tree), checked against roots computed from the leaves.
    @Test func proofsFromAMillionEntries() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/vigil.sqlite"
            let count = 1_000_000
            let raw = try DatabaseQueue(path: path)
            try StoreSchema.migrator.migrate(raw, upTo: "v1-event-log")
            try await raw.write { db in
                try db.execute(
                    sql: """
                        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(count))
                        INSERT INTO events (position, event_id, recorded_at, envelope, leaf_hash, chain_hash)
                        SELECT i, randomblob(16), i, x'00', randomblob(32), randomblob(32) FROM n
                        """)
            }
            try raw.close()
            let store = try EventStore.open(path: path, anchors: [], logger: Logger(label: "test"))
            let leaves = try await onOwnThread { try leafHashes(of: path) }
            var generator = SystemRandomNumberGenerator()
            let inclusions = (0..<40).map { _ -> (Int, Int) in
                let size = Int.random(in: 1...count, using: &generator)
                return (Int.random(in: 1...size, using: &generator), size)
            }
            let consistencies = (0..<40).map { _ -> (Int, Int) in
                let second = Int.random(in: 1...count, using: &generator)
                return (Int.random(in: 1...second, using: &generator), second)
            }
            let sizes = Set(inclusions.map(\.1) + consistencies.flatMap { [$0.0, $0.1] } + [count])
            let expected = try await onOwnThread { roots(of: leaves, at: sizes) }
            #expect(try await store.treeRoot(size: Int64(count)) == expected[count])
            for (position, size) in inclusions {
                let proof = try await store.inclusionProof(position: Int64(position), size: Int64(size))
                #expect(
                    MerkleTree.verifyInclusion(
                        leafHash: leaves[position - 1], index: UInt64(position - 1), size: UInt64(size), proof: proof,
                        root: expected[size]!), "inclusion of \(position) in \(size)")
            }
            for (first, second) in consistencies {
                let proof = try await store.consistencyProof(from: Int64(first), to: Int64(second))
                #expect(
                    MerkleTree.verifyConsistency(
                        first: UInt64(first), second: UInt64(second), firstRoot: expected[first]!,
                        secondRoot: expected[second]!, proof: proof), "consistency \(first) -> \(second)")
            }
            await store.close()
        }
    }

    /// A signed head and a checkpoint of the same size, recorded together; the checkpoint verifies as a
    /// signed note under the log's name and names the tree's root.
    @Test func headsAndCheckpointsAreSignedTogether() async throws {
        try await withStore { fixture, store in
            let signer = LogSigner(key: fixture.keys.daemon, origin: "clinic.example.org/vigil")
            _ = await store.append((0..<9).map { _ in Fixtures.verified(Fixtures.vitals(), by: fixture.keys.device) })
            let record = try await store.signHead(with: signer)
            try record.checkpoint.verify(by: signer.noteKey)
            let checkpoint = try LogCheckpoint(text: record.checkpoint.text)
            #expect(checkpoint.origin == "clinic.example.org/vigil")
            #expect(Int64(checkpoint.size) == record.head.size && record.head.size == 15)
            #expect(checkpoint.rootHash == (try await store.treeRoot(size: 15)))
            let again = try await store.signHead(with: signer)
            #expect(again.checkpoint == record.checkpoint)
            let latest = try #require(try await store.latestCheckpoint())
            #expect(latest.size == 15 && latest.note == Array(record.checkpoint.serialized.utf8))
        }
    }

    /// The verifier recomputes the tree: a changed or missing node, a node past the end, a checkpoint with
    /// another root or a bad signature are each found, in the full check and from the last signed head.
    @Test func theVerifierFindsATamperedTreeOrCheckpoint() async throws {
        try await withTemporaryDirectory { folder in
            let fixture = StoreFixture(folder: folder)
            let store = try fixture.open()
            try await fixture.registerAll(store)
            let signer = LogSigner(key: fixture.keys.daemon, origin: "clinic.example.org/vigil")
            _ = await store.append(
                (0..<300).map { _ in Fixtures.verified(Fixtures.vitals(), by: fixture.keys.device) })
            _ = try await store.signHead(with: signer)
            _ = await store.append(
                (0..<260).map { _ in Fixtures.verified(Fixtures.vitals(), by: fixture.keys.device) })
            _ = try await store.signHead(with: signer)
            await store.close()
            let intact = try LogVerifier.verify(path: fixture.path, options: .init(checkSignatures: false))
            #expect(intact.isValid && intact.checkpointsChecked == 2)
            let tail = try LogVerifier.verify(path: fixture.path, options: .init(fromLastSignedHead: true))
            #expect(tail.isValid && tail.checkpointsChecked == 1)

            let cases: [(sql: String, finds: String)] = [
                ("UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 8 AND idx = 1", "Merkle tree's node"),
                ("DELETE FROM tree_nodes WHERE level = 8 AND idx = 1", "Merkle tree's node"),
                ("INSERT INTO tree_nodes VALUES (8, 2, zeroblob(32))", "nodes at level 8"),
                ("UPDATE checkpoints SET root_hash = zeroblob(32) WHERE seq = 1", "root differs"),
                (
                    "UPDATE checkpoints SET note = CAST(replace(CAST(note AS TEXT), 'clinic', 'kliniq') AS BLOB) WHERE seq = 2",
                    "valid signature"
                ),
            ]
            for (sql, finds) in cases {
                let copy = folder + "/copy.sqlite"
                try? FileManager.default.removeItem(atPath: copy)
                try FileManager.default.copyItem(atPath: fixture.path, toPath: copy)
                try tamper(copy, sql)
                let report = try LogVerifier.verify(path: copy)
                #expect(report.failure?.reason.contains(finds) == true, "\(sql): \(String(describing: report.failure))")
            }
            // From the last signed head, the stored tree before it is vouched for by the checkpoint of its size.
            let copy = folder + "/copy.sqlite"
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: fixture.path, toPath: copy)
            try tamper(copy, "UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 8 AND idx = 0")
            let tampered = try LogVerifier.verify(path: copy, options: .init(fromLastSignedHead: true))
            #expect(
                tampered.failure?.reason.contains("root differs") == true, "\(String(describing: tampered.failure))")
        }
    }
}
