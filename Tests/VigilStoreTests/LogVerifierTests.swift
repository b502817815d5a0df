import Foundation
import GRDB
import Logging
import Synchronization
import Testing
import VigilModel
import VigilTestSupport

@testable import VigilStore

/// Tampering as an attacker with write access to the file would: triggers dropped, rows edited.
func tamper(_ path: String, _ sql: String...) throws {
    let raw = try DatabaseQueue(path: path)
    try raw.write { db in
        for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'") {
            try db.execute(sql: "DROP TRIGGER \(trigger)")
        }
        for statement in sql { try db.execute(sql: statement) }
    }
    try raw.close()
}

@Suite struct LogVerifierTests {
    /// A closed store with 6 registrations, 10 vitals, a witnessed waste and a signed head.
    func populatedStore(_ body: (StoreFixture) async throws -> Void) async throws {
        try await withStore { fixture, store in
            _ = await store.append(
                (0..<10).map { _ in Fixtures.verified(Fixtures.vitals(), by: fixture.keys.clinician) })
            _ = await store.append([
                Fixtures.verified(Fixtures.wasted(), by: fixture.keys.pharmacist, witnesses: [fixture.keys.clinician])
            ])
            _ = try await store.signHead(with: LogSigner(key: fixture.keys.daemon, origin: "test.invalid/vigil"))
            await store.close()
            try await body(fixture)
        }
    }

    @Test func anIntactLogVerifies() async throws {
        try await populatedStore { fixture in
            let report = try LogVerifier.verify(path: fixture.path)
            #expect(report.isValid)
            #expect(report.entriesChecked == 17)
            #expect(report.signaturesChecked == 18)
            #expect(report.signedHeadsChecked == 1)
            let hashesOnly = try LogVerifier.verify(path: fixture.path, options: .init(checkSignatures: false))
            #expect(hashesOnly.isValid && hashesOnly.signaturesChecked == 0)
        }
    }

