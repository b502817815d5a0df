import Hummingbird
import Synchronization
import VigilModel
import VigilStore

/// The log's public face as a transparency log: its checkpoint, proofs and hash tiles.
///
/// These answers carry hashes and the signed checkpoint, never clinical content, so they need no token; a
/// shared rate limit keeps them from crowding out ingest. The entries themselves stay behind a token
/// (`GET /v1/events`).
extension VigilAPI {
    /// `?event=ID` (auditors and officers: the bundle holds the event itself): everything needed to prove the
    /// event offline (``ProofBundle``), against the latest checkpoint, or a new one if none covers the event.
    func proofBundle(_ request: Request) async throws -> Response {
        guard let text = request.uri.queryParameters["event"], let id = EventID(String(text)) else {
            throw APIError(.badRequest, code: "invalid_query", "event must be an event id (a UUID)")
        }
        var bundle: ProofBundle?
        do {
            bundle = try await store.proofBundle(of: id)
        } catch let error where error.code == .outOfRange {
            _ = try await storeCall { try await store.signHead(with: signer, clock: clock) }
            bundle = try await storeCall { try await store.proofBundle(of: id) }
        } catch {
            throw Self.unavailable(error)
        }
        guard let bundle else { throw APIError(.notFound, code: "not_found", "the log holds no event \(id)") }
        return JSONResponse.make(status: .ok, bundle.json)
    }

    /// The latest checkpoint, as a C2SP signed note (text/plain).
    func checkpoint() async throws -> Response {
        try publicReads.admit()
        guard let note = try await storeCall({ try await store.latestCosignedCheckpoint() }) else {
            throw APIError(.notFound, code: "no_checkpoint", "no checkpoint has been issued yet; retry in a minute")
        }
        return Self.checkpointResponse(note)
    }

    /// Issues a checkpoint of the log as it is now (auditors and officers), for a proof that must name the
    /// newest entries without waiting for the minute's checkpoint.
    func issueCheckpoint() async throws -> Response {
        let record = try await storeCall { try await store.signHead(with: signer, clock: clock) }
        return Self.checkpointResponse(Array(record.checkpoint.serialized.utf8))
    }

    static func checkpointResponse(_ note: [UInt8]) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "max-age=5"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: note)))
    }

    /// `?position=N&size=S`: the audit path of the entry at position N (leaf N - 1) in the tree of S entries.
    func inclusionProof(_ request: Request) async throws -> Response {
        try publicReads.admit()
        let query = request.uri.queryParameters
        let size = try Self.requiredInteger(query["size"], name: "size")
        let position = try Self.requiredInteger(query["position"], name: "position")
        try Self.checkSize(size, name: "size", logSize: store.head.size)
        guard position >= 1, position <= size else {
            throw APIError(
                .badRequest, code: "out_of_range", "position must be from 1 to size (\(size)); positions start at 1")
        }
        let (proof, root, leaf) = try await storeCall {
            (
                try await store.inclusionProof(position: position, size: size),
                try await store.treeRoot(size: size),
                try await store.entry(at: position)?.leafHash
            )
        }
        return JSONResponse.make(
            status: .ok,
            .object(
                JSONObject([
                    "position": .number(JSONNumber(position)),
                    "leafIndex": .number(JSONNumber(position - 1)),
                    "size": .number(JSONNumber(size)),
                    "leafHash": .string(Base64.encode(leaf ?? [])),
                    "rootHash": .string(Base64.encode(root)),
                    "hashes": .array(proof.map { .string(Base64.encode($0)) }),
                ])))
    }

    /// `?from=A&to=B`: the proof that the tree of A entries is a prefix of the tree of B entries.
    func consistencyProof(_ request: Request) async throws -> Response {
        try publicReads.admit()
        let query = request.uri.queryParameters
        let from = try Self.requiredInteger(query["from"], name: "from")
        let to = try Self.requiredInteger(query["to"], name: "to")
        try Self.checkSize(to, name: "to", logSize: store.head.size)
        guard from <= to else { throw APIError(.badRequest, code: "out_of_range", "from must not be above to") }
        let (proof, fromRoot, toRoot) = try await storeCall {
            (
                try await store.consistencyProof(from: from, to: to),
                try await store.treeRoot(size: from),
                try await store.treeRoot(size: to)
            )
        }
        return JSONResponse.make(
            status: .ok,
            .object(
                JSONObject([
                    "from": .number(JSONNumber(from)),
                    "to": .number(JSONNumber(to)),
                    "fromRoot": .string(Base64.encode(fromRoot)),
                    "toRoot": .string(Base64.encode(toRoot)),
                    "hashes": .array(proof.map { .string(Base64.encode($0)) }),
                ])))
    }

    /// `/tile/<L>/<N>[.p/<W>]`: C2SP tlog-tiles hash tiles (immutable once served).
    func tile(_ context: BasicRequestContext) async throws -> Response {
        try publicReads.admit()
        let path = context.parameters.getCatchAll().joined(separator: "/")
        guard let address = TileAddress(path: path) else {
            throw APIError(
                .notFound, code: "not_found",
                "tiles are /tile/<level>/<index>[.p/<width>] with the index in x-prefixed 3-digit elements")
        }
        guard let hashes = try await storeCall({ try await store.tile(address) }) else {
            throw APIError(.notFound, code: "not_found", "the log has no tile \(address.path) (yet)")
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/octet-stream", .cacheControl: "public, max-age=31536000, immutable"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: hashes)))
    }

    static func requiredInteger(_ text: Substring?, name: String) throws -> Int64 {
        guard let text else { throw APIError(.badRequest, code: "invalid_query", "\(name) is required") }
        return try integerParameter(text, name: name, default: 0, range: 0...Int64.max)
    }

    static func checkSize(_ size: Int64, name: String, logSize: Int64) throws {
        guard size <= logSize else {
            throw APIError(.badRequest, code: "out_of_range", "\(name) is past the log's \(logSize) entries")
        }
    }

    /// Runs a store read, turning a size past the log into 400 and anything else into 503.
    private func storeCall<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError where error.code == .outOfRange {
            throw APIError(.badRequest, code: "out_of_range", error.message)
        } catch let error as StoreError {
            throw Self.unavailable(error)
        }
    }

    static func unavailable(_ error: StoreError) -> APIError {
        APIError(
            .serviceUnavailable, code: "unavailable", "the log could not be read (\(error.code.rawValue))",
            headers: [.retryAfter: "5"])
    }
}

/// A token bucket shared by every unauthenticated request: at most `rate` per second on average, bursts up
/// to `burst`. Beyond it the answer is 429 `rate_limited` with `Retry-After: 1`.
package final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let rate: Double
    let burst: Double
    private let bucket: Mutex<Bucket>

    package init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
        self.bucket = Mutex(Bucket(tokens: burst, updated: .now))
    }

    func admit() throws(APIError) {
        let now = ContinuousClock.now
        let admitted = bucket.withLock { bucket -> Bool in
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            bucket.tokens = min(burst, bucket.tokens + seconds * rate)
            bucket.updated = now
            guard bucket.tokens >= 1 else { return false }
            bucket.tokens -= 1
            return true
        }
        guard admitted else {
            throw APIError(
                .tooManyRequests, code: "rate_limited", "too many unauthenticated requests; retry in a second",
                headers: [.retryAfter: "1"])
        }
    }
}
