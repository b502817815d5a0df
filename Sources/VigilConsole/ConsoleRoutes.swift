import Foundation
import HTTPTypes
package import Hummingbird
import NIOCore
import ServiceLifecycle
import VigilAlerts
import VigilConfig
package import VigilHTTP
import VigilModel

/// One page or action of the console and who may reach it.
package struct ConsoleRoute: Sendable, CustomStringConvertible {
    typealias Handler = @Sendable (Request, BasicRequestContext, ConsoleSessions.Session?) async throws -> Response

    package enum Access: Sendable {
        /// The sign-in page and the static assets.
        case open
        /// A signed-in browser whose token's role holds the permission.
        case signedIn(Permission)
    }

    package var method: HTTPRequest.Method
    package var path: String
    package var access: Access
    let handler: @Sendable (Console) -> Handler

    init(
        _ method: HTTPRequest.Method, _ path: String, _ access: Access,
        _ handler: @escaping @Sendable (Console) -> Handler
    ) {
        self.method = method
        self.path = path
        self.access = access
        self.handler = handler
    }

    package var description: String { "\(method) \(path)" }
}

extension Console {
    /// Every console route and who may open it, declared once; ``addRoutes(to:)`` builds them from this table.
    package static let routes: [ConsoleRoute] = [
        ConsoleRoute(.get, "/console/sign-in", .open) { console in { _, _, viewer in console.signInPage(viewer) } },
        ConsoleRoute(.post, "/console/sign-in", .open) { console in
            { request, _, _ in try await console.signIn(request) }
        },
        ConsoleRoute(.post, "/console/sign-out", .open) { console in { request, _, _ in console.signOut(request) } },
        ConsoleRoute(.get, "/console/static/{file}", .open) { _ in { _, context, _ in try asset(context) } },
        ConsoleRoute(.get, "/console/", .signedIn(.operations)) { console in
            { _, _, viewer in try await console.today(viewer!) }
        },
        ConsoleRoute(.get, "/console/participants", .signedIn(.safety)) { console in
            { request, _, viewer in try await console.participants(request, viewer!) }
        },
        ConsoleRoute(.get, "/console/participants/{code}", .signedIn(.safety)) { console in
            { request, context, viewer in
                try await console.participant(try Self.parameter(context, "code"), request, viewer!)
            }
        },
        ConsoleRoute(.get, "/console/sessions/{id}", .signedIn(.safety)) { console in
            { _, context, viewer in try await console.session(try Self.parameter(context, "id"), viewer!) }
        },
        ConsoleRoute(.get, "/console/alerts", .signedIn(.safety)) { console in
            { request, _, viewer in try await console.alerts(request, viewer!) }
        },
        ConsoleRoute(.get, "/console/alerts/{id}", .signedIn(.safety)) { console in
            { _, context, viewer in try await console.alert(try Self.parameter(context, "id"), viewer!) }
        },
        ConsoleRoute(.get, "/console/adverse-events", .signedIn(.safety)) { console in
            { _, _, viewer in try await console.adverseEvents(viewer!) }
        },
        ConsoleRoute(.get, "/console/inventory", .signedIn(.inventory)) { console in
            { request, _, viewer in try await console.inventory(request, viewer!) }
        },
        ConsoleRoute(.get, "/console/lots/{lot}", .signedIn(.inventory)) { console in
            { request, context, viewer in try await console.lot(try Self.parameter(context, "lot"), request, viewer!) }
        },
        ConsoleRoute(.get, "/console/inventory/ledger.csv", .signedIn(.inventory)) { console in
            { request, _, _ in try await console.ledger(request) }
        },
        ConsoleRoute(.get, "/console/integrity", .signedIn(.log)) { console in
            { _, _, viewer in try await console.integrity(viewer!) }
        },
        ConsoleRoute(.get, "/console/key", .signedIn(.safety)) { console in { _, _, viewer in console.keyPage(viewer!) }
        },
        ConsoleRoute(.get, "/console/stream", .signedIn(.safety)) { console in { _, _, _ in console.stream() } },
    ]

    /// A path parameter, its percent-encoding undone (codes may hold `/`).
    static func parameter(_ context: BasicRequestContext, _ name: String) throws -> String {
        let raw = try context.parameters.require(name)
        return raw.removingPercentEncoding ?? raw
    }

    // MARK: - Signing in and out

    func signInPage(
        _ viewer: ConsoleSessions.Session?, error: String? = nil, status: HTTPResponse.Status = .ok
    )
        -> Response
    {
        if let viewer, error == nil, let landing = Layout.landing(for: viewer.role) {
            return Self.redirect(to: landing)
        }
        struct Model {
            let error: String?
        }
        return page("sign-in", title: "Sign in", model: Model(error: error), viewer: nil, status: status)
    }

    /// Exchanges a reader token for a session cookie. The token is never echoed, logged or kept.
    func signIn(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 4096)
        let form = Self.formFields(String(buffer: body))
        guard let token = form["token"]?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty,
            let grant = authenticator.grant(for: token)
        else {
            return signInPage(nil, error: "That token is not known. Check it and try again.", status: .unauthorized)
        }
        guard let landing = Layout.landing(for: grant.role) else {
            return signInPage(
                nil, error: "The \(grant.role.rawValue) role has no console pages: use /healthz and /metrics.",
                status: .forbidden)
        }
        let cookie = sessions.open(grant, now: clock.now())
        var response = Self.redirect(to: landing)
        response.setCookie(
            Cookie(
                name: Self.cookieName, value: cookie, maxAge: Int(sessions.lifetimeSeconds), path: "/",
                secure: Self.overTLS(request), httpOnly: true, sameSite: .strict))
        return response
    }

    func signOut(_ request: Request) -> Response {
        if let cookie = request.cookies[Self.cookieName]?.value { sessions.close(cookie: cookie) }
        var response = Self.redirect(to: "/console/sign-in")
        response.setCookie(
            Cookie(
                name: Self.cookieName, value: "", maxAge: 0, path: "/", secure: Self.overTLS(request), httpOnly: true,
                sameSite: .strict))
        return response
    }

    /// Whether the browser reached vigild over TLS (through a proxy that says so): the cookie is then Secure.
    static func overTLS(_ request: Request) -> Bool {
        request.head.scheme == "https"
            || request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    /// The fields of an `application/x-www-form-urlencoded` body.
    static func formFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                String(part).replacing("+", with: " ").removingPercentEncoding ?? ""
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    // MARK: - Static assets and the live stream

    static func asset(_ context: BasicRequestContext) throws -> Response {
        let name = try context.parameters.require("file")
        let types = ["css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"]
        guard let text = EmbeddedAssets.files[name], let kind = name.split(separator: ".").last,
            let type = types[String(kind)]
        else {
            throw APIError(.notFound, code: "not_found", "no such file")
        }
        return Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// Tells the Today and Alerts pages when an alert is raised, acknowledged or resolved; the page then fetches
    /// itself again. Only the event's name and the log position travel: the page, not the stream, shows content.
    func stream() -> Response {
        VigilAPI.eventStream(alertBroadcaster.subscribe(), comment: "vigil console") { _, position, kind in
            Array("id: \(position)\nevent: \(kind.rawValue)\ndata: \(position)\n\n".utf8)
        }
    }
}
