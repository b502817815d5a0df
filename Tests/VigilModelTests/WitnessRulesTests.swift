import Crypto
import Testing
import VigilModel

/// The witness's decisions, one per status code of C2SP tlog-witness.
@Suite struct WitnessRulesTests {
    let logKey = SigningKey()
    let origin = "clinic.example.org/vigil"
    let leaves = randomLeaves(40)

    var trusted: [NoteKey] { [try! NoteKey(name: origin, publicKey: logKey.verifyingKey)] }

    func checkpoint(_ size: Int, leaves: [[UInt8]]? = nil, key: SigningKey? = nil, origin: String? = nil) -> [UInt8] {
        let root = Reference.root(Array((leaves ?? self.leaves).prefix(size)))
        let text = LogCheckpoint(origin: origin ?? self.origin, size: UInt64(size), rootHash: root).text
        return Array(SignedNote.sign(text, name: origin ?? self.origin, key: key ?? logKey).serialized.utf8)
    }

    func request(from old: Int, to size: Int, leaves: [[UInt8]]? = nil) throws -> AddCheckpointRequest {
        let source = LeafList(leaves: leaves ?? self.leaves)
        let proof = try MerkleTree.consistencyProof(first: UInt64(old), second: UInt64(size), source: source)
        return AddCheckpointRequest(oldSize: UInt64(old), proof: proof, checkpoint: checkpoint(size, leaves: leaves))
    }

    func tree(_ size: Int) -> WitnessedTree {
        WitnessedTree(size: UInt64(size), rootHash: Reference.root(Array(leaves.prefix(size))))
    }

    @Test func theRequestBodyRoundTrips() throws {
        let request = try request(from: 13, to: 40)
        #expect(String(decoding: request.body, as: UTF8.self).hasPrefix("old 13\n"))
        #expect(try AddCheckpointRequest(parsing: request.body) == request)
        for body in ["old 013\n\nx", "old x\n\nx", "new 1\n\nx", "old 1\nAAAA\n\nx", "old 1\n"] {
            #expect(throws: NoteError.self) { try AddCheckpointRequest(parsing: Array(body.utf8)) }
        }
    }

    @Test func aConsistentCheckpointIsAccepted() throws {
        let first = try WitnessRules.check(try request(from: 0, to: 13), trusted: trusted) { _ in nil }
        #expect(first.tree == tree(13) && first.origin == origin)
        let next = try WitnessRules.check(try request(from: 13, to: 40), trusted: trusted) { _ in tree(13) }
        #expect(next.tree == tree(40))
        let same = try WitnessRules.check(try request(from: 40, to: 40), trusted: trusted) { _ in tree(40) }
        #expect(same.tree == tree(40))
    }

    @Test func everyRefusalHasItsCode() throws {
        func refusal(_ request: AddCheckpointRequest, latest: WitnessedTree?) -> WitnessRules.Refusal? {
            do {
                _ = try WitnessRules.check(request, trusted: trusted) { _ in latest }
                return nil
            } catch {
                return error
            }
        }
        // 404: a log the witness does not follow.
        let stranger = AddCheckpointRequest(
            oldSize: 0, proof: [], checkpoint: checkpoint(5, origin: "other.example/log"))
        guard case .unknownLog? = refusal(stranger, latest: nil) else { Issue.record("404"); return }
        // 403: signed by another key under the log's name.
        let forged = AddCheckpointRequest(oldSize: 0, proof: [], checkpoint: checkpoint(5, key: SigningKey()))
        guard case .untrusted? = refusal(forged, latest: nil) else { Issue.record("403"); return }
        // 400: an old size past the checkpoint.
        let backwards = AddCheckpointRequest(oldSize: 20, proof: [], checkpoint: checkpoint(10))
        guard case .badRequest? = refusal(backwards, latest: tree(20)) else { Issue.record("400"); return }
        // 409: the old size is not what the witness cosigned last; the answer gives that size.
        guard case .conflict(let latestSize, _)? = refusal(try request(from: 10, to: 40), latest: tree(13)) else {
            Issue.record("409")
            return
        }
        #expect(latestSize == 13)
        guard case .conflict(0, _)? = refusal(try request(from: 10, to: 40), latest: nil) else {
            Issue.record("409 with nothing cosigned")
            return
        }
        // 409: the same size with another root (a fork at the same size).
        var other = leaves
        other[3][0] ^= 1
        guard case .conflict? = refusal(try request(from: 13, to: 13, leaves: other), latest: tree(13)) else {
            Issue.record("409 same size")
            return
        }
        // 422: a tree of 40 that does not extend the 13 cosigned (a fork), or a proof altered.
        guard case .inconsistent? = refusal(try request(from: 13, to: 40, leaves: other), latest: tree(13)) else {
            Issue.record("422 fork")
            return
        }
        var altered = try request(from: 13, to: 40)
        altered.proof[0][0] ^= 1
        guard case .inconsistent? = refusal(altered, latest: tree(13)) else { Issue.record("422 proof"); return }
    }
}
