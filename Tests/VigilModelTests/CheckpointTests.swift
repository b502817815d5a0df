import Crypto
import Foundation
import Testing
import VigilModel
import VigilTestSupport

@Suite struct CheckpointTests {
    let key = SigningKey()
    let origin = "clinic.example.org/vigil"

    func signed(size: UInt64 = 1234) -> (LogCheckpoint, SignedNote) {
        let checkpoint = LogCheckpoint(origin: origin, size: size, rootHash: Array(SHA256.hash(data: [1, 2, 3])))
        return (checkpoint, SignedNote.sign(checkpoint.text, name: origin, key: key))
    }

    @Test func aCheckpointIsASignedNoteThatVerifiesAndReadsBack() throws {
        let (checkpoint, note) = signed()
        let text = note.serialized
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "clinic.example.org/vigil")
        #expect(lines[1] == "1234")
        #expect(lines[3] == "")
        #expect(lines[4].hasPrefix("\u{2014} clinic.example.org/vigil "))

        let parsed = try SignedNote(parsing: Array(text.utf8))
        #expect(parsed == note)
        let noteKey = try NoteKey(name: origin, publicKey: key.verifyingKey)
        try parsed.verify(by: noteKey)
        #expect(try LogCheckpoint(text: parsed.text) == checkpoint)
        // The signature line's first four bytes are the signed-note key id of the key and its name.
        let blob = Base64.decode(String(lines[4].split(separator: " ")[2]))!
        var hasher = SHA256()
        hasher.update(data: Array(origin.utf8) + [0x0A, 0x01] + key.publicKey)
        #expect(Array(blob.prefix(4)) == Array(Array(hasher.finalize()).prefix(4)))
        #expect(blob.count == 68)
    }

    @Test func theVerifierKeyRoundTrips() throws {
        let noteKey = try NoteKey(name: origin, publicKey: key.verifyingKey)
        let text = noteKey.verifierKey
        #expect(text.hasPrefix("clinic.example.org/vigil+"))
        let read = try NoteKey(verifierKey: text)
        #expect(read.id == noteKey.id && read.publicKey.rawRepresentation == key.publicKey)
        #expect(throws: NoteError.self) { try NoteKey(verifierKey: text.replacingOccurrences(of: "+", with: "-")) }
        let otherName = "other.example.org" + text.drop(while: { $0 != "+" })
        #expect(throws: NoteError.self) { try NoteKey(verifierKey: otherName) }
        // Base64 may hold '+' itself: many keys of both kinds read back.
        for index in 0..<200 {
            let kind: NoteKey.Kind = index % 2 == 0 ? .ed25519 : .cosignature
            let key = try NoteKey(name: "w\(index).example.org", publicKey: SigningKey().verifyingKey, kind: kind)
            let read = try NoteKey(verifierKey: key.verifierKey)
            #expect(read.kind == kind && read.id == key.id && read.name == key.name)
        }
    }

    /// Any changed byte of the text or the signature, another key, or another name: refused.
    @Test func aTamperedCheckpointIsRefused() async throws {
        let (_, note) = signed()
        let noteKey = try NoteKey(name: origin, publicKey: key.verifyingKey)
        let bytes = Array(note.serialized.utf8)
        let stillVerifying = try await onOwnThread { () -> [Int] in
            bytes.indices.filter { index in
                var altered = bytes
                altered[index] ^= 0x01
                guard let parsed = try? SignedNote(parsing: altered) else { return false }
                return (try? parsed.verify(by: noteKey)) != nil
            }
        }
        #expect(stillVerifying.isEmpty, "changes at bytes \(stillVerifying) still verify")
        let stranger = try NoteKey(name: origin, publicKey: SigningKey().verifyingKey)
        #expect(throws: NoteError.self) { try note.verify(by: stranger) }
        let renamed = try NoteKey(name: "other.example.org/vigil", publicKey: key.verifyingKey)
        #expect(throws: NoteError.self) { try note.verify(by: renamed) }
    }

    @Test func malformedNotesAndCheckpointsAreRefused() {
        let cases = [
            "no blank line\n\u{2014} a AAAAAAAAAAA=\n",
            "text\n\n",
            "text\n\n- name AAAAAAAA\n",
            "text\n\n\u{2014} name notbase64!\n",
            "text\n\n\u{2014} name AAAA\n",
            "te\u{7}xt\n\n\u{2014} name AAAAAAAAAAA=\n",
            "text\n\n\u{2014} na+me AAAAAAAAAAA=\n",
            "text\n\n\u{2014} name AAAAAAAAAAA=",
        ]
        for text in cases {
            #expect(throws: NoteError.self, "\(text.debugDescription)") { try SignedNote(parsing: Array(text.utf8)) }
        }
        #expect(throws: NoteError.self) { try SignedNote(parsing: [0x61, 0x0A, 0x0A, 0xFF, 0x0A]) }
        for text in [
            "origin\n12\n", "origin\n012\n\(Base64.encode([UInt8](repeating: 0, count: 32)))\n",
            "origin\n12\nAAAA\n", "\n12\n\(Base64.encode([UInt8](repeating: 0, count: 32)))\n",
            "origin\n-1\n\(Base64.encode([UInt8](repeating: 0, count: 32)))\n",
        ] {
            #expect(throws: NoteError.self) { try LogCheckpoint(text: text) }
        }
    }
}
