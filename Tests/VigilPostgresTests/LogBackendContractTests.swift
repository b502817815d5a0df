import Foundation
import Logging
import Synchronization
import Testing
import VigilModel
import VigilPostgres
import VigilStore
import VigilTestSupport

/// The store's contract, the same cases on both backends: an SQLite file in a temporary folder and a database of
/// its own on the real PostgreSQL server scripts/test starts.
@Suite struct LogBackendContractTests {
    enum Backend: String, CaseIterable, CustomTestStringConvertible {
        case sqlite
        case postgres

        var testDescription: String { rawValue }
    }

    /// A clock that says what the test sets: recordedAt is then the same on both backends.
    final class SetClock: WallClock {
        let time: Mutex<Timestamp>

        init(_ time: Timestamp) {
            self.time = Mutex(time)
        }

        func now() -> Timestamp { time.withLock { $0 } }
    }

    static let logger = Logger(label: "contract")
    static let start = Timestamp(rfc3339: "2026-11-30T08:00:00Z")!

    /// A place for a log on `backend`: `open` opens (or reopens) the store there, as often as the test asks.
    struct Place: Sendable {
        let backend: Backend
        let folder: String
        let database: PostgresLocation?

        func open(
            anchors: [TrustAnchor], clock: any WallClock = SystemWallClock()
        ) async throws -> EventStore {
            switch backend {
            case .sqlite:
                return try EventStore.open(
                    path: folder + "/vigil.sqlite", anchors: anchors, clock: clock,
                    logger: LogBackendContractTests.logger)
            case .postgres:
                let log = try await PostgresLog.open(database!, logger: LogBackendContractTests.logger)
                return try await EventStore.open(
                    backend: log, anchors: anchors, clock: clock, logger: LogBackendContractTests.logger)
            }
        }
    }

    static func withPlace(_ backend: Backend, _ body: (Place) async throws -> Void) async throws {
        try await withTemporaryDirectory { folder in
            switch backend {
            case .sqlite:
                try await body(Place(backend: backend, folder: folder, database: nil))
            case .postgres:
                try await PostgresTestDatabase.with { database in
                    try await body(Place(backend: backend, folder: folder, database: database))
                }
            }
        }
    }

    static func readings(_ count: Int, by keys: TestKeys, from offset: Int = 0) -> [VerifiedEvent] {
        (0..<count).map { index in
            Fixtures.verified(
                Fixtures.vitals(systolic: Double(100 + index % 50), at: start.adding(seconds: Int64(offset + index))),
                by: keys.device)
        }
    }

    static func isStored(_ outcome: AppendOutcome) -> Bool {
        if case .stored = outcome { true } else { false }
    }

    @Test(arguments: Backend.allCases)
    func appendsGapFreeAndAnswersDuplicatesConflictsAndRefusals(_ backend: Backend) async throws {
        try await Self.withPlace(backend) { place in
            let keys = TestKeys()
            let store = try await place.open(anchors: keys.anchors)
            let registered = await store.append(keys.verifiedRegistrations(at: Self.start))
            #expect(registered.allSatisfy(Self.isStored))
            let readings = Self.readings(5, by: keys)
            let first = await store.append(readings)
            #expect(first.compactMap(\.position) == Array(7...11))

            // The same bytes again: the original positions; the same id with other bytes: a conflict.
            var other = readings[0].payload
            other.occurredAt = Self.start.adding(seconds: 3600)
            let forged = Fixtures.verified(other, by: keys.device)
            let unknown = Fixtures.verified(Fixtures.vitals(at: Self.start), by: SigningKey())
            let twice = Self.readings(1, by: keys, from: 100)[0]
            let again = await store.append([readings[1], forged, unknown, twice, twice])
            #expect(again[0] == .duplicate(position: 8, chainHash: try #require(await store.entry(at: 8)).chainHash))
            guard case .refused(let conflict) = again[1] else { throw Failure("a reused id was not refused") }
            #expect(conflict.code == .conflict)
            guard case .refused(let refused) = again[2] else { throw Failure("an unknown key was not refused") }
            #expect(refused.code == .unknownKey)
            #expect(again[3].position == 12 && Self.isStored(again[3]))
            // The same event twice in one group: stored once, then answered as a duplicate.
            #expect(again[4].position == 12 && !Self.isStored(again[4]))

            // The entries as the published formula says: gap-free, each chained to the one before.
            let entries = try await store.entries(after: 0, limit: 100)
            #expect(entries.map(\.position) == Array(1...12))
            var chain = ChainHash.zero
            for entry in entries {
                let leaf = ChainHash.leafHash(
                    position: entry.position, recordedAt: entry.recordedAt, envelope: entry.envelope)
                chain = ChainHash.chainHash(previous: chain, leaf: leaf)
                #expect(entry.leafHash == leaf && entry.chainHash == chain)
            }
            #expect(store.head.size == 12 && store.head.chainHash == chain)
            #expect(try await store.position(of: twice.payload.id) == 12)
            #expect(try store.contains(eventID: twice.payload.id))
            #expect(try !store.contains(eventID: forged.payload.id.successor()))
            #expect(try await store.entries(at: [12, 99, 3]).map(\.position) == [12, 3])
            await store.close()
        }
    }

