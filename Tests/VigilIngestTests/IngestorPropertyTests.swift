import Logging
import MetricsTestKit
import PropertyBased
import Testing
import VigilIngest
import VigilModel
import VigilStore
import VigilTestSupport

/// Runs `body` with an ingestor over a real store, every cast key registered.
func withIngestor(_ body: (Ingestor, TestKeys, TestMetrics) async throws -> Void) async throws {
    try await withTemporaryDirectory { folder in
        let keys = TestKeys()
        let store = try EventStore.open(
            path: folder + "/vigil.sqlite", anchors: keys.anchors, logger: Logger(label: "test"))
        let metrics = TestMetrics()
        let ingestor = Ingestor(store: store, logger: Logger(label: "test"), metricsFactory: metrics)
        for envelope in keys.registrations() {
            guard case .stored = await ingestor.ingest(envelope: envelope) else {
                Issue.record("registration refused")
                return
            }
        }
        try await body(ingestor, keys, metrics)
        await store.close()
    }
}

@Suite struct IngestorPropertyTests {
    @Test func mutatedEnvelopesAreNeverStored() async throws {
        try await withIngestor { ingestor, keys, _ in
            let original = Fixtures.envelope(Fixtures.wasted(), by: keys.pharmacist, witnesses: [keys.clinician])
            guard case .stored = await ingestor.ingest(envelope: original) else {
                Issue.record("the original was refused")
                return
            }
            let size = ingestor.store.head.size
            let mutation = zip(Gen.int(in: 0..<original.count), Gen.uint8(), Gen.int(in: 0...2))
            await propertyCheck(count: 1500, input: mutation.array(of: 1...4)) { edits in
                var bytes = original
                for (offset, byte, kind) in edits {
                    switch kind {
                    case 0: bytes[offset % bytes.count] = byte  // replace
                    case 1: bytes.insert(byte, at: offset % (bytes.count + 1))  // insert
                    default: if bytes.count > 1 { bytes.remove(at: offset % bytes.count) }  // delete
                    }
                }
                guard bytes != original else { return }
                let outcome = await ingestor.ingest(envelope: bytes)
                if case .refused = outcome {
                } else {
                    // Only whitespace around the envelope may differ and still be the same envelope.
                    #expect(outcome.position == 7, "a mutated envelope was stored: \(outcome)")
                }
                #expect(ingestor.store.head.size == size)
            }
        }
    }

    @Test func randomBytesAreRefusedWithACode() async throws {
        try await withIngestor { ingestor, _, metrics in
            let size = ingestor.store.head.size
            await propertyCheck(count: 1000, input: Gen.uint8().array(of: 0...400)) { bytes in
                guard case .refused(let error) = await ingestor.ingest(envelope: bytes) else {
                    Issue.record("random bytes were accepted")
                    return
                }
                #expect(error.code == .malformedEnvelope)
            }
            #expect(ingestor.store.head.size == size)
            let refused = try metrics.expectCounter("vigil_ingest_refused_total", [("code", "malformed_envelope")])
            #expect(refused.totalValue == 1000)
        }
    }

    @Test func randomValidEventsAreStoredAndReadBackExactly() async throws {
        try await withIngestor { ingestor, keys, _ in
            let now = Fixtures.now()
            let payloads = Generator<EventPayload, Shrink.None<EventPayload>> { rng in
                RandomEvents.payload(using: &rng, now: now)
            }
            await propertyCheck(count: 300, input: payloads) { payload in
                // Keep to types whose signers the cast can provide without changing the registry.
                guard let author = keys.author(of: payload.type) else { return }
                let envelope = Fixtures.envelope(payload, by: author, witnesses: keys.witnesses(of: payload.type))
                let outcome = await ingestor.ingest(envelope: envelope)
                guard let position = outcome.position else {
                    Issue.record("refused: \(outcome)")
                    return
                }
                let entry = try await ingestor.store.entry(at: position)
                #expect(entry?.envelope == envelope)
                #expect(entry?.eventID == payload.id)
            }
        }
    }
}
