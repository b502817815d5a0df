import Crypto
import Foundation
import GRDB
import Logging
import Testing
import VigilModel
import VigilTestSupport

@testable import VigilStore

/// A store in a fresh temporary folder, with the cast of keys registered.
struct StoreFixture {
    let keys = TestKeys()
    let folder: String
    var path: String { folder + "/vigil.sqlite" }
    let logger = Logger(label: "test")

    func open(anchors: [TrustAnchor]? = nil) throws -> EventStore {
        try EventStore.open(path: path, anchors: anchors ?? keys.anchors, logger: logger)
    }

    func registerAll(_ store: EventStore) async throws {
        let events = keys.registrable.map {
            Fixtures.verified(Fixtures.registration(of: $0.key, role: $0.role, name: $0.name), by: keys.admin)
        }
        let outcomes = await store.append(events)
        #expect(outcomes.allSatisfy { if case .stored = $0 { true } else { false } })
    }
}

func withStore(_ body: (StoreFixture, EventStore) async throws -> Void) async throws {
    try await withTemporaryDirectory { folder in
        let fixture = StoreFixture(folder: folder)
        let store = try fixture.open()
        try await fixture.registerAll(store)
        try await body(fixture, store)
        await store.close()
    }
}

@Suite struct EventStoreTests {
    @Test func appendsGapFreeAndChainsAsThePublishedFormulaSays() async throws {
        try await withStore { fixture, store in
            let events = (0..<5).map { _ in Fixtures.verified(Fixtures.vitals(), by: fixture.keys.device) }
            let outcomes = await store.append(events)
            #expect(outcomes.map(\.position) == [7, 8, 9, 10, 11])

            // Recompute every hash from the raw rows with nothing but SHA-256, as an auditor would.
            let raw = try DatabaseQueue(path: fixture.path)
            let rows = try raw.read { db in
                try Row.fetchAll(
                    db,
                    sql: "SELECT position, recorded_at, envelope, leaf_hash, chain_hash FROM events ORDER BY position")
            }
            var chain = [UInt8](repeating: 0, count: 32)
            for (index, row) in rows.enumerated() {
                let position: Int64 = row[0]
                let recordedAt: Int64 = row[1]
                #expect(position == Int64(index + 1))
                var entry: [UInt8] = [0]
                entry += withUnsafeBytes(of: position.bigEndian, Array.init)
                entry += withUnsafeBytes(of: recordedAt.bigEndian, Array.init)
                entry += [UInt8](row[2] as Data)
                let leaf = Array(SHA256.hash(data: entry))
                chain = Array(SHA256.hash(data: chain + leaf))
                #expect([UInt8](row[3] as Data) == leaf)
                #expect([UInt8](row[4] as Data) == chain)
            }
            #expect(store.head.size == 11)
            #expect(store.head.chainHash == chain)
            try raw.close()
        }
    }

    @Test func keepsTheWriterDurable() async throws {
        try await withStore { _, store in
            let mode = try await (store.backend as! SQLiteLog).database.writeWithoutTransaction { db in
                try Int.fetchOne(db, sql: "PRAGMA synchronous")
            }
            #expect(mode == 2, "PRAGMA synchronous must be FULL (2) on the writer")
            let automatic = try await (store.backend as! SQLiteLog).database.writeWithoutTransaction { db in
                try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint")
            }
            #expect(automatic == 0, "no append may pay for a checkpoint: the log mover copies the log beside them")
            let journal = try await (store.backend as! SQLiteLog).database.read { db in
                try String.fetchOne(db, sql: "PRAGMA journal_mode")
            }
            #expect(journal == "wal")
        }
    }