    @Test(arguments: Backend.allCases)
    func keysRegisteredOrRevokedCountFromTheNextEventOfTheSameGroup(_ backend: Backend) async throws {
        try await Self.withPlace(backend) { place in
            let keys = TestKeys()
            let store = try await place.open(anchors: keys.anchors)
            let newDevice = SigningKey()
            let outcomes = await store.append([
                Fixtures.verified(Fixtures.registration(of: newDevice, role: .device, name: "Monitor"), by: keys.admin),
                Fixtures.verified(Fixtures.vitals(at: Self.start), by: newDevice),
                Fixtures.verified(Fixtures.revocation(of: newDevice), by: keys.admin),
                Fixtures.verified(Fixtures.vitals(at: Self.start.adding(seconds: 1)), by: newDevice),
            ])
            #expect(outcomes.prefix(3).allSatisfy(Self.isStored))
            guard case .refused(let revoked) = outcomes[3] else { throw Failure("a revoked key was not refused") }
            #expect(revoked.code == .revokedKey)
            await store.close()

            // Reopened, the registry is what the log says.
            let reopened = try await place.open(anchors: keys.anchors)
            #expect(reopened.head.size == 3)
            #expect(reopened.registry.verifyingKey(for: newDevice.id) != nil)
            let late = await reopened.append([Fixtures.verified(Fixtures.vitals(at: Self.start), by: newDevice)])
            guard case .refused(let still) = late[0] else { throw Failure("a revoked key was not refused") }
            #expect(still.code == .revokedKey)
            await reopened.close()
        }
    }

