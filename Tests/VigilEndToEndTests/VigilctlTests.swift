import Foundation
import GRDB
import Logging
import Testing
import VigilModel
import VigilStore
import VigilTestSupport

@Suite struct VigilctlTests {
    /// A closed store with registrations and a few events, built in-process.
    func makeStore(in folder: String, keys: TestKeys) async throws -> String {
        let path = folder + "/vigil.sqlite"
        let store = try EventStore.open(path: path, anchors: keys.anchors, logger: Logger(label: "test"))
        _ = await store.append(keys.verifiedRegistrations(at: Fixtures.now()))
        _ = await store.append((0..<20).map { _ in Fixtures.verified(Fixtures.vitals(), by: keys.device) })
        await store.close()
        return path
    }

    @Test func verifyExitsZeroOnAnIntactStore() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let path = try await makeStore(in: folder, keys: keys)
            let result = try await run(Binaries.vigilctl, ["verify", "--database", path])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("OK: 26 entries, 26 signatures"))
            let own = try await run(
                Binaries.vigilctl, ["verify", "--database", path, "--admin-key", Base64.encode(keys.admin.publicKey)])
            #expect(own.status == 0)
            let stranger = try await run(
                Binaries.vigilctl, ["verify", "--database", path, "--admin-key", Base64.encode(SigningKey().publicKey)])
            #expect(stranger.status == 1)
            #expect(stranger.stdout.contains("FAILED at position 1"))
        }
    }

    @Test func verifyFromTheLastSignedHeadRehashesOnlyWhatCameAfter() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let path = folder + "/vigil.sqlite"
            let store = try EventStore.open(path: path, anchors: keys.anchors, logger: Logger(label: "test"))
            _ = await store.append(keys.verifiedRegistrations(at: Fixtures.now()))
            _ = try await store.signHead(with: LogSigner(key: keys.daemon, origin: "test.example/vigil"))
            _ = await store.append((0..<5).map { _ in Fixtures.verified(Fixtures.vitals(), by: keys.device) })
            await store.close()
            let quick = try await run(Binaries.vigilctl, ["verify", "--database", path, "--from-last-head"])
            #expect(quick.status == 0, "\(quick.stdout)\(quick.stderr)")
            #expect(quick.stdout.contains("OK: 5 entries"), "\(quick.stdout)")
            let full = try await run(Binaries.vigilctl, ["verify", "--database", path])
            #expect(full.stdout.contains("OK: 11 entries"), "\(full.stdout)")
        }
    }

    @Test func verifyNamesTheFirstChangedByte() async throws {
        try await withTemporaryDirectory { folder in
            let path = try await makeStore(in: folder, keys: TestKeys())
            let raw = try DatabaseQueue(path: path)
            try await raw.write { db in
                for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'") {
                    try db.execute(sql: "DROP TRIGGER \(trigger)")
                }
                // One byte of position 14's envelope: a digit of the signature's base64 changes.
                let envelope = try Data.fetchOne(db, sql: "SELECT envelope FROM events WHERE position = 14")!
                var bytes = [UInt8](envelope)
                bytes[bytes.count - 5] =
                    bytes[bytes.count - 5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
                try db.execute(sql: "UPDATE events SET envelope = ? WHERE position = 14", arguments: [Data(bytes)])
            }
            try raw.close()
            let result = try await run(Binaries.vigilctl, ["verify", "--database", path])
            #expect(result.status == 1)
            #expect(result.stdout.contains("FAILED at position 14"), "\(result.stdout)")
        }
    }

    @Test func verifyFindsADeletedRow() async throws {
        try await withTemporaryDirectory { folder in
            let path = try await makeStore(in: folder, keys: TestKeys())
            let raw = try DatabaseQueue(path: path)
            try await raw.write { db in
                try db.execute(sql: "DROP TRIGGER events_no_delete")
                try db.execute(sql: "DELETE FROM events WHERE position = 9")
            }
            try raw.close()
            let result = try await run(Binaries.vigilctl, ["verify", "--database", path])
            #expect(result.status == 1)
            #expect(result.stdout.contains("FAILED at position 9"), "\(result.stdout)")
            let missing = try await run(Binaries.vigilctl, ["verify", "--database", folder + "/nope.sqlite"])
            #expect(missing.status == 2)
        }
    }

    @Test func keygenSignAndEventCompose() async throws {
        try await withTemporaryDirectory { folder in
            let keygen = try await run(Binaries.vigilctl, ["keygen", "--out", folder + "/nurse.key"])
            #expect(keygen.status == 0)
            #expect(keygen.stdout.hasPrefix("keyid: "))
            let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/nurse.key")
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            #expect(
                try await run(Binaries.vigilctl, ["keygen", "--out", folder + "/nurse.key"]).status != 0,
                "never overwrite a key")
            let keyID = try await run(Binaries.vigilctl, ["pubkey", "--key", folder + "/nurse.key", "--keyid"]).stdout
            #expect(keygen.stdout.contains(keyID.trimmingCharacters(in: .whitespacesAndNewlines)))

            let event = try await run(
                Binaries.vigilctl,
                [
                    "event", "vitals.recorded", "--participant", "P-0001", "--session", "P-0001-S1", "--data",
                    #"{"systolic": 128, "diastolic": 82}"#,
                ])
            #expect(event.status == 0, "\(event.stderr)")
            let signed = try await run(
                Binaries.vigilctl, ["sign", "--key", folder + "/nurse.key", "-"], stdin: Array(event.stdout.utf8))
            #expect(signed.status == 0, "\(signed.stderr)")
            let envelope = try Envelope.decode(Array(signed.stdout.utf8))
            #expect(envelope.payload == Array(event.stdout.trimmingCharacters(in: .whitespacesAndNewlines).utf8))

            let invalid = try await run(
                Binaries.vigilctl,
                [
                    "event", "vitals.recorded", "--participant", "P-0001", "--session", "S", "--data",
                    #"{"hartRate": 80}"#,
                ])
            #expect(invalid.status != 0)
            #expect(invalid.stderr.contains("data.hartRate: unknown field"))
        }
    }
}
