import Foundation
import Testing
import VigilConfig
import VigilModel
import VigilStore
import VigilTestSupport

@Suite struct IngestAPITests {
    @Test func roundTripThroughTheAPIVerifiesOffline() async throws {
        try await LiveDaemon.run { daemon in
            let keys = daemon.keys
            let samples = Samples.everyType(keys: keys).filter { $0.payload.type != .keyRevoked }
            var submitted: [Int64: [UInt8]] = [:]
            for sample in samples {
                let envelope = Fixtures.envelope(sample.payload, by: sample.author, witnesses: sample.witnesses)
                let response = try await daemon.submit(envelope)
                #expect(response.status == 201, "\(sample.payload.type): \(response.text)")
                #expect(response.field("duplicate") == .bool(false))
                if case .number(let position)? = response.field("position"), let value = position.integerValue {
                    submitted[value] = envelope
                }
            }
            #expect(submitted.count == samples.count)
            // Read everything back: the exact bytes at their positions, with their hashes. (The alert engine
            // adds alerts of its own in between: the samples include doses outside the regimen.)
            let read = try await daemon.client.get("/v1/events?after=6&limit=1000", token: Tokens.auditor)
            #expect(read.status == 200)
            guard case .array(let events)? = read.field("events") else {
                Issue.record("no events: \(read.text)")
                return
            }
            var matched = 0
            for event in events {
                guard case .object(let entry) = event, case .number(let number)? = entry["position"],
                    let position = number.integerValue,
                    case .string(let encoded)? = entry["envelope"]
                else { continue }
                #expect(entry["recordedAtMicros"] != nil && entry["leafHash"] != nil && entry["chainHash"] != nil)
                if let envelope = submitted[position] {
                    #expect(
                        Base64.decode(encoded) == envelope,
                        "the bytes at position \(position) differ from what was sent")
                    matched += 1
                }
            }
            #expect(matched == samples.count)
            // The head is signed by the daemon's key.
            let head = try await daemon.client.get("/v1/log/head", token: Tokens.officer)
            guard case .object(let signed)? = head.field("signed") else {
                Issue.record("no signed head: \(head.text)")
                return
            }
            let envelope = try Envelope.decode(.object(signed), expectedPayloadType: Envelope.headPayloadType)
            try envelope.verifySignatures { $0 == keys.daemon.id ? keys.daemon.verifyingKey : nil }
            let statement = try SignedHead.decode(payload: envelope.payload)
            #expect(statement.size >= Int64(6 + samples.count))
        }
        // After shutdown: the file verifies offline.
    }

    @Test func duplicatesAnswer200AndConflicts409() async throws {
        try await LiveDaemon.run { daemon in
            let vitals = Fixtures.vitals()
            let envelope = Fixtures.envelope(vitals, by: daemon.keys.clinician)
            let first = try await daemon.submit(envelope)
            #expect(first.status == 201)
            // Whitespace around the envelope is not part of it.
            let again = try await daemon.submit(Array("\n  ".utf8) + envelope + Array("\n".utf8))
            #expect(again.status == 200)
            #expect(again.field("duplicate") == .bool(true))
            #expect(again.field("position") == first.field("position"))
            #expect(again.field("chainHash") == first.field("chainHash"))
            let conflict = try await daemon.submit(vitals, by: daemon.keys.device)
            #expect(conflict.status == 409)
            #expect(conflict.errorCode == "conflict")
            #expect(try await daemon.logSize() == 7)
        }
    }

    @Test func aBatchStoresEachItemOnItsOwnInOrder() async throws {
        try await LiveDaemon.run(registerKeys: false) { daemon in
            let keys = daemon.keys
            let nurse = SigningKey()
            let items = [
                Fixtures.envelope(Fixtures.vitals(), by: nurse),  // not registered yet at this point
                Fixtures.envelope(Fixtures.registration(of: nurse, role: .clinician, name: "Nurse"), by: keys.admin),
                Fixtures.envelope(Fixtures.vitals(), by: nurse),  // registered by the item before
                Fixtures.envelope(Fixtures.vitals(systolic: 20), by: nurse),
            ]
            let response = try await daemon.batch(items)
            #expect(response.status == 200)
            guard case .array(let results)? = response.field("results") else {
                Issue.record("no results: \(response.text)")
                return
            }
            let statuses = results.map { result -> JSONValue? in
                if case .object(let object) = result { return object["status"] }
                return nil
            }
            #expect(statuses == [403, 201, 201, 422].map { .number(JSONNumber($0)) })
            #expect(try await daemon.logSize() == 2)
        }
    }

    @Test func batchLimitsAreEnforced() async throws {
        try await LiveDaemon.run(registerKeys: false, configure: { $0.http.maxBatchItems = 3 }) { daemon in
            let four = (0..<4).map { _ in Fixtures.envelope(Fixtures.vitals(), by: daemon.keys.clinician) }
            let response = try await daemon.batch(four)
            #expect(response.status == 413)
            #expect(response.errorCode == "too_large")
            let notArray = try await daemon.client.post("/v1/events/batch", Array("{}".utf8))
            #expect(notArray.status == 400)
            #expect(notArray.errorCode == "malformed_envelope")
            let empty = try await daemon.client.post("/v1/events/batch", Array("[]".utf8))
            #expect(empty.status == 200)
        }
    }

    @Test func bodiesOverTheLimitAre413() async throws {
        try await LiveDaemon.run(registerKeys: false) { daemon in
            let big = [UInt8](repeating: UInt8(ascii: " "), count: 65 * 1024) + Array("{}".utf8)
            let response = try await daemon.client.post("/v1/events", big)
            #expect(response.status == 413)
            #expect(response.errorCode == "too_large")
        }
    }

    @Test func readsNeedATokenWithTheRightRole() async throws {
        try await LiveDaemon.run(registerKeys: false) { daemon in
            let client = daemon.client
            let anonymous = try await client.get("/v1/events")
            #expect(anonymous.status == 401)
            #expect(anonymous.errorCode == "unauthorized")
            #expect(anonymous.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
            #expect(try await client.get("/v1/events", token: "guess").status == 401)
            #expect(try await client.send("GET", "/v1/events", headers: ["Authorization": "Basic abc"]).status == 401)
            let ops = try await client.get("/v1/events", token: Tokens.ops)
            #expect(ops.status == 403)
            #expect(ops.errorCode == "forbidden")
            #expect(try await client.get("/v1/events", token: Tokens.auditor).status == 200)
            #expect(try await client.get("/v1/events", token: Tokens.officer).status == 200)
            #expect(try await client.get("/v1/log/head", token: Tokens.ops).status == 403)
            #expect(try await client.get("/metrics").status == 401)
            let metrics = try await client.get("/metrics", token: Tokens.ops)
            #expect(metrics.status == 200)
            #expect(metrics.text.contains("vigil_log_size"))
            let health = try await client.get("/healthz")
            #expect(health.status == 200)
            #expect(health.field("status") == .string("ok"))
        }
    }

    @Test func unknownRoutesAndBadQueriesAnswerJSONErrors() async throws {
        try await LiveDaemon.run(registerKeys: false) { daemon in
            let missing = try await daemon.client.get("/v1/nothing")
            #expect(missing.status == 404)
            #expect(missing.errorCode == "not_found")
            let badQuery = try await daemon.client.get("/v1/events?limit=abc", token: Tokens.auditor)
            #expect(badQuery.status == 400)
            #expect(badQuery.errorCode == "invalid_query")
            #expect(try await daemon.client.get("/v1/events?limit=5000", token: Tokens.auditor).status == 400)
        }
    }

    @Test func refusalsAreCountedInMetricsByCode() async throws {
        try await LiveDaemon.run { daemon in
            _ = try await daemon.submit(Fixtures.vitals(), by: SigningKey())
            _ = try await daemon.submit(Fixtures.vitals(), by: daemon.keys.clinician)
            let metrics = try await daemon.client.get("/metrics", token: Tokens.ops).text
            #expect(metrics.contains(#"vigil_ingest_refused_total{code="unknown_key"} 1"#))
            #expect(metrics.contains(#"vigil_ingest_events_total{outcome="stored"} 7"#))
        }
    }

    @Test func thirtyTwoConcurrentSubmittersLoseNothing() async throws {
        try await LiveDaemon.run { daemon in
            let perClient = 20
            let acknowledged = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for client in 0..<32 {
                    group.addTask {
                        var positions: [Int64] = []
                        for _ in 0..<perClient {
                            let key = client % 2 == 0 ? daemon.keys.clinician : daemon.keys.device
                            let response = try await daemon.submit(Fixtures.vitals(), by: key)
                            #expect(response.status == 201, "\(response.text)")
                            if case .number(let position)? = response.field("position"),
                                let value = position.integerValue
                            {
                                positions.append(value)
                            }
                        }
                        return positions
                    }
                }
                var all: [Int64] = []
                for try await positions in group { all += positions }
                return all
            }
            #expect(acknowledged.sorted() == Array(7...Int64(6 + 32 * perClient)))
            #expect(try await daemon.logSize() == Int64(6 + 32 * perClient))
        }
    }
}