    @Test(arguments: Backend.allCases)
    func reopeningKeepsTheHeadTheTreeAndRecordsAnchorChangesOnce(_ backend: Backend) async throws {
        try await Self.withPlace(backend) { place in
            let keys = TestKeys()
            let store = try await place.open(anchors: keys.anchors)
            _ = await store.append(keys.verifiedRegistrations(at: Self.start))
            _ = await store.append(Self.readings(300, by: keys))
            var head = store.head
            let root = try await store.treeRoot(size: head.size)
            let firstSize = head.size
            #expect(try await store.anchorHistory().count == keys.anchors.count)
            await store.close()

            let secondAdmin = SigningKey()
            let anchors = keys.anchors + [TrustAnchor(publicKey: secondAdmin.publicKey, role: .admin, name: "Second")]
            for _ in 0..<2 {
                let reopened = try await place.open(anchors: anchors)
                #expect(reopened.head == head)
                #expect(try await reopened.treeRoot(size: firstSize) == root)
                let history = try await reopened.anchorHistory()
                #expect(history.count == keys.anchors.count + 1)
                #expect(history.last?.logSize == firstSize && history.last?.kind == .added)
                // Appends go on from the head, and the tree with them.
                let more = await reopened.append(Self.readings(1, by: keys, from: 1000))
                #expect(more[0].position == reopened.head.size)
                #expect(reopened.registry.verifyingKey(for: secondAdmin.id) != nil)
                head = reopened.head
                await reopened.close()
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func rootsProofsAndTilesFollowFromTheLeaves(_ backend: Backend) async throws {
        try await Self.withPlace(backend) { place in
            let keys = TestKeys()
            let store = try await place.open(anchors: keys.anchors)
            _ = await store.append(keys.verifiedRegistrations(at: Self.start))
            for batch in 0..<3 { _ = await store.append(Self.readings(200, by: keys, from: batch * 200)) }
            let leaves = try await store.entries(after: 0, limit: 1000).map(\.leafHash)
            #expect(leaves.count == 606)
            var frontier = MerkleFrontier()
            var roots: [Int: [UInt8]] = [0: MerkleTree.emptyRoot]
            for (index, leaf) in leaves.enumerated() {
                frontier.append(leaf)
                roots[index + 1] = frontier.root
            }
            for size in [1, 2, 255, 256, 257, 511, 512, 513, 606] {
                #expect(try await store.treeRoot(size: Int64(size)) == roots[size], "root of \(size)")
            }
            for (position, size) in [(1, 1), (7, 300), (256, 256), (257, 606), (606, 606)] {
                let proof = try await store.inclusionProof(position: Int64(position), size: Int64(size))
                #expect(
                    MerkleTree.verifyInclusion(
                        leafHash: leaves[position - 1], index: UInt64(position - 1), size: UInt64(size), proof: proof,
                        root: roots[size]!), "inclusion of \(position) in \(size)")
            }
            for (first, second) in [(0, 606), (1, 606), (256, 512), (300, 606), (512, 513)] {
                let proof = try await store.consistencyProof(from: Int64(first), to: Int64(second))
                #expect(
                    MerkleTree.verifyConsistency(
                        first: UInt64(first), second: UInt64(second), firstRoot: roots[first]!,
                        secondRoot: roots[second]!, proof: proof), "consistency \(first) -> \(second)")
            }
            let tile = try #require(try await store.tile(TileAddress(level: 0, index: 1, width: 256)))
            #expect(tile == Array(leaves[256..<512].joined()))
            let partial = try #require(try await store.tile(TileAddress(level: 0, index: 2, width: 94)))
            #expect(partial == Array(leaves[512..<606].joined()))
            #expect(try await store.tile(TileAddress(level: 0, index: 2, width: 95)) == nil)
            await #expect(throws: StoreError.self) { try await store.treeRoot(size: 607) }
            await store.close()
        }
    }

    @Test(arguments: Backend.allCases)
    func headsCheckpointsCosignaturesAndProofBundles(_ backend: Backend) async throws {
        try await Self.withPlace(backend) { place in
            let keys = TestKeys()
            let store = try await place.open(anchors: keys.anchors)
            let signer = LogSigner(key: keys.daemon, origin: "contract.example/vigil")
            _ = await store.append(keys.verifiedRegistrations(at: Self.start))
            let reading = Self.readings(1, by: keys)[0]
            _ = await store.append([reading])
            await #expect(throws: StoreError.self) { try await store.proofBundle(of: reading.payload.id) }

            let record = try await store.signHead(with: signer)
            #expect(record.head.size == 7 && record.head.chainHash == store.head.chainHash)
            try record.checkpoint.verify(by: signer.noteKey)
            // Signed again at the same size: the same head and checkpoint, not new ones.
            let again = try await store.signHead(with: signer)
            #expect(again.envelope == record.envelope && again.checkpoint == record.checkpoint)
            let latest = try #require(try await store.latestCheckpoint())
            #expect(latest.size == 7 && latest.note == Array(record.checkpoint.serialized.utf8))

            let bundle = try #require(try await store.proofBundle(of: reading.payload.id))
            #expect(bundle.event.position == 7 && bundle.registrations.count == 1)
            let proved = try bundle.verify(logKey: signer.noteKey)
            #expect(proved.checkpoint.size == 7 && proved.position == 7 && proved.eventID == reading.payload.id)
            #expect(try await store.proofBundle(of: reading.payload.id.successor()) == nil)
            try await store.recordCosignature(
                of: latest.seq, witness: "witness.example", line: "— witness.example AAAA\n", at: Self.start)
            try await store.recordCosignature(
                of: latest.seq, witness: "witness.example", line: "— witness.example BBBB\n", at: Self.start)
            #expect(try await store.cosignedSizes() == ["witness.example": 7])
            let served = try #require(try await store.latestCosignedCheckpoint())
            #expect(served == latest.note + Array("— witness.example AAAA\n".utf8))

            await store.close()
        }
    }

    @Test(arguments: Backend.allCases)
    func theVerifierChecksTheStoredLogFullyAndFromTheLastSignedHead(_ backend: Backend) async throws {
        try await Self.withPlace(backend) { place in
            let keys = TestKeys()
            let store = try await place.open(anchors: keys.anchors)
            let signer = LogSigner(key: keys.daemon, origin: "contract.example/vigil")
            _ = await store.append(keys.verifiedRegistrations(at: Self.start))
            _ = await store.append(Self.readings(300, by: keys))
            _ = try await store.signHead(with: signer)
            _ = await store.append(Self.readings(20, by: keys, from: 300))
            let full = try await store.verify(.init()).get()
            #expect(full.isValid && full.entriesChecked == 326 && full.signaturesChecked == 326)
            #expect(full.signedHeadsChecked == 1 && full.checkpointsChecked == 1)
            let tail = try await store.verify(.init(fromLastSignedHead: true, share: 0.5)).get()
            #expect(tail.isValid && tail.startedAfter == 306 && tail.entriesChecked == 20)
            #expect(tail.head == store.head)
            await store.close()
        }
    }

    /// The same signed events appended to both backends at the same recorded time give the same bytes: entries,
    /// hashes, tree and checkpoint root.
    @Test func bothBackendsStoreTheSameBytes() async throws {
        let keys = TestKeys()
        let events = keys.verifiedRegistrations(at: Self.start) + Self.readings(300, by: keys)
        var logs: [[StoredEntry]] = []
        var roots: [[UInt8]] = []
        for backend in Backend.allCases {
            try await Self.withPlace(backend) { place in
                let store = try await place.open(anchors: keys.anchors, clock: SetClock(Self.start.adding(seconds: 5)))
                _ = await store.append(Array(events.prefix(100)))
                _ = await store.append(Array(events.dropFirst(100)))
                logs.append(try await store.entries(after: 0, limit: 1000))
                roots.append(try await store.treeRoot(size: store.head.size))
                await store.close()
            }
        }
        #expect(logs[0].count == 306 && logs[0] == logs[1])
        #expect(roots[0] == roots[1])
    }
}

/// Two stores on one PostgreSQL database, as two vigild nodes have: both append at once and the log stays one.
@Suite struct SharedPostgresLogTests {
    /// A store on `database`, as one node opens it.
    static func node(_ database: PostgresLocation, keys: TestKeys, logger: Logger) async throws -> EventStore {
        try await EventStore.open(
            backend: try await PostgresLog.open(database, logger: logger), anchors: keys.anchors, logger: logger)
    }