    @Test func sameBytesAreADuplicateAndOtherBytesAConflict() async throws {
        try await withStore { fixture, store in
            let vitals = Fixtures.vitals()
            let event = Fixtures.verified(vitals, by: fixture.keys.clinician)
            let first = await store.append([event])
            let again = await store.append([event, event])
            guard case .stored(let position, let chain, _) = first[0] else {
                Issue.record("not stored: \(first)")
                return
            }
            #expect(
                again == [
                    .duplicate(position: position, chainHash: chain), .duplicate(position: position, chainHash: chain),
                ])
            // Same id, re-signed by another key: other bytes.
            let other = await store.append([Fixtures.verified(vitals, by: fixture.keys.device)])
            guard case .refused(let error) = other[0] else {
                Issue.record("not refused")
                return
            }
            #expect(error.code == .conflict)
            #expect(store.head.size == position)
        }
    }

    @Test func duplicatesInsideOneGroupStoreOnce() async throws {
        try await withStore { fixture, store in
            let event = Fixtures.verified(Fixtures.vitals(), by: fixture.keys.clinician)
            async let a = store.append([event])
            async let b = store.append([event])
            let results = await [a[0], b[0]]
            #expect(Set(results.compactMap(\.position)).count == 1)
            #expect(store.head.size == 7)
        }
    }

    @Test func checksStandingAtTheEventsOwnPosition() async throws {
        try await withStore { fixture, store in
            let keys = fixture.keys
            let revoke = Fixtures.verified(Fixtures.revocation(of: keys.device), by: keys.admin)
            let before = Fixtures.verified(Fixtures.vitals(), by: keys.device)
            let after = Fixtures.verified(Fixtures.vitals(), by: keys.device)
            let outcomes = await store.append([before, revoke, after])
            #expect(outcomes[0].position == 7)
            #expect(outcomes[1].position == 8)
            #expect(
                outcomes[2]
                    == .refused(
                        IngestError(.revokedKey, "the author key \(keys.device.id.short) was revoked at position 8")))
            let forbidden = await store.append([Fixtures.verified(Fixtures.vitals(), by: keys.pharmacist)])
            #expect(
                forbidden.first.map { if case .refused(let error) = $0 { error.code == .forbiddenType } else { false } }
                    == true)
            #expect(store.head.size == 8)
        }
    }

    @Test func reopeningRestoresTheHeadTheRegistryAndTheAnchors() async throws {
        try await withTemporaryDirectory { folder in
            let fixture = StoreFixture(folder: folder)
            var store = try fixture.open()
            try await fixture.registerAll(store)
            _ = await store.append([
                Fixtures.verified(Fixtures.revocation(of: fixture.keys.device), by: fixture.keys.admin)
            ])
            let head = store.head
            await store.close()

            let secondAdmin = SigningKey()
            let anchors = [
                TrustAnchor(publicKey: secondAdmin.publicKey, role: .admin, name: "Second Admin"),
                fixture.keys.anchors[1],
            ]
            store = try fixture.open(anchors: anchors)
            #expect(store.head == head)
            #expect(store.registry[fixture.keys.device.id]?.revokedAt == 7)
            #expect(store.registry[fixture.keys.clinician.id]?.role == .clinician)
            #expect(
                store.registry[fixture.keys.admin.id] == nil,
                "an anchor dropped from the configuration is no longer trusted")
            #expect(store.registry[secondAdmin.id]?.role == .admin)
            let changes = try await (store.backend as! SQLiteLog).database.read { db in
                try SQLiteLog.fetchAnchorChanges(db)
            }
            #expect(changes.map(\.kind) == [.added, .added, .removed, .added])
            #expect(changes.last?.logSize == 7)
            await store.close()
        }
    }

    @Test func triggersKeepTheLogAppendOnlyAndGapFree() async throws {
        try await withStore { fixture, store in
            await store.close()
            let raw = try DatabaseQueue(path: fixture.path)
            for sql in [
                "UPDATE events SET envelope = x'00' WHERE position = 1",
                "DELETE FROM events WHERE position = 6",
                "INSERT INTO events VALUES (9, x'00', 0, x'00', x'00', x'00')",
                "DELETE FROM key_events",
                "UPDATE trust_anchors SET role = 'admin'",
            ] {
                #expect(throws: DatabaseError.self, "\(sql)") { try raw.write { try $0.execute(sql: sql) } }
            }
            let count = try await raw.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM events") }
            #expect(count == 6)
            try raw.close()
        }
    }

    @Test func concurrentAppendersShareCommitsWithoutGaps() async throws {
        try await withStore { fixture, store in
            let perTask = 25
            let results = await withTaskGroup(of: [AppendOutcome].self) { group in
                for _ in 0..<32 {
                    group.addTask {
                        var outcomes: [AppendOutcome] = []
                        for _ in 0..<perTask {
                            outcomes += await store.append([
                                Fixtures.verified(Fixtures.vitals(), by: fixture.keys.device)
                            ])
                        }
                        return outcomes
                    }
                }
                var all: [AppendOutcome] = []
                for await outcomes in group { all += outcomes }
                return all
            }
            let positions = results.compactMap(\.position).sorted()
            #expect(positions == Array(7...Int64(6 + 32 * perTask)))
            #expect(store.head.size == Int64(6 + 32 * perTask))
            await store.close()
            let report = try LogVerifier.verify(path: fixture.path)
            #expect(report.isValid, "\(String(describing: report.failure))")
            #expect(report.entriesChecked == Int64(6 + 32 * perTask))
        }
    }

    /// Appends never checkpoint; the log mover copies the write-ahead log into the file beside them and starts it
    /// again, so it stays short under steady appends and officers' reads, and everything appended is in the file.
    @Test func theLogIsMovedIntoTheFileBesideTheAppends() async throws {
        try await withStore { fixture, store in
            let log = store.backend as! SQLiteLog
            let appends = 2000
            try await withThrowingTaskGroup { group in
                // What the appends start at most once a second, here every few milliseconds, with a small log allowed.
                group.addTask {
                    while !Task.isCancelled {
                        do {
                            try await log.logMover.move(restartingPast: 32)
                            try await Task.sleep(for: .milliseconds(2))
                        } catch _ where Task.isCancelled {}
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        // Cancelled, GRDB interrupts the read.
                        do { _ = try await store.entries(after: 0, limit: 1) } catch _ where Task.isCancelled {}
                    }
                }
                for _ in 0..<appends {
                    let outcomes = await store.append([Fixtures.verified(Fixtures.vitals(), by: fixture.keys.device)])
                    #expect(outcomes.allSatisfy { if case .stored = $0 { true } else { false } })
                }
                group.cancelAll()
                // A move or a read that failed fails the test.
                try await group.waitForAll()
            }
            // Each append wrote several 4 KB pages to the log. A log never started again holds all of them.
            let frameBytes = 4096 + 24
            let logBytes = try #require(
                try FileManager.default.attributesOfItem(atPath: fixture.path + "-wal")[.size] as? Int)
            #expect(logBytes < appends * frameBytes / 2, "the log holds \(logBytes / frameBytes) frames")
            // The file alone (the log copied into it, as a checkpoint leaves it) holds every event.
            try await log.logMover.move(restartingPast: 0)
            let copy = fixture.folder + "/copy.sqlite"
            try FileManager.default.copyItem(atPath: fixture.path, toPath: copy)
            let raw = try DatabaseQueue(path: copy)
            #expect(try await raw.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM events") } == 6 + appends)
            try raw.close()
        }
    }

    /// A store that a newer release migrated past this one's schema is refused, unchanged, with a message
    /// naming what to do; the store is not migrated or written.
    @Test func aStoreFromANewerReleaseIsRefused() async throws {
        try await withTemporaryDirectory { folder in
            let fixture = StoreFixture(folder: folder)
            let store = try fixture.open()
            try await fixture.registerAll(store)
            let head = store.head
            await store.close()
            let raw = try DatabaseQueue(path: fixture.path)
            try await raw.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
            }
            try raw.close()
            #expect {
                _ = try fixture.open()
            } throws: { error in
                guard let error = error as? StoreError else { return false }
                return error.code == .newerVersion && error.message.contains("v99-from-the-future")
                    && error.message.contains("newer release")
            }
            let reader = try LogReader(path: fixture.path)
            #expect(try reader.size() == head.size)
            reader.close()
        }
    }
}
