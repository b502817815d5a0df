import HTTPTypes
import Testing
import VigilConfig
import VigilHTTP
import VigilTestSupport

/// Every route of the API, asked with every reader role and with no token, against a live daemon: each answers
/// exactly the roles docs/protocol.md §4 names, written out again here, apart from the code.
@Suite struct RouteAccessTests {
    /// The roles each route admits; nil for a route that needs no token.
    static let documented: [String: Set<ReaderRole>?] = [
        "POST /v1/events": nil,
        "POST /v1/events/batch": nil,
        "GET /healthz": nil,
        "GET /v1/checkpoint": nil,
        "GET /v1/proofs/inclusion": nil,
        "GET /v1/proofs/consistency": nil,
        "GET /tile/**": nil,
        "GET /metrics": [.ops, .auditor, .officer, .pharmacy],
        "GET /v1/events": [.auditor, .officer],
        "GET /v1/log/head": [.auditor, .officer],
        "POST /v1/checkpoint": [.auditor, .officer],
        "GET /v1/proofs/bundle": [.auditor, .officer],
        "GET /v1/inventory": [.pharmacy, .auditor, .officer],
        "GET /v1/exports/ledger": [.pharmacy, .auditor, .officer],
        "POST /v1/checks/dose": [.pharmacy, .officer],
        "GET /v1/alerts": [.officer],
        "GET /v1/alerts/stream": [.officer],
        "GET /v1/alerts/{id}": [.officer],
        "GET /v1/participants/{code}": [.officer],
        "GET /v1/sessions/{id}": [.officer],
        "GET /v1/adverse-events": [.officer],
        "GET /v1/exports/fhir": [.officer],
    ]

    static func token(_ role: ReaderRole) -> String {
        switch role {
        case .officer: Tokens.officer
        case .auditor: Tokens.auditor
        case .ops: Tokens.ops
        case .pharmacy: Tokens.pharmacy
        }
    }

    @Test func everyRouteAdmitsExactlyTheRolesTheDocsName() async throws {
        #expect(
            Set(VigilAPI.routes.map(\.description)) == Set(Self.documented.keys), "a route without a documented role")
        try await LiveDaemon.run(registerKeys: false) { daemon in
            for route in VigilAPI.routes {
                let path = route.path.replacing("{code}", with: "P-1").replacing("{id}", with: "abcd")
                    .replacing("**", with: "0/000")
                let body: [UInt8]? = route.method == .post ? Array("{}".utf8) : nil
                guard let entry = Self.documented[route.description] else { continue }
                let anonymous = try await daemon.client.send(route.method.rawValue, path, body: body).status
                guard let allowed = entry else {
                    #expect(anonymous != 401 && anonymous != 403, "\(route) without a token: \(anonymous)")
                    continue
                }
                #expect(anonymous == 401, "\(route) without a token: \(anonymous)")
                for role in ReaderRole.allCases {
                    // An admitted stream never ends; its admission is checked by the alert-stream tests.
                    if route.path.hasSuffix("/stream") && allowed.contains(role) { continue }
                    let status = try await daemon.client.send(
                        route.method.rawValue, path, body: body, token: Self.token(role)
                    ).status
                    if allowed.contains(role) {
                        #expect(status != 401 && status != 403, "\(route) as \(role): \(status)")
                    } else {
                        #expect(status == 403, "\(route) as \(role): \(status)")
                    }
                }
            }
        }
    }
}
