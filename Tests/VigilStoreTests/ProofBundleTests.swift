import Foundation
import Testing
import VigilModel
import VigilTestSupport

@testable import VigilStore

@Suite struct ProofBundleTests {
    let origin = "clinic.example.org/vigil"

    /// A store with a witnessed waste among vitals, signed; the bundle of the waste.
    func bundle(_ body: (StoreFixture, ProofBundle, NoteKey) async throws -> Void) async throws {
        try await withStore { fixture, store in
            let signer = LogSigner(key: fixture.keys.daemon, origin: origin)
            _ = await store.append((0..<40).map { _ in Fixtures.verified(Fixtures.vitals(), by: fixture.keys.device) })
            let waste = Fixtures.verified(
                Fixtures.wasted(), by: fixture.keys.pharmacist, witnesses: [fixture.keys.clinician])
            _ = await store.append([waste])
            _ = await store.append((0..<30).map { _ in Fixtures.verified(Fixtures.vitals(), by: fixture.keys.device) })
            do {
                _ = try await store.proofBundle(of: waste.payload.id)
                Issue.record("a bundle was built with no checkpoint covering the event")
            } catch let error as StoreError {
                #expect(error.code == .outOfRange)
            }
            _ = try await store.signHead(with: signer)
            let bundle = try #require(try await store.proofBundle(of: waste.payload.id))
            #expect(try await store.proofBundle(of: EventID.v7(at: Timestamp(microsecondsSinceEpoch: 1))) == nil)
            try await body(fixture, bundle, signer.noteKey)
        }
    }

    @Test func aBundleVerifiesOfflineAndRoundTrips() async throws {
        try await bundle { fixture, bundle, logKey in
            #expect(bundle.event.position == 47)
            #expect(bundle.registrations.count == 2)
            let read = try ProofBundle(json: JSONWriter.bytes(bundle.json))
            #expect(read == bundle)
            let proved = try read.verify(logKey: logKey)
            #expect(proved.position == 47 && proved.eventType == "dose.wasted")
            #expect(proved.checkpoint.size == 77)
            #expect(proved.signers.count == 2 && proved.signers[0].contains("pharmacist"))
            // Another log's key, or the right key under another name: refused.
            let stranger = try NoteKey(name: origin, publicKey: SigningKey().verifyingKey)
            #expect(throws: BundleError.self) { try read.verify(logKey: stranger) }
            let renamed = try NoteKey(name: "other.example.org/vigil", publicKey: fixture.keys.daemon.verifyingKey)
            #expect(throws: BundleError.self) { try read.verify(logKey: renamed) }
        }
    }

    /// One changed byte anywhere in the bundle's JSON: reading or verifying fails, naming a part.
    @Test func oneChangedByteAnywhereFails() async throws {
        try await bundle { _, bundle, logKey in
            let bytes = JSONWriter.bytes(bundle.json)
            let (parts, verified) = try await onOwnThread { () -> ([String: Int], [Int]) in
                var parts: [String: Int] = [:]
                var verified: [Int] = []
                for index in bytes.indices {
                    var altered = bytes
                    altered[index] ^= 0x01
                    do {
                        _ = try ProofBundle(json: altered).verify(logKey: logKey)
                        verified.append(index)
                    } catch let error as BundleError {
                        let part = error.message.prefix { $0 != ":" && $0 != " " }
                        parts[String(part), default: 0] += 1
                    }
                }
                return (parts, verified)
            }
            #expect(verified.isEmpty, "changes at bytes \(verified) of \(bytes.count) still verify")
            // The failures name where they are: the checkpoint, the event, a registration, or the JSON.
            #expect(parts.keys.contains("checkpoint") && parts.keys.contains("event"))
            #expect(parts.keys.contains { $0.hasPrefix("registrations") })
        }
    }

    /// A witness's cosignature on the checkpoint verifies with its key; asking for a witness that did not
    /// cosign, or a cosignature over another checkpoint, fails.
    @Test func witnessCosignaturesAreChecked() async throws {
        try await bundle { _, bundle, logKey in
            let witness = SigningKey()
            let witnessKey = try NoteKey(
                name: "witness.example.org/w1", publicKey: witness.verifyingKey, kind: .cosignature)
            var note = try SignedNote(parsing: bundle.checkpoint)
            note.signatures.append(
                Cosignature.sign(note.text, name: witnessKey.name, key: witness, timestamp: 1_764_000_000))
            var cosigned = bundle
            cosigned.checkpoint = Array(note.serialized.utf8)
            let proved = try cosigned.verify(logKey: logKey, witnessKeys: [witnessKey])
            #expect(proved.witnesses == ["witness.example.org/w1"])
            #expect(try NoteKey(verifierKey: witnessKey.verifierKey).kind == .cosignature)
            #expect(throws: BundleError.self) { try bundle.verify(logKey: logKey, witnessKeys: [witnessKey]) }
            var forged = try SignedNote(parsing: bundle.checkpoint)
            forged.signatures.append(
                Cosignature.sign(
                    "other\n1\n\(Base64.encode([UInt8](repeating: 0, count: 32)))\n",
                    name: witnessKey.name, key: witness, timestamp: 1_764_000_000))
            var misplaced = bundle
            misplaced.checkpoint = Array(forged.serialized.utf8)
            #expect(throws: BundleError.self) { try misplaced.verify(logKey: logKey, witnessKeys: [witnessKey]) }
        }
    }
}