    @Test func twoWritersOnOneDatabaseKeepOneGapFreeChain() async throws {
        try await PostgresTestDatabase.with { database in
            let keys = TestKeys()
            let logger = Logger(label: "shared")
            let (first, second) = (
                try await Self.node(database, keys: keys, logger: logger),
                try await Self.node(database, keys: keys, logger: logger)
            )
            _ = await first.append(keys.verifiedRegistrations(at: LogBackendContractTests.start))
            // The second learns of the registrations at its first commit: the device is known there too.
            let readings = LogBackendContractTests.readings(400, by: keys)
            let outcomes = await withTaskGroup(of: [AppendOutcome].self) { group in
                for (index, chunk) in readings.chunks(of: 25).enumerated() {
                    let store = index % 2 == 0 ? first : second
                    group.addTask { await store.append(Array(chunk)) }
                }
                var all: [AppendOutcome] = []
                for await outcomes in group { all += outcomes }
                return all
            }
            #expect(outcomes.filter(LogBackendContractTests.isStored).count == 400)
            #expect(Set(outcomes.compactMap(\.position)) == Set(7...406), "positions not 7...406")
            // Each writer knows the head after its own last commit; a third reads the whole log.
            let third = try await Self.node(database, keys: keys, logger: logger)
            #expect(third.head.size == 406)
            let report = try await third.verify(.init()).get()
            #expect(report.isValid && report.entriesChecked == 406)
            // A writer that was behind goes on from the true head.
            let behind = first.head.size == 406 ? second : first
            let late = await behind.append(LogBackendContractTests.readings(1, by: keys, from: 5000))
            #expect(late[0].position == 407)
            for store in [first, second, third] { await store.close() }
        }
    }

