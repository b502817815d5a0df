package import Logging
package import Metrics
package import VigilModel
@_spi(Verification) package import VigilStore

/// Takes envelopes off the wire and into the store.
///
/// Everything that costs CPU happens here, before and outside the store's single writer, and in parallel:
/// parsing the envelope and the payload, validating the event, and verifying every Ed25519 signature. The
/// writer then only checks the signers' standing at the event's exact position, hashes and inserts.
package struct Ingestor: Sendable {
    package struct Limits: Sendable {
        /// Most envelopes in one batch request.
        package var maxBatchItems: Int

        package init(maxBatchItems: Int = 1000) {
            self.maxBatchItems = maxBatchItems
        }
    }

    package let store: EventStore
    /// The plausibility limits; a configuration reload may change them.
    package let validationLimits: Reloadable<ValidationLimits>
    package let limits: Limits
    /// Closed when the log failed an integrity check: every write is then refused.
    package let gate: WriteGate
    private let clock: any WallClock
    private let logger: Logger
    private let metrics: IngestMetrics

    package init(
        store: EventStore, validation: Reloadable<ValidationLimits> = Reloadable(.default), limits: Limits = Limits(),
        clock: any WallClock = SystemWallClock(), gate: WriteGate = WriteGate(), logger: Logger,
        metricsFactory: any MetricsFactory
    ) {
        self.store = store
        self.gate = gate
        self.validationLimits = validation
        self.limits = limits
        self.clock = clock
        self.logger = logger
        self.metrics = IngestMetrics(factory: metricsFactory)
    }

    /// Ingests one envelope (a request body).
    ///
    /// - Parameter bytes: the envelope's JSON; whitespace around it is not part of the stored bytes.
    package func ingest(envelope bytes: some Collection<UInt8>) async -> AppendOutcome {
        if let refusal = gate.refusal { return await commit([.failure(Refusal(refusal))]).first! }
        let trimmed = Array(Self.trimmingWhitespace(bytes))
        let validation = ValidationContext(limits: validationLimits.value, now: clock.now())
        let decoded: Result<(Envelope, EventPayload), Refusal>
        do throws(JSONParseError) {
            decoded = Self.decode(try JSONParser.parse(trimmed), validation: validation)
        } catch {
            decoded = .failure(
                Refusal(
                    IngestError(
                        .malformedEnvelope, "the envelope is not valid JSON: \(error.reason) at byte \(error.offset)")))
        }
        let verify = { @Sendable (registry: KeyRegistry) in
            decoded.flatMap { envelope, payload in
                Self.verify(bytes: trimmed, envelope: envelope, payload: payload) { registry.verifyingKey(for: $0) }
            }
        }
        let known = store.head.size
        var prepared = verify(store.registry)
        if Self.refusedForAnUnknownKey(prepared), await learnedNewerLog(than: known) {
            prepared = verify(store.registry)
        }
        return await commit([prepared]).first!
    }

    /// Whether this was refused because its signer is not registered.
    private static func refusedForAnUnknownKey(_ prepared: Result<VerifiedEvent, Refusal>) -> Bool {
        if case .failure(let refusal) = prepared { refusal.error.code == .unknownKey } else { false }
    }

    /// On a database several nodes share, a key registered through another node a moment ago may not be known
    /// here yet: reads the head the database holds. Whether the log grew beyond `known` (the size whose registry
    /// refused), by this reading or another since.
    private func learnedNewerLog(than known: Int64) async -> Bool {
        ((try? await store.refresh())?.size ?? store.head.size) > known
    }

    /// Ingests a JSON array of envelopes. Each is stored or refused on its own; results are in order.
    ///
    /// - Throws: `malformed_envelope` if the body is not a JSON array; `too_large` if it holds more than
    ///   ``Limits/maxBatchItems`` envelopes. Nothing is stored in either case.
    package func ingestBatch(_ bytes: [UInt8]) async throws(IngestError) -> [AppendOutcome] {
        let elements: [(range: Range<Int>, value: JSONValue)]
        do {
            elements = try JSONParser.parseArrayElements(bytes)
        } catch {
            throw IngestError(
                .malformedEnvelope, "a batch is a JSON array of envelopes: \(error.reason) at byte \(error.offset)")
        }
        guard elements.count <= limits.maxBatchItems else {
            throw IngestError(
                .tooLarge, "a batch holds at most \(limits.maxBatchItems) envelopes, not \(elements.count)")
        }
        if elements.isEmpty { return [] }
        if let refusal = gate.refusal { return await commit(elements.map { _ in .failure(Refusal(refusal)) }) }
        let validation = ValidationContext(limits: validationLimits.value, now: clock.now())
        let items = elements.map { (bytes: Array(bytes[$0.range]), value: $0.value) }

        // Phase 1: decode and validate, in parallel.
        let decoded = await Parallel.map(items) { item in Self.decode(item.value, validation: validation) }
        // Keys registered inside this batch may sign later items. A key id is the hash of its public key,
        // so taking public keys from the batch is safe; whether the key is registered by the time each item
        // is stored is for the writer to decide, in order.
        var batchKeys: [KeyID: VerifyingKey] = [:]
        for case .success(let (_, payload)) in decoded {
            if case .keyRegistered(let body) = payload.data,
                let key = try? VerifyingKey(rawRepresentation: body.publicKey)
            {
                batchKeys[key.id] = key
            }
        }
        let extraKeys = batchKeys

        // Phase 2: verify signatures, in parallel.
        let verify = { @Sendable (registry: KeyRegistry, indices: [Int]) in
            await Parallel.map(indices) { index in
                decoded[index].flatMap { envelope, payload in
                    Self.verify(bytes: items[index].bytes, envelope: envelope, payload: payload) {
                        registry.verifyingKey(for: $0) ?? extraKeys[$0]
                    }
                }
            }
        }
        let known = store.head.size
        var prepared = await verify(store.registry, Array(items.indices))
        if prepared.contains(where: Self.refusedForAnUnknownKey), await learnedNewerLog(than: known) {
            // Only the items refused for an unknown signer are verified again, against the registry just read.
            let refused = prepared.indices.filter { Self.refusedForAnUnknownKey(prepared[$0]) }
            for (index, result) in zip(refused, await verify(store.registry, refused)) { prepared[index] = result }
        }
        return await commit(prepared)
    }

    // MARK: - Steps

    /// A refusal before the writer, with what is known of the event for the log.
    struct Refusal: Error {
        var error: IngestError
        var keyID: KeyID?
        var eventID: EventID?
        var type: EventType?

        init(_ error: IngestError, keyID: KeyID? = nil, payload: EventPayload? = nil) {
            self.error = error
            self.keyID = keyID
            self.eventID = payload?.id
            self.type = payload?.type
        }
    }

    /// The envelope and the event it carries, validated.
    private static func decode(
        _ value: JSONValue, validation: ValidationContext
    ) -> Result<(Envelope, EventPayload), Refusal> {
        let envelope: Envelope
        do throws(IngestError) {
            envelope = try Envelope.decode(value)
        } catch {
            return .failure(Refusal(error))
        }
        do throws(FieldError) {
            return .success((envelope, try EventPayload.decode(envelope.payload, context: validation)))
        } catch {
            return .failure(Refusal(IngestError(.invalidEvent, error.description), keyID: envelope.author.keyID))
        }
    }

    /// Every signature verified against the public key its key id names.
    private static func verify(
        bytes: [UInt8], envelope: Envelope, payload: EventPayload, keys: (KeyID) -> VerifyingKey?
    ) -> Result<VerifiedEvent, Refusal> {
        do throws(IngestError) {
            try envelope.verifySignatures(keys: keys)
            return .success(
                VerifiedEvent(envelopeBytes: bytes, envelope: envelope, payload: payload, sealedBy: VerifierSeal()))
        } catch {
            return .failure(Refusal(error, keyID: envelope.author.keyID, payload: payload))
        }
    }

    /// Hands the verified events to the writer; reports refusals (before or in the writer) in logs and metrics.
    private func commit(_ prepared: [Result<VerifiedEvent, Refusal>]) async -> [AppendOutcome] {
        let verified = prepared.compactMap { try? $0.get() }
        let appended = await store.append(verified)
        var next = appended.makeIterator()
        var outcomes: [AppendOutcome] = []
        outcomes.reserveCapacity(prepared.count)
        for item in prepared {
            let outcome: AppendOutcome
            switch item {
            case .success(let event):
                outcome = next.next()!
                if case .refused(let error) = outcome {
                    report(Refusal(error, keyID: event.envelope.author.keyID, payload: event.payload))
                }
            case .failure(let refusal):
                outcome = .refused(refusal.error)
                report(refusal)
            }
            metrics.record(outcome)
            outcomes.append(outcome)
        }
        return outcomes
    }

    /// Logs a refusal as a warning with its code and what is known of the event; never payload content.
    private func report(_ refusal: Refusal) {
        var metadata: Logger.Metadata = [
            "ingest.code": "\(refusal.error.code.rawValue)", "ingest.reason": "\(refusal.error.message)",
        ]
        if let keyID = refusal.keyID { metadata["key.id"] = "\(keyID.hex)" }
        if let eventID = refusal.eventID { metadata["event.id"] = "\(eventID)" }
        if let type = refusal.type { metadata["event.type"] = "\(type.rawValue)" }
        logger.warning("event refused", metadata: metadata)
    }

    static func trimmingWhitespace<C: Collection<UInt8>>(_ bytes: C) -> C.SubSequence {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        var slice = bytes[...]
        while let first = slice.first, isSpace(first) { slice = slice.dropFirst() }
        var end = slice.endIndex
        while end > slice.startIndex {
            let before = slice.index(slice.startIndex, offsetBy: slice.distance(from: slice.startIndex, to: end) - 1)
            guard isSpace(slice[before]) else { break }
            end = before
        }
        return slice[slice.startIndex..<end]
    }
}
