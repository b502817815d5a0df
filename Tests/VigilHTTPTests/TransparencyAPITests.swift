import Foundation
import Testing
import VigilConfig
import VigilModel
import VigilStore
import VigilTestSupport

@Suite struct TransparencyAPITests {
    /// The checkpoint, proofs and tiles answer without a token; what they give verifies against the
    /// daemon's key and the leaf hashes the auditor's `GET /v1/events` shows.
    @Test func checkpointProofsAndTilesVerify() async throws {
        let keys = TestKeys()
        try await LiveDaemon.run(keys: keys, configure: { $0.transparency.origin = "clinic.example.org/vigil" }) {
            daemon in
            for _ in 0..<3 {
                let envelopes = (0..<100).map { _ in Fixtures.envelope(Fixtures.vitals(), by: keys.device) }
                #expect(try await daemon.batch(envelopes).status == 200)
            }
            // A checkpoint on request (auditor), then the same from the public endpoint.
            #expect(try await daemon.client.send("POST", "/v1/checkpoint").status == 401)
            let issued = try await daemon.client.send("POST", "/v1/checkpoint", token: Tokens.auditor)
            #expect(issued.status == 200)
            let served = try await daemon.client.get("/v1/checkpoint")
            #expect(served.status == 200 && served.headers["content-type"] == "text/plain; charset=utf-8")
            #expect(served.body == issued.body)
            let note = try SignedNote(parsing: served.body)
            try note.verify(by: NoteKey(name: "clinic.example.org/vigil", publicKey: keys.daemon.verifyingKey))
            let checkpoint = try LogCheckpoint(text: note.text)
            let size = Int(checkpoint.size)
            #expect(size >= 306)

            // Every leaf hash, as the auditor reads the log.
            var leaves: [[UInt8]] = []
            while leaves.count < size {
                let page = try await daemon.json("/v1/events?after=\(leaves.count)&limit=1000", token: Tokens.auditor)
                guard case .array(let events)? = page["events"], !events.isEmpty else { break }
                leaves += events.prefix(size - leaves.count).compactMap { $0["leafHash"]?.literal.flatMap(Hex.decode) }
            }
            #expect(leaves.count == size)

            let position = 123
            let inclusion = try await daemon.client.get("/v1/proofs/inclusion?position=\(position)&size=\(size)")
            #expect(inclusion.status == 200)
            let proof = try #require(inclusion.json)
            #expect(proof["rootHash"]?.literal == Base64.encode(checkpoint.rootHash))
            #expect(proof["leafHash"]?.literal == Base64.encode(leaves[position - 1]))
            #expect(
                MerkleTree.verifyInclusion(
                    leafHash: leaves[position - 1], index: UInt64(position - 1), size: UInt64(size),
                    proof: Self.hashes(proof), root: checkpoint.rootHash))

            let consistency = try #require(
                try await daemon.client.get("/v1/proofs/consistency?from=100&to=\(size)").json)
            let fromRoot = try #require(consistency["fromRoot"]?.literal.flatMap(Base64.decode))
            var frontier = MerkleFrontier()
            for leaf in leaves.prefix(100) { frontier.append(leaf) }
            #expect(fromRoot == frontier.root)
            #expect(
                MerkleTree.verifyConsistency(
                    first: 100, second: UInt64(size), firstRoot: fromRoot, secondRoot: checkpoint.rootHash,
                    proof: Self.hashes(consistency)))

            // Tiles: the first full level-0 tile is the first 256 leaf hashes.
            let tile = try await daemon.client.get("/tile/0/000")
            #expect(tile.status == 200 && tile.headers["content-type"] == "application/octet-stream")
            #expect(tile.body == Array(leaves.prefix(256).joined()))
            let partial = try await daemon.client.get("/tile/0/001.p/\(size - 256)")
            #expect(partial.body == Array(leaves[256..<size].joined()))
        }
    }

    static func hashes(_ proof: JSONValue) -> [[UInt8]] {
        guard case .array(let items)? = proof["hashes"] else { return [] }
        return items.compactMap { $0.literal.flatMap(Base64.decode) }
    }

    /// Sizes past the tree, from above to, huge or negative numbers, junk and missing parameters: 400s
    /// with a stable code; malformed tile paths and tiles the log does not have: 404.
    @Test func badProofRequestsGetClearErrors() async throws {
        try await LiveDaemon.run { daemon in
            let size = try await daemon.logSize()
            let cases: [(String, String)] = [
                ("/v1/proofs/inclusion?position=1&size=\(size + 1)", "out_of_range"),
                ("/v1/proofs/inclusion?position=0&size=\(size)", "out_of_range"),
                ("/v1/proofs/inclusion?position=\(size + 1)&size=\(size)", "out_of_range"),
                ("/v1/proofs/inclusion?position=1&size=99999999999999999999999", "invalid_query"),
                ("/v1/proofs/inclusion?position=1&size=9223372036854775807", "out_of_range"),
                ("/v1/proofs/inclusion?position=-1&size=2", "invalid_query"),
                ("/v1/proofs/inclusion?position=1", "invalid_query"),
                ("/v1/proofs/inclusion?position=one&size=2", "invalid_query"),
                ("/v1/proofs/consistency?from=3&to=2", "out_of_range"),
                ("/v1/proofs/consistency?from=1&to=\(size + 1)", "out_of_range"),
                ("/v1/proofs/consistency?from=1", "invalid_query"),
                ("/v1/proofs/consistency?from=1.5&to=2", "invalid_query"),
            ]
            for (path, code) in cases {
                let response = try await daemon.client.get(path)
                #expect(response.status == 400, "\(path)")
                #expect(response.errorCode == code, "\(path): \(response.text)")
            }
            for path in [
                "/tile/0/1", "/tile/0/0001", "/tile/0/x000", "/tile/00/000", "/tile/0/000.p/0", "/tile/0/000.p/256",
                "/tile/64/000", "/tile/0/x001/000", "/tile/0/000", "/tile/1/000.p/1", "/tile/entries/000",
                "/tile/0/x999/x999/x999/x999/x999/x999/x999/999",
            ] {
                let response = try await daemon.client.get(path)
                #expect(response.status == 404 && response.errorCode == "not_found", "\(path): \(response.text)")
            }
            #expect(try await daemon.client.get("/tile/0/000.p/\(size)").status == 200)
            // Consistency from the empty tree, and the proof of a tree to itself, are empty.
            let empty = try #require(try await daemon.client.get("/v1/proofs/consistency?from=0&to=\(size)").json)
            #expect(Self.hashes(empty).isEmpty)
        }
    }
}
