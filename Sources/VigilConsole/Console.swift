import Foundation
import HTTPTypes
package import Hummingbird
import Logging
package import VigilAlerts
import VigilConfig
package import VigilHTTP
package import VigilModel
package import VigilProjections
package import VigilStore

/// The officers' web console, served by vigild at `/console/` on the API's listener.
///
/// Pages are rendered on the server from the read models (HTML, inline SVG charts); the little JavaScript it has
/// (live updates, and signing acknowledgements with the officer's own key in the browser) is served from the
/// binary. A reader token is exchanged once for a session cookie; each page declares the permission it needs, and
/// its role decides what the navigation offers. vigild never holds an officer's private key: signed actions are
/// DSSE envelopes made in the browser and posted to `/v1/events` like any client's.
package struct Console: Sendable {
    package let readModels: ReadModels
    package let store: EventStore
    package let authenticator: TokenAuthenticator
    package let sessions: ConsoleSessions
    package let alertBroadcaster: AlertBroadcaster
    package let rules: Reloadable<RuleSettings>
    package let health: @Sendable () -> HealthReport
    package let clock: any WallClock
    let templates: Templates

    package init(
        readModels: ReadModels, store: EventStore, authenticator: TokenAuthenticator,
        sessions: ConsoleSessions = ConsoleSessions(), alertBroadcaster: AlertBroadcaster,
        rules: Reloadable<RuleSettings>, health: @escaping @Sendable () -> HealthReport,
        clock: any WallClock = SystemWallClock()
    ) throws {
        self.readModels = readModels
        self.store = store
        self.authenticator = authenticator
        self.sessions = sessions
        self.alertBroadcaster = alertBroadcaster
        self.rules = rules
        self.health = health
        self.clock = clock
        templates = try Templates()
    }

    /// The cookie that carries a session.
    static let cookieName = "vigil_session"

    /// Adds every console route to the API's router.
    package func addRoutes(to router: Router<BasicRequestContext>) {
        for route in Self.routes {
            let handler = route.handler(self)
            let access = route.access
            router.on(RouterPath(route.path), method: route.method) { request, context in
                try await self.respond(to: request, context: context, access: access, handler: handler)
            }
        }
    }

    /// Runs a route's handler for a caller allowed in, and answers every refusal and failure as a page.
    func respond(
        to request: Request, context: BasicRequestContext, access: ConsoleRoute.Access,
        handler: ConsoleRoute.Handler
    ) async throws -> Response {
        var response: Response
        do {
            if request.method == .post { try Self.checkOrigin(request) }
            let viewer = viewer(of: request)
            switch access {
            case .open:
                break
            case .signedIn(let permission):
                guard let viewer else {
                    guard request.method == .get, !request.uri.path.hasPrefix("/console/stream") else {
                        throw APIError(.unauthorized, code: "unauthorized", "sign in to the console first")
                    }
                    var response = Self.redirect(to: "/console/sign-in")
                    Self.secure(&response.headers)
                    return response
                }
                guard permission.allows(viewer.role) else {
                    throw APIError(
                        .forbidden, code: "forbidden", "the \(viewer.role.rawValue) role may not open this page")
                }
            }
            response = try await handler(request, context, viewer)
        } catch let error as APIError {
            response = errorPage(error, viewer: viewer(of: request))
        } catch {
            context.logger.error(
                "console request failed",
                metadata: ["http.error": "\(String(reflecting: type(of: error)))", "http.path": "\(request.uri.path)"]
            )
            response = errorPage(
                APIError(.internalServerError, code: "internal", "the server failed to handle the request"),
                viewer: viewer(of: request))
        }
        Self.secure(&response.headers)
        return response
    }

    /// The signed-in caller of a request, if its cookie names a live session.
    func viewer(of request: Request) -> ConsoleSessions.Session? {
        guard let cookie = request.cookies[Self.cookieName]?.value, !cookie.isEmpty else { return nil }
        return sessions.session(cookie: cookie, now: clock.now(), isConfigured: authenticator.isConfigured)
    }

    /// A POST must come from a page of this console: the browser's `Sec-Fetch-Site: same-origin` (a header no page
    /// can set) or an `Origin` naming vigild's own address says so. Together with SameSite=Strict cookies this stops
    /// another site from posting a form here.
    static func checkOrigin(_ request: Request) throws {
        if request.headers[HTTPField.Name("Sec-Fetch-Site")!] == "same-origin" { return }
        if let origin = request.headers[.origin], let host = request.head.authority,
            origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first == host[...]
        {
            return
        }
        throw APIError(.forbidden, code: "forbidden_origin", "a console form must be posted from the console itself")
    }

    /// What every console answer carries: no caching, no framing, no inline script or style, no referrer to
    /// other sites.
    static func secure(_ headers: inout HTTPFields) {
        headers[.contentSecurityPolicy] =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        if headers[.cacheControl] == nil { headers[.cacheControl] = "no-store" }
    }

    static func redirect(to location: String, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.location: location]
        headers.append(contentsOf: extra)
        return Response(status: .seeOther, headers: headers)
    }

    /// A page: the template's content inside the layout, for a viewer (nil on the sign-in page).
    func page(
        _ template: String, title: String, model: Any, viewer: ConsoleSessions.Session?,
        status: HTTPResponse.Status = .ok, live: Bool = false, current: String? = nil
    ) -> Response {
        let content = templates.render(model, template: template)
        let layout = Layout(
            title: title, content: content, role: viewer?.role.rawValue, live: live,
            nav: viewer.map { Layout.navigation(for: $0.role, current: current) } ?? [])
        let html = templates.render(layout, template: "layout")
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    func errorPage(_ error: APIError, viewer: ConsoleSessions.Session?) -> Response {
        struct Model {
            let status: Int
            let code: String
            let message: String
        }
        return page(
            "error", title: "\(error.status.code) \(error.status.reasonPhrase)",
            model: Model(status: Int(error.status.code), code: error.code, message: error.message), viewer: viewer,
            status: error.status)
    }
}

/// The frame of every page.
struct Layout {
    struct Link {
        let href: String
        let label: String
        let current: Bool
    }

    let title: String
    let content: String
    let role: String?
    let live: Bool
    let nav: [Link]

    /// The pages a role may open, in the order the navigation shows them.
    static func navigation(for role: ReaderRole, current: String?) -> [Link] {
        let pages: [(String, String, Permission)] = [
            ("/console/", "Today", .safety), ("/console/participants", "Participants", .safety),
            ("/console/alerts", "Alerts", .safety), ("/console/adverse-events", "Adverse events", .safety),
            ("/console/inventory", "Inventory", .inventory), ("/console/integrity", "Integrity", .log),
            ("/console/key", "My key", .safety),
        ]
        return pages.filter { $0.2.allows(role) }.map { Link(href: $0.0, label: $0.1, current: $0.0 == current) }
    }

    /// Where a role lands after signing in; nil for a role with no page (operations reads `/healthz` and
    /// `/metrics`).
    static func landing(for role: ReaderRole) -> String? {
        if Permission.safety.allows(role) { return "/console/" }
        if Permission.log.allows(role) { return "/console/integrity" }
        if Permission.inventory.allows(role) { return "/console/inventory" }
        return nil
    }
}