    /// A node learns what another appended (`refresh`): its head, its key registry, and its followers of the head.
    @Test func aNodeLearnsTheOthersAppends() async throws {
        try await PostgresTestDatabase.with { database in
            let keys = TestKeys()
            let logger = Logger(label: "shared")
            let (first, second) = (
                try await Self.node(database, keys: keys, logger: logger),
                try await Self.node(database, keys: keys, logger: logger)
            )
            var heads = second.heads().makeAsyncIterator()
            #expect(await heads.next() == 0)
            #expect(try await second.refresh().size == 0)
            _ = await first.append(keys.verifiedRegistrations(at: LogBackendContractTests.start))
            _ = await first.append(LogBackendContractTests.readings(10, by: keys))
            #expect(second.head.size == 0 && second.registry[keys.device.id] == nil)
            let learned = try await second.refresh()
            #expect(learned == first.head)
            #expect(await heads.next() == first.head.size)
            #expect(second.registry[keys.device.id]?.role == .device)
            // What it learned is where its own next append goes on from.
            let next = await second.append(LogBackendContractTests.readings(1, by: keys, from: 100))
            #expect(next[0].position == first.head.size + 1)
            for store in [first, second] { await store.close() }
        }
    }

    /// A node brought up to another's appends by what was appended since has the state a node reading the whole
    /// log has: the same head, tree edge and registry (keys registered and revoked since, and an anchor another node
    /// was started with).
    @Test func theStateBroughtUpByWhatWasAppendedIsTheStateReadWhole() async throws {
        try await PostgresTestDatabase.with { database in
            let keys = TestKeys()
            let logger = Logger(label: "shared")
            let writer = try await Self.node(database, keys: keys, logger: logger)
            let follower = try await PostgresLog.open(database, logger: logger)
            var known = try await follower.loadState(anchors: keys.anchors, now: 1, logger: logger)
            func expectKnownIsTheWholeState() async throws {
                let reader = try await PostgresLog.open(database, logger: logger)
                let whole = try await reader.loadState(anchors: keys.anchors, now: 1, logger: logger)
                await reader.close()
                #expect(known.head == whole.head && known.tree == whole.tree)
                #expect(known.anchorChanges == whole.anchorChanges)
                let standing = { (registry: KeyRegistry) in
                    registry.keys.mapValues { "\($0.role) \($0.origin) \($0.revokedAt ?? 0)" }
                }
                #expect(standing(known.registry) == standing(whole.registry))
            }
            _ = await writer.append(keys.verifiedRegistrations(at: LogBackendContractTests.start))
            _ = await writer.append(LogBackendContractTests.readings(37, by: keys))
            known = try #require(try await follower.newerState(than: known))
            try await expectKnownIsTheWholeState()
            #expect(try await follower.newerState(than: known) == nil, "nothing appended since")

            // A key registered and another revoked, then a node started with one more admin anchor.
            let monitor = SigningKey()
            _ = await writer.append([
                Fixtures.verified(Fixtures.registration(of: monitor, role: .device, name: "Monitor"), by: keys.admin),
                Fixtures.verified(Fixtures.revocation(of: keys.device), by: keys.admin),
            ])
            known = try #require(try await follower.newerState(than: known))
            try await expectKnownIsTheWholeState()
            #expect(known.registry[monitor.id]?.role == .device && known.registry[keys.device.id]?.revokedAt != nil)

            let secondAdmin = SigningKey()
            let widened = keys.anchors + [TrustAnchor(publicKey: secondAdmin.publicKey, role: .admin, name: "Second")]
            let started = try await EventStore.open(
                backend: try await PostgresLog.open(database, logger: logger), anchors: widened, logger: logger)
            await started.close()
            _ = await writer.append([
                Fixtures.verified(
                    Fixtures.registration(of: SigningKey(), role: .clinician, name: "Nurse"), by: keys.admin)
            ])
            known = try #require(try await follower.newerState(than: known))
            #expect(known.registry[secondAdmin.id]?.origin == .anchor)
            #expect(known.anchorChanges == 1 + keys.anchors.count, "the anchor recorded by the node started since")
            await follower.close()
            await writer.close()
        }
    }

    /// One process leads at a time; when its session ends, another takes the lead at its next try.
    @Test func oneProcessLeadsAndAnotherTakesOverWhenItCloses() async throws {
        try await PostgresTestDatabase.with { database in
            let logger = Logger(label: "shared")
            let first = try await PostgresLog.open(database, logger: logger)
            let second = try await PostgresLog.open(database, logger: logger)
            #expect(await first.lead())
            #expect(await !second.lead())
            #expect(await first.lead(), "the leader keeps the lead when it asks again")
            await first.close()
            var took = false
            for _ in 0..<50 where !took {
                took = await second.lead()
                if !took { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(took)
            await second.close()
        }
    }
}

extension Array {
    func chunks(of size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

extension EventID {
    /// Another id, never stored by these tests.
    func successor() -> EventID {
        var next = self
        next.low &+= 1
        return next
    }
}
