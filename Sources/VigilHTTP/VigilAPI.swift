import Foundation
import HTTPTypes
package import Hummingbird
import Logging
import NIOCore
package import Prometheus
import ServiceLifecycle
package import VigilAlerts
import VigilBuild
import VigilExports
package import VigilIngest
package import VigilModel
package import VigilProjections
package import VigilStore

/// Everything the HTTP routes need, given whole when it is made: no part is filled in later.
package struct VigilAPI: Sendable {
    /// A dry run of the safety rules for a dose (``DoseCheck``).
    package typealias DoseChecker =
        @Sendable (DoseCheck.Request) async throws -> (
            candidates: [AlertCandidate], asOf: Int64
        )

    package let ingestor: Ingestor
    package let authenticator: TokenAuthenticator
    /// The daemon's key and the log's name: sign heads and checkpoints.
    package let signer: LogSigner
    package var daemonKey: SigningKey { signer.key }
    package let readModels: ReadModels
    /// Live alerts for the Server-Sent Events stream.
    package let alertBroadcaster: AlertBroadcaster
    package let doseCheck: DoseChecker
    package let health: @Sendable () -> HealthReport
    package let metricsRegistry: PrometheusCollectorRegistry
    /// Brings the gauges that describe the present (open alerts, health, lag) up to date before a scrape.
    package let beforeScrape: @Sendable () async -> Void
    package let limits: Limits
    /// Shared by the routes that need no token (checkpoint, proofs, tiles).
    package let publicReads: RateLimiter
    package let clock: any WallClock

    /// What a request may send, and how slowly.
    package struct Limits: Sendable {
        package var maxBodyBytes: Int
        package var maxBatchBytes: Int
        /// How long a request body may take to arrive in full; slower bodies are answered 408 `request_timeout`.
        package var requestTimeout: Duration

        package init(maxBodyBytes: Int, maxBatchBytes: Int, requestTimeout: Duration = .seconds(30)) {
            self.maxBodyBytes = maxBodyBytes
            self.maxBatchBytes = maxBatchBytes
            self.requestTimeout = requestTimeout
        }
    }

    package init(
        ingestor: Ingestor, authenticator: TokenAuthenticator, signer: LogSigner, readModels: ReadModels,
        alertBroadcaster: AlertBroadcaster, doseCheck: @escaping DoseChecker,
        health: @escaping @Sendable () -> HealthReport, metricsRegistry: PrometheusCollectorRegistry,
        beforeScrape: @escaping @Sendable () async -> Void = {}, limits: Limits, publicReads: RateLimiter,
        clock: any WallClock = SystemWallClock()
    ) {
        self.ingestor = ingestor
        self.authenticator = authenticator
        self.signer = signer
        self.readModels = readModels
        self.alertBroadcaster = alertBroadcaster
        self.doseCheck = doseCheck
        self.health = health
        self.metricsRegistry = metricsRegistry
        self.beforeScrape = beforeScrape
        self.limits = limits
        self.publicReads = publicReads
        self.clock = clock
    }

    package var store: EventStore { ingestor.store }

    // MARK: - Writes

    func submit(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await collect(request, limit: limits.maxBodyBytes, what: "an envelope")
        switch await ingestor.ingest(envelope: body.readableBytesView) {
        case .stored(let position, let chainHash, let recordedAt):
            return JSONResponse.make(
                status: .created,
                Self.result(position: position, chainHash: chainHash, recordedAt: recordedAt, duplicate: false))
        case .duplicate(let position, let chainHash):
            return JSONResponse.make(
                status: .ok, Self.result(position: position, chainHash: chainHash, recordedAt: nil, duplicate: true))
        case .refused(let error):
            throw APIError(error)
        }
    }

    func submitBatch(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await collect(request, limit: limits.maxBatchBytes, what: "a batch")
        let outcomes: [AppendOutcome]
        do {
            outcomes = try await ingestor.ingestBatch(Array(body.readableBytesView))
        } catch {
            throw APIError(error)
        }
        // When the store cannot take writes at all, the whole batch is refused as one: a client (or a proxy)
        // sees 503 and retries the batch, rather than finding it inside a 200.
        if let first = outcomes.first, case .refused(let error) = first, error.code == .unavailable,
            outcomes.allSatisfy({ if case .refused(let other) = $0 { other.code == .unavailable } else { false } })
        {
            throw APIError(error)
        }
        let results: [JSONValue] = outcomes.map { outcome in
            switch outcome {
            case .stored(let position, let chainHash, let recordedAt):
                var object = Self.resultObject(
                    position: position, chainHash: chainHash, recordedAt: recordedAt, duplicate: false)
                object["status"] = .number(JSONNumber(201))
                return .object(object)
            case .duplicate(let position, let chainHash):
                var object = Self.resultObject(
                    position: position, chainHash: chainHash, recordedAt: nil, duplicate: true)
                object["status"] = .number(JSONNumber(200))
                return .object(object)
            case .refused(let error):
                let apiError = APIError(error)
                var object = JSONObject(["status": .number(JSONNumber(Int(apiError.status.code)))])
                if case .object(let errorObject) = apiError.body { object["error"] = errorObject["error"] }
                return .object(object)
            }
        }
        return JSONResponse.make(status: .ok, .object(JSONObject(["results": .array(results)])))
    }

    private func collect(_ request: Request, limit: Int, what: String) async throws -> ByteBuffer {
        func tooLarge() -> APIError {
            APIError(
                .contentTooLarge, code: "too_large", "\(what) may be at most \(limit) bytes",
                headers: [.connection: "close"])
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw tooLarge() }
        // The idle timeout closes a connection that stalls; this deadline stops one that trickles, at the first piece
        // of body that arrives after it. Checked as the pieces come, with no timer: a child task and a timer per
        // request woke threads for every submission (issue 20, docs/benchmarks.md).
        let timeout = limits.requestTimeout
        let deadline = ContinuousClock.now + timeout
        var body = ByteBuffer()
        for try await part in request.body {
            guard body.readableBytes + part.readableBytes <= limit else { throw tooLarge() }
            body.writeImmutableBuffer(part)
            guard ContinuousClock.now <= deadline else {
                throw APIError(
                    .requestTimeout, code: "request_timeout",
                    "\(what) did not arrive within \(timeout.components.seconds) seconds",
                    headers: [.connection: "close"])
            }
        }
        return body
    }

    static func resultObject(position: Int64, chainHash: [UInt8], recordedAt: Timestamp?, duplicate: Bool) -> JSONObject
    {
        var object = JSONObject([
            "position": .number(JSONNumber(position)), "chainHash": .string(Hex.encode(chainHash)),
        ])
        if let recordedAt { object["recordedAt"] = .string(recordedAt.rfc3339) }
        object["duplicate"] = .bool(duplicate)
        return object
    }

    static func result(position: Int64, chainHash: [UInt8], recordedAt: Timestamp?, duplicate: Bool) -> JSONValue {
        .object(resultObject(position: position, chainHash: chainHash, recordedAt: recordedAt, duplicate: duplicate))
    }

    // MARK: - Reads

    func listEvents(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let after = try Self.integerParameter(query["after"], name: "after", default: 0, range: 0...Int64.max)
        let limit = try Self.integerParameter(query["limit"], name: "limit", default: 100, range: 1...1000)
        let entries = try await store.entries(after: after, limit: Int(limit))
        let events: [JSONValue] = entries.map { entry in
            .object(
                JSONObject([
                    "position": .number(JSONNumber(entry.position)),
                    "recordedAt": .string(Timestamp(microsecondsSinceEpoch: entry.recordedAt).rfc3339),
                    "recordedAtMicros": .number(JSONNumber(entry.recordedAt)),
                    "envelope": .string(Base64.encode(entry.envelope)),
                    "leafHash": .string(Hex.encode(entry.leafHash)),
                    "chainHash": .string(Hex.encode(entry.chainHash)),
                ])
            )
        }
        return JSONResponse.make(status: .ok, .object(JSONObject(["events": .array(events)])))
    }

    /// A whole-number query parameter within `range`, or `default` when absent; anything else is 400
    /// `invalid_query`.
    package static func integerParameter(
        _ text: Substring?, name: String, default value: Int64, range: ClosedRange<Int64>
    ) throws -> Int64 {
        guard let text else { return value }
        guard let parsed = Int64(text), range.contains(parsed) else {
            throw APIError(
                .badRequest, code: "invalid_query",
                "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return parsed
    }

    func logHead() async throws -> Response {
        // Signed in memory: a read never waits for (or fails with) the writer. The head-signing service
        // records a signed head in the store every minute.
        let current = store.head
        let head = SignedHead(size: current.size, chainHash: current.chainHash, issuedAt: clock.now())
        let envelope = try JSONParser.parse(head.envelope(signedBy: daemonKey).jsonBytes)
        return JSONResponse.make(
            status: .ok,
            .object(
                JSONObject([
                    "size": .number(JSONNumber(head.size)),
                    "chainHash": .string(Hex.encode(head.chainHash)),
                    "issuedAt": .string(head.issuedAt.rfc3339),
                    "keyid": .string(daemonKey.id.hex),
                    "signed": envelope,
                ])
            )
        )
    }

    // MARK: - Read models

    func alerts(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        var status: AlertView.Status?
        if let text = query["status"] {
            guard let parsed = AlertView.Status(rawValue: String(text)) else {
                throw APIError(.badRequest, code: "invalid_query", "status must be open, acknowledged or resolved")
            }
            status = parsed
        }
        let participant = query["participant"].map(String.init)
        let after = try Self.integerParameter(query["after"], name: "after", default: 0, range: 0...Int64.max)
        let limit = try Self.integerParameter(query["limit"], name: "limit", default: 200, range: 1...1000)
        return try JSONResponse.make(
            status: .ok,
            view: try await readModels.alerts(status: status, participant: participant, after: after, limit: Int(limit))
        )
    }

    /// One alert by its id or a unique prefix of it (at least 4 hex digits; dashes and case ignored), so that an
    /// officer can type what a table shows. An ambiguous prefix is refused with the candidates' ids.
    func alert(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let text = try context.parameters.require("id")
        let prefix = String(text.lowercased().filter { $0 != "-" })
        guard (4...32).contains(prefix.count), prefix.allSatisfy(\.isHexDigit) else {
            throw APIError(
                .badRequest, code: "invalid_query", "an alert id is a UUID, or at least its first 4 hexadecimal digits")
        }
        let found = try await readModels.alerts(idPrefix: prefix, limit: 11)
        switch found.count {
        case 0:
            throw APIError(.notFound, code: "not_found", "no alert id begins with \(prefix)")
        case 1:
            return try JSONResponse.make(status: .ok, view: found[0])
        default:
            let shown = found.prefix(10).map(\.alertId.description).joined(separator: ", ")
            throw APIError(
                .conflict, code: "ambiguous_id",
                "\(prefix) begins \(found.count > 10 ? "more than 10" : String(found.count)) alert ids: \(shown)\(found.count > 10 ? ", ..." : ""); give more digits"
            )
        }
    }

    func participant(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let code = try context.parameters.require("code")
        guard let view = try await readModels.participant(code, now: clock.now()) else {
            throw APIError(.notFound, code: "not_found", "no participant \(Self.printable(code))")
        }
        return try JSONResponse.make(status: .ok, view: view)
    }

    func session(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let view = try await readModels.session(id) else {
            throw APIError(.notFound, code: "not_found", "no session \(Self.printable(id))")
        }
        return try JSONResponse.make(status: .ok, view: view)
    }

    func inventory() async throws -> Response {
        return try JSONResponse.make(status: .ok, view: try await readModels.inventory())
    }

    func adverseEvents(_ request: Request) async throws -> Response {
        let open: Bool
        switch request.uri.queryParameters["open"] {
        case nil, "false": open = false
        case "true": open = true
        default: throw APIError(.badRequest, code: "invalid_query", "open must be true or false")
        }
        return try JSONResponse.make(status: .ok, view: try await readModels.adverseEvents(openOnly: open))
    }

    /// Alerts as they are raised, acknowledged and resolved, as Server-Sent Events (`event: alert` or
    /// `alert-updated`, `id:` the log position, `data:` the alert). With `Last-Event-ID`, alerts raised after
    /// that position are sent first. A comment line every 15 s keeps the connection alive.
    func alertStream(_ request: Request) async throws -> Response {
        let stream = alertBroadcaster.subscribe()
        let replay: [AlertView] =
            if let text = request.headers[HTTPField.Name("Last-Event-ID")!], let last = Int64(text) {
                try await readModels.alerts(after: last)
            } else {
                []
            }
        let first = try replay.map {
            try Self.event(AlertBroadcaster.Kind.raised.rawValue, id: $0.position, data: $0)
        }
        return Self.eventStream(stream, comment: "vigil alerts", first: first) { view, position, kind in
            try Self.event(kind.rawValue, id: position, data: view)
        }
    }

    /// A Server-Sent Events answer that follows the alert broadcaster until shutdown: an opening comment, the
    /// `first` events, then each alert as `event` writes it and a comment line for each heartbeat (which keeps
    /// proxies from closing an idle connection). The API's stream and the console's share it.
    package static func eventStream(
        _ stream: AsyncStream<AlertBroadcaster.Message>, comment: String, first: [[UInt8]] = [],
        event: @escaping @Sendable (AlertView, Int64, AlertBroadcaster.Kind) throws -> [UInt8]
    ) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/event-stream", .cacheControl: "no-store",
                HTTPField.Name("X-Accel-Buffering")!: "no",
            ],
            body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: ": \(comment)\n\n"))
                for bytes in first { try await writer.write(ByteBuffer(bytes: bytes)) }
                for await message in stream.cancelOnGracefulShutdown() {
                    switch message {
                    case .heartbeat:
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    case .alert(let view, let position, let kind):
                        try await writer.write(ByteBuffer(bytes: try event(view, position, kind)))
                    }
                }
                try await writer.finish(nil)
            }
        )
    }

    /// One Server-Sent Event: the alert in its one JSON encoding on a single `data:` line.
    static func event(_ name: String, id: Int64, data: AlertView) throws -> [UInt8] {
        Array("id: \(id)\nevent: \(name)\ndata: ".utf8) + (try JSONValueEncoder.bytes(of: data)) + Array("\n\n".utf8)
    }

    /// Which rules would fire if this dose were dispensed now; nothing is stored. The pharmacy sees each rule and
    /// its severity; only an officer sees the messages, which may name clinical facts (a medication, a reading).
    func checkDose(_ request: Request) async throws -> Response {
        // The group's middleware let the token in; its role decides what the answer says.
        let role = try authenticator.authorize(request, for: .doseCheck)
        let body = try await collect(request, limit: 16 * 1024, what: "a dose check")
        let check: DoseCheck.Request
        do {
            let value = try JSONParser.parse(Array(body.readableBytesView))
            let reader = try ObjectReader(
                value, path: "", allowed: ["participant", "session", "lot", "doseMg", "kind"])
            check = DoseCheck.Request(
                participant: try reader.code("participant"), session: try reader.code("session"),
                lot: try reader.optionalCode("lot"),
                dose: try reader.milligrams("doseMg", maximum: ingestor.validationLimits.value.maxDose),
                kind: try reader.enumeration("kind")
            )
        } catch let error as FieldError {
            throw APIError(.unprocessableContent, code: "invalid_event", error.description)
        } catch let error as JSONParseError {
            throw APIError(.badRequest, code: "malformed_envelope", "the dose check is not valid JSON: \(error.reason)")
        }
        let (candidates, asOf) = try await doseCheck(check)
        let fired: [JSONValue] = candidates.map {
            .object(
                JSONObject([
                    "rule": .string($0.rule.rawValue), "severity": .string($0.severity.rawValue),
                    "message": .string(
                        Permission.safety.allows(role)
                            ? $0.message : "the \($0.rule.rawValue) rule would fire; a safety officer can see why"),
                ]))
        }
        return JSONResponse.make(
            status: .ok, .object(JSONObject(["wouldFire": .array(fired), "asOf": .number(JSONNumber(asOf))])))
    }

    /// The controlled-substance ledger as CSV: `from` and `to` are dates (YYYY-MM-DD), both included.
    func ledger(_ request: Request) async throws -> Response {
        try await Self.ledger(request, store: store)
    }

    /// The ledger's CSV file for a request's `from` and `to`, as the API and the console serve it.
    package static func ledger(_ request: Request, store: EventStore) async throws -> Response {
        let query = request.uri.queryParameters
        guard let fromText = query["from"], let from = CalendarDate(iso8601: String(fromText)),
            let toText = query["to"], let to = CalendarDate(iso8601: String(toText)), from <= to
        else {
            throw APIError(
                .badRequest, code: "invalid_query", "from and to must be dates (YYYY-MM-DD), from not after to")
        }
        // Decoded beside the requests: an export must not take the cores from the submissions (issue 20).
        let csv = try await LedgerExport.csv(
            from: from, to: to, anchors: try await store.anchorHistory(), decoding: .besideRequests
        ) { after in
            try await store.entries(after: after, limit: 4096)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8", .cacheControl: "no-store",
                .contentDisposition: "attachment; filename=\"vigil-ledger-\(from.iso8601)-\(to.iso8601).csv\"",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: csv))
        )
    }

    /// Clinical records as FHIR R4 with their provenance: `participant=P`, or `from` and `to` (dates, both
    /// included, or RFC 3339 times); `format=ndjson` for one resource per line. Streamed as the log is read.
    func fhir(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let selection: FHIRExport.Selection
        if let participant = query["participant"] {
            selection = .participant(String(participant))
        } else if let range = Timestamp.range(from: query["from"].map(String.init), to: query["to"].map(String.init)) {
            selection = .period(from: range.lowerBound, to: range.upperBound)
        } else {
            throw APIError(
                .badRequest, code: "invalid_query",
                "give participant, or from and to (dates YYYY-MM-DD or RFC 3339 times, from not after to)")
        }
        let format: FHIRExport.Format
        switch query["format"] {
        case nil, "bundle": format = .bundle
        case "ndjson": format = .ndjson
        default: throw APIError(.badRequest, code: "invalid_query", "format must be bundle or ndjson")
        }
        let store = self.store
        let anchors = try await store.anchorHistory()
        let checkpoint = try await store.latestCheckpoint()?.checkpoint
        let now = clock.now()
        let end = store.head.size
        return Response(
            status: .ok,
            headers: [
                .contentType: format == .bundle ? "application/fhir+json" : "application/fhir+ndjson",
                .cacheControl: "no-store",
            ],
            body: ResponseBody { writer in
                var export = FHIRExport(
                    selection: selection, format: format, anchors: anchors, checkpoint: checkpoint, generatedAt: now)
                // The log as it was when the request came: a consistent export, however long it takes. Decoded
                // beside the requests: an export must not take the cores from the submissions.
                try await FHIRExport.run(
                    &export, upTo: end, decoding: .besideRequests,
                    fetch: { try await store.entries(after: $0, limit: $1) }
                ) { text in try await writer.write(ByteBuffer(string: text)) }
                try await writer.finish(nil)
            })
    }

    /// A path parameter for an error message: codes only, cut short, never arbitrary text.
    static func printable(_ text: String) -> String {
        let safe = text.unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_./".unicodeScalars.contains($0))
        }
        return safe ? String(text.prefix(64)) : "(not a valid code)"
    }

    func healthz() -> Response {
        let report = health()
        var checks = JSONObject()
        for check in report.checks {
            checks[check.name] = .object(JSONObject(["ok": .bool(check.ok), "detail": .string(check.detail)]))
        }
        let body = JSONValue.object(
            JSONObject([
                "status": .string(report.status.rawValue), "version": .string(VigilBuild.version),
                "commit": .string(VigilBuild.commit), "checks": .object(checks),
            ]))
        return JSONResponse.make(status: report.status == .ok ? .ok : .serviceUnavailable, body)
    }

    func metrics() async -> Response {
        await beforeScrape()
        var buffer: [UInt8] = []
        metricsRegistry.emit(into: &buffer)
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer))
        )
    }
}
