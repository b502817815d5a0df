import Foundation
import Testing
import VigilModel
import VigilTestSupport
import VigilWitness

/// The witness keeps what it cosigned across restarts, and answers with a cosignature that verifies.
@Suite struct WitnessStateTests {
    @Test func theWitnessPersistsItsStateAndCosigns() async throws {
        try await withTemporaryDirectory { folder in
            let logKey = SigningKey()
            let origin = "clinic.example.org/vigil"
            let trusted = [try NoteKey(name: origin, publicKey: logKey.verifyingKey)]
            var frontier = MerkleFrontier()
            var leaves: [[UInt8]] = []
            for index in 0..<20 {
                let leaf = [UInt8](repeating: UInt8(index), count: 32)
                leaves.append(leaf)
                frontier.append(leaf)
            }
            let text = LogCheckpoint(origin: origin, size: 20, rootHash: frontier.root).text
            let note = SignedNote.sign(text, name: origin, key: logKey)
            let witnessKey = SigningKey()
            let state = folder + "/witness.state"
            let witness = try Witness(
                name: "witness.example.org/w1", key: witnessKey, trusted: trusted, statePath: state,
                clock: { 1_764_000_000 })
            let lines = try witness.add(
                AddCheckpointRequest(oldSize: 0, proof: [], checkpoint: Array(note.serialized.utf8)))
            let cosigned = try SignedNote(parsing: Array((note.serialized + lines).utf8))
            #expect(try cosigned.verify(by: witness.verifierKey) == 1_764_000_000)
            #expect(FileManager.default.fileExists(atPath: state))

            let reopened = try Witness(
                name: "witness.example.org/w1", key: witnessKey, trusted: trusted, statePath: state)
            #expect(reopened.latest(origin) == WitnessedTree(size: 20, rootHash: frontier.root))
            #expect(throws: WitnessRules.Refusal.self) {
                try reopened.add(AddCheckpointRequest(oldSize: 0, proof: [], checkpoint: Array(note.serialized.utf8)))
            }
        }
    }
}