    /// The background check's pacing: on one thread, it pauses after each chunk so that its work stays under
    /// its share of a core, and it finds the same things as the check at full speed.
    @Test func aPacedCheckStaysUnderItsShareAndFindsTheSame() async throws {
        try await withStore { fixture, store in
            for _ in 0..<4 {
                _ = await store.append(
                    (0..<500).map { _ in Fixtures.verified(Fixtures.vitals(), by: fixture.keys.device) })
            }
            await store.close()
            let paced = try LogVerifier.verify(path: fixture.path, options: .init(share: 0.2))
            #expect(paced.isValid)
            #expect(paced.signaturesChecked == 2006)
            #expect(paced.busySeconds > 0)
            #expect(
                paced.busySeconds / paced.elapsedSeconds <= 0.25,
                "busy \(paced.busySeconds) s of \(paced.elapsedSeconds) s")
            try tamper(
                fixture.path,
                "UPDATE events SET envelope = CAST(replace(CAST(envelope AS TEXT), 'eyJ', 'eyK') AS BLOB) WHERE position = 1500"
            )
            let found = try LogVerifier.verify(path: fixture.path, options: .init(share: 0.5))
            #expect(found.failure == (try LogVerifier.verify(path: fixture.path)).failure)
            #expect(found.failure?.position == 1500)
        }
    }

    /// A check holds no read transaction for its whole run (issue 20: one held for a paced check kept SQLite from
    /// copying the store's write-ahead log into the file, and the first commit after the check paid for it all):
    /// while it runs, the log is copied whole between appends, and it checks the log as it stood when it began.
    @Test func aRunningCheckLeavesTheWriteAheadLogFreeToBeCopied() async throws {
        try await withStore { fixture, store in
            for _ in 0..<2 {
                _ = await store.append(
                    (0..<500).map { _ in Fixtures.verified(Fixtures.vitals(), by: fixture.keys.device) })
            }
            let logged = Int64(store.head.size)
            let started = Atomic<Bool>(false)
            let finished = Atomic<Bool>(false)
            let check = Task {
                let report = await store.verify(
                    .init(share: 0.25, progress: { _ in started.store(true, ordering: .relaxed) }))
                finished.store(true, ordering: .releasing)
                return report
            }
            while !started.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(5)) }
            // A connection of its own copies the log into the file after each append, as SQLite's checkpoints do.
            let copier = try DatabaseQueue(path: fixture.path)
            var (appends, copiedWhole) = (0, 0)
            while !finished.load(ordering: .acquiring) {
                _ = await store.append(
                    (0..<10).map { _ in Fixtures.verified(Fixtures.vitals(), by: fixture.keys.device) })
                let (frames, copied): (Int, Int)
                do {
                    (frames, copied) = try await copier.writeWithoutTransaction { try $0.checkpoint(.passive) }
                } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                    // The store's own log mover was copying the log at that moment: this round tells nothing.
                    try await Task.sleep(for: .milliseconds(20))
                    continue
                }
                appends += 1
                if copied == frames { copiedWhole += 1 }
                try await Task.sleep(for: .milliseconds(20))
            }
            try copier.close()
            let report = try await check.value.get()
            #expect(report.isValid && report.entriesChecked == logged)
            #expect(appends >= 5, "the check ended after \(appends) appends")
            #expect(copiedWhole * 2 > appends, "the log was copied whole after \(copiedWhole) of \(appends) appends")
        }
    }

    @Test func oneChangedByteNamesItsPosition() async throws {
        try await populatedStore { fixture in
            // Flip one byte inside the stored envelope of position 9.
            try tamper(
                fixture.path,
                "UPDATE events SET envelope = CAST(replace(CAST(envelope AS TEXT), 'eyJ', 'eyK') AS BLOB) WHERE position = 9"
            )
            let report = try LogVerifier.verify(path: fixture.path)
            #expect(report.failure?.position == 9)
            #expect(report.failure?.reason.contains("leaf hash") == true)
            #expect(report.entriesChecked == 8)
        }
    }

    @Test func aDeletedRowIsFound() async throws {
        try await populatedStore { fixture in
            try tamper(fixture.path, "DELETE FROM events WHERE position = 12")
            let report = try LogVerifier.verify(path: fixture.path)
            #expect(report.failure?.position == 12)
            #expect(report.failure?.reason.contains("missing") == true)
        }
    }

    @Test func aRemovedTailIsFoundAgainstTheSignedHead() async throws {
        try await populatedStore { fixture in
            try tamper(fixture.path, "DELETE FROM events WHERE position >= 16")
            let report = try LogVerifier.verify(path: fixture.path)
            #expect(report.failure?.position == 16)
            #expect(report.failure?.reason.contains("signed a head of size 17") == true)
        }
    }

    @Test func aRehashedForgeryFailsOnItsSignature() async throws {
        try await populatedStore { fixture in
            // Rewrite the last entry with a forged payload and recompute its hashes: only the signature can tell.
            let raw = try DatabaseQueue(path: fixture.path)
            let (row, previous) = try raw.read { db in
                (
                    try Row.fetchOne(db, sql: "SELECT * FROM events WHERE position = 17")!,
                    try Row.fetchOne(db, sql: "SELECT chain_hash FROM events WHERE position = 16")!
                )
            }
            try raw.close()
            var envelope = try Envelope.decode([UInt8](row["envelope"] as Data))
            var payload = try EventPayload.decode(envelope.payload, context: .replay)
            if case .doseWasted(var body) = payload.data {
                body.quantity = Milligrams(2)
                payload.data = .doseWasted(body)
            }
            envelope.payload = payload.jsonBytes
            let bytes = envelope.jsonBytes
            let leaf = ChainHash.leafHash(position: 17, recordedAt: row["recorded_at"], envelope: bytes)
            let chain = ChainHash.chainHash(previous: [UInt8](previous[0] as Data), leaf: leaf)
            try tamper(
                fixture.path,
                "UPDATE events SET envelope = x'\(Hex.encode(bytes))', leaf_hash = x'\(Hex.encode(leaf))', chain_hash = x'\(Hex.encode(chain))' WHERE position = 17",
                "DELETE FROM signed_heads", "DELETE FROM checkpoints"
            )
            let report = try LogVerifier.verify(path: fixture.path)
            #expect(report.failure?.position == 17)
            #expect(report.failure?.reason.contains("signature") == true)
            let hashesOnly = try LogVerifier.verify(path: fixture.path, options: .init(checkSignatures: false))
            #expect(hashesOnly.isValid, "hash checks alone cannot see a consistent rewrite; signatures must")
        }
    }

    @Test func aTamperedKeyCopyIsFound() async throws {
        try await populatedStore { fixture in
            try tamper(fixture.path, "UPDATE key_events SET role = 'admin' WHERE position = 3")
            let report = try LogVerifier.verify(path: fixture.path)
            #expect(report.failure?.position == 3)
            #expect(report.failure?.reason.contains("key_events") == true)
        }
    }

    @Test func verifiesAgainstTheAuditorsOwnAnchors() async throws {
        try await populatedStore { fixture in
            let own = try LogVerifier.verify(path: fixture.path, options: .init(anchors: [fixture.keys.anchors[0]]))
            #expect(own.isValid)
            let stranger = TrustAnchor(publicKey: SigningKey().publicKey, role: .admin, name: "someone else")
            let other = try LogVerifier.verify(path: fixture.path, options: .init(anchors: [stranger]))
            #expect(other.failure?.position == 1)
        }
    }

    @Test func refusesAFileThatIsNotAStore() async throws {
        try await withTemporaryDirectory { folder in
            #expect(throws: StoreError.self) { try LogVerifier.verify(path: folder + "/missing.sqlite") }
            let other = try DatabaseQueue(path: folder + "/other.sqlite")
            try await other.write { try $0.execute(sql: "CREATE TABLE t (x)") }
            try other.close()
            #expect(throws: StoreError.self) { try LogVerifier.verify(path: folder + "/other.sqlite") }
        }
    }
}

