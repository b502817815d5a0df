public import HTTPTypes
public import Hummingbird

/// What a caller must show to reach a route.
public enum RouteAccess: Sendable, Equatable {
    /// Writes: the request carries signed envelopes, and the signatures authenticate it.
    case signatures
    /// No token: health, and the transparency log's hashes (rate-limited in their handlers).
    case open
    /// A reader token whose role holds the permission.
    case token(Permission)
}

/// One route of the API and the access it requires.
public struct RouteSpec: Sendable, Hashable, CustomStringConvertible {
    public var method: HTTPRequest.Method
    public var path: String
    public var access: RouteAccess

    public init(_ method: HTTPRequest.Method, _ path: String, _ access: RouteAccess) {
        self.method = method
        self.path = path
        self.access = access
    }

    public var description: String { "\(method) \(path)" }

    public static func == (lhs: RouteSpec, rhs: RouteSpec) -> Bool {
        lhs.method == rhs.method && lhs.path == rhs.path
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(method.rawValue)
        hasher.combine(path)
    }
}

extension VigilAPI {
    /// Every route and who may call it, declared once (docs/protocol.md §4). The router is built from this
    /// table alone, and a middleware on each group checks the token before any handler runs, so a route cannot
    /// forget its check.
    public static let routes: [RouteSpec] = [
        RouteSpec(.post, "/v1/events", .signatures),
        RouteSpec(.post, "/v1/events/batch", .signatures),
        RouteSpec(.get, "/healthz", .open),
        RouteSpec(.get, "/v1/checkpoint", .open),
        RouteSpec(.get, "/v1/proofs/inclusion", .open),
        RouteSpec(.get, "/v1/proofs/consistency", .open),
        RouteSpec(.get, "/tile/**", .open),
        RouteSpec(.get, "/metrics", .token(.operations)),
        RouteSpec(.get, "/v1/events", .token(.log)),
        RouteSpec(.get, "/v1/log/head", .token(.log)),
        RouteSpec(.post, "/v1/checkpoint", .token(.log)),
        RouteSpec(.get, "/v1/proofs/bundle", .token(.log)),
        RouteSpec(.get, "/v1/inventory", .token(.inventory)),
        RouteSpec(.get, "/v1/exports/ledger", .token(.inventory)),
        RouteSpec(.post, "/v1/checks/dose", .token(.doseCheck)),
        RouteSpec(.get, "/v1/alerts", .token(.safety)),
        RouteSpec(.get, "/v1/alerts/stream", .token(.safety)),
        RouteSpec(.get, "/v1/alerts/{id}", .token(.safety)),
        RouteSpec(.get, "/v1/participants/{code}", .token(.safety)),
        RouteSpec(.get, "/v1/sessions/{id}", .token(.safety)),
        RouteSpec(.get, "/v1/adverse-events", .token(.safety)),
        RouteSpec(.get, "/v1/exports/fhir", .token(.safety)),
    ]

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    /// The handler of a route of ``routes``.
    func handler(for route: RouteSpec) -> Handler {
        switch (route.method, route.path) {
        case (.post, "/v1/events"): { try await submit($0, context: $1) }
        case (.post, "/v1/events/batch"): { try await submitBatch($0, context: $1) }
        case (.get, "/healthz"): { _, _ in healthz() }
        case (.get, "/v1/checkpoint"): { _, _ in try await checkpoint() }
        case (.get, "/v1/proofs/inclusion"): { request, _ in try await inclusionProof(request) }
        case (.get, "/v1/proofs/consistency"): { request, _ in try await consistencyProof(request) }
        case (.get, "/tile/**"): { _, context in try await tile(context) }
        case (.get, "/metrics"): { _, _ in try metrics() }
        case (.get, "/v1/events"): { request, _ in try await listEvents(request) }
        case (.get, "/v1/log/head"): { _, _ in try await logHead() }
        case (.post, "/v1/checkpoint"): { _, _ in try await issueCheckpoint() }
        case (.get, "/v1/proofs/bundle"): { request, _ in try await proofBundle(request) }
        case (.get, "/v1/inventory"): { _, _ in try await inventory() }
        case (.get, "/v1/exports/ledger"): { request, _ in try await ledger(request) }
        case (.post, "/v1/checks/dose"): { request, _ in try await checkDose(request) }
        case (.get, "/v1/alerts"): { request, _ in try await alerts(request) }
        case (.get, "/v1/alerts/stream"): { request, _ in try await alertStream(request) }
        case (.get, "/v1/alerts/{id}"): { try await alert($0, context: $1) }
        case (.get, "/v1/participants/{code}"): { try await participant($0, context: $1) }
        case (.get, "/v1/sessions/{id}"): { try await session($0, context: $1) }
        case (.get, "/v1/adverse-events"): { request, _ in try await adverseEvents(request) }
        case (.get, "/v1/exports/fhir"): { request, _ in try await fhir(request) }
        default: preconditionFailure("the route table names \(route), which has no handler")
        }
    }

    /// The router of docs/protocol.md §4, built from ``routes``.
    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        let open = router.group()
        var guarded: [Permission: RouterGroup<BasicRequestContext>] = [:]
        for permission in Permission.allCases {
            guarded[permission] = router.group()
                .add(middleware: RequirePermission(permission: permission, authenticator: authenticator))
        }
        for route in Self.routes {
            let handler = self.handler(for: route)
            switch route.access {
            case .signatures, .open:
                open.on(RouterPath(route.path), method: route.method, use: handler)
            case .token(let permission):
                guarded[permission]!.on(RouterPath(route.path), method: route.method, use: handler)
            }
        }
        return router
    }
}

/// Refuses a request whose token's role does not hold the permission (401 without a known token, 403 with a
/// role that is not enough), before the route's handler runs.
struct RequirePermission: RouterMiddleware {
    typealias Context = BasicRequestContext
    let permission: Permission
    let authenticator: TokenAuthenticator

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        try authenticator.authorize(request, for: permission)
        return try await next(request, context)
    }
}
