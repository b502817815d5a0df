package import HTTPTypes
package import Hummingbird

/// What a caller must show to reach a route.
package enum RouteAccess: Sendable {
    /// Writes: the request carries signed envelopes, and the signatures authenticate it.
    case signatures
    /// No token: health, and the transparency log's hashes (rate-limited in their handlers).
    case open
    /// A reader token whose role holds the permission.
    case token(Permission)
}

/// One route of the API, the access it requires, and the handler it runs.
package struct RouteSpec: Sendable, CustomStringConvertible {
    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    package var method: HTTPRequest.Method
    package var path: String
    package var access: RouteAccess
    /// The handler, given the API it serves.
    let handler: @Sendable (VigilAPI) -> Handler

    init(
        _ method: HTTPRequest.Method, _ path: String, _ access: RouteAccess,
        _ handler: @escaping @Sendable (VigilAPI) -> Handler
    ) {
        self.method = method
        self.path = path
        self.access = access
        self.handler = handler
    }

    package var description: String { "\(method) \(path)" }
}

extension VigilAPI {
    /// Every route and who may call it, declared once (docs/protocol.md §4). The router is built from this
    /// table alone, and a middleware on each group checks the token before any handler runs, so a route cannot
    /// forget its check.
    package static let routes: [RouteSpec] = [
        RouteSpec(.post, "/v1/events", .signatures) { api in { try await api.submit($0, context: $1) } },
        RouteSpec(.post, "/v1/events/batch", .signatures) { api in { try await api.submitBatch($0, context: $1) } },
        RouteSpec(.get, "/healthz", .open) { api in { _, _ in api.healthz() } },
        RouteSpec(.get, "/v1/checkpoint", .open) { api in { _, _ in try await api.checkpoint() } },
        RouteSpec(.get, "/v1/proofs/inclusion", .open) { api in { request, _ in try await api.inclusionProof(request) }
        },
        RouteSpec(.get, "/v1/proofs/consistency", .open) { api in
            { request, _ in try await api.consistencyProof(request) }
        },
        RouteSpec(.get, "/tile/**", .open) { api in { _, context in try await api.tile(context) } },
        RouteSpec(.get, "/metrics", .token(.operations)) { api in { _, _ in await api.metrics() } },
        RouteSpec(.get, "/v1/events", .token(.log)) { api in { request, _ in try await api.listEvents(request) } },
        RouteSpec(.get, "/v1/log/head", .token(.log)) { api in { _, _ in try await api.logHead() } },
        RouteSpec(.post, "/v1/checkpoint", .token(.log)) { api in { _, _ in try await api.issueCheckpoint() } },
        RouteSpec(.get, "/v1/proofs/bundle", .token(.log)) { api in { request, _ in try await api.proofBundle(request) }
        },
        RouteSpec(.get, "/v1/inventory", .token(.inventory)) { api in { _, _ in try await api.inventory() } },
        RouteSpec(.get, "/v1/exports/ledger", .token(.inventory)) { api in
            { request, _ in try await api.ledger(request) }
        },
        RouteSpec(.post, "/v1/checks/dose", .token(.doseCheck)) { api in
            { request, _ in try await api.checkDose(request) }
        },
        RouteSpec(.get, "/v1/alerts", .token(.safety)) { api in { request, _ in try await api.alerts(request) } },
        RouteSpec(.get, "/v1/alerts/stream", .token(.safety)) { api in
            { request, _ in try await api.alertStream(request) }
        },
        RouteSpec(.get, "/v1/alerts/{id}", .token(.safety)) { api in { try await api.alert($0, context: $1) } },
        RouteSpec(.get, "/v1/participants/{code}", .token(.safety)) { api in
            { try await api.participant($0, context: $1) }
        },
        RouteSpec(.get, "/v1/sessions/{id}", .token(.safety)) { api in { try await api.session($0, context: $1) } },
        RouteSpec(.get, "/v1/adverse-events", .token(.safety)) { api in
            { request, _ in try await api.adverseEvents(request) }
        },
        RouteSpec(.get, "/v1/exports/fhir", .token(.safety)) { api in { request, _ in try await api.fhir(request) } },
    ]

    /// The router of docs/protocol.md §4, built from ``routes``.
    package func buildRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: RequestMetrics(registry: metricsRegistry))
        router.add(middleware: ErrorMiddleware())
        let open = router.group()
        var guarded: [Permission: RouterGroup<BasicRequestContext>] = [:]
        for permission in Permission.allCases {
            guarded[permission] = router.group()
                .add(middleware: RequirePermission(permission: permission, authenticator: authenticator))
        }
        for route in Self.routes {
            let handler = route.handler(self)
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