@Suite struct TailVerificationTests {
    /// A closed store: registrations, 10 vitals, a head signed at 16, then 5 more vitals.
    func storeWithTail(_ body: (StoreFixture) async throws -> Void) async throws {
        try await withStore { fixture, store in
            _ = await store.append(
                (0..<10).map { _ in Fixtures.verified(Fixtures.vitals(), by: fixture.keys.clinician) })
            _ = try await store.signHead(with: LogSigner(key: fixture.keys.daemon, origin: "test.invalid/vigil"))
            _ = await store.append((0..<5).map { _ in Fixtures.verified(Fixtures.vitals(), by: fixture.keys.device) })
            await store.close()
            try await body(fixture)
        }
    }

    @Test func startsAtTheLastSignedHead() async throws {
        try await storeWithTail { fixture in
            let report = try LogVerifier.verify(path: fixture.path, options: .init(fromLastSignedHead: true))
            #expect(report.isValid, "\(String(describing: report.failure))")
            #expect(report.startedAfter == 16)
            #expect(report.entriesChecked == 5)
            #expect(report.signaturesChecked == 5)
            #expect(report.head.size == 21)
        }
    }

    @Test func findsAChangeAfterTheHead() async throws {
        try await storeWithTail { fixture in
            try tamper(
                fixture.path,
                "UPDATE events SET envelope = CAST(replace(CAST(envelope AS TEXT), 'eyJ', 'eyK') AS BLOB) WHERE position = 19"
            )
            let report = try LogVerifier.verify(path: fixture.path, options: .init(fromLastSignedHead: true))
            #expect(report.failure?.position == 19)
        }
    }

    @Test func findsAHeadThatNoLongerMatches() async throws {
        try await storeWithTail { fixture in
            try tamper(fixture.path, "UPDATE events SET chain_hash = zeroblob(32) WHERE position = 16")
            let report = try LogVerifier.verify(path: fixture.path, options: .init(fromLastSignedHead: true))
            #expect(report.failure?.position == 16)
            #expect(report.failure?.reason.contains("signed") == true)
        }
    }

    @Test func aChangeBeforeTheHeadNeedsTheFullCheck() async throws {
        try await storeWithTail { fixture in
            // Only the envelope changes, its hashes are left: the quick check trusts the signed head for it.
            try tamper(
                fixture.path,
                "UPDATE events SET envelope = CAST(replace(CAST(envelope AS TEXT), 'eyJ', 'eyK') AS BLOB) WHERE position = 9"
            )
            #expect(try LogVerifier.verify(path: fixture.path, options: .init(fromLastSignedHead: true)).isValid)
            #expect(try LogVerifier.verify(path: fixture.path).failure?.position == 9)
        }
    }

    @Test func findsARemovedTail() async throws {
        try await storeWithTail { fixture in
            try tamper(fixture.path, "DELETE FROM events WHERE position >= 14")
            let report = try LogVerifier.verify(path: fixture.path, options: .init(fromLastSignedHead: true))
            #expect(report.failure?.position == 16)
            #expect(report.failure?.reason.contains("removed") == true)
        }
    }
}
