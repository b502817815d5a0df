import Foundation
import HTTPTypes
import Testing
import VigilConfig
import VigilHTTP
import VigilModel
import VigilStore
import VigilTestSupport

@testable import VigilConsole

extension LiveDaemon {
    /// Signs in to the console with a reader token, as the sign-in form does; returns the `Cookie` header value.
    func signIn(_ token: String) async throws -> String {
        let response = try await client.send(
            "POST", "/console/sign-in", body: Array("token=\(token)".utf8), headers: consoleForm,
            followRedirects: false)
        guard response.status == 303, let cookie = response.headers["set-cookie"]?.split(separator: ";").first else {
            throw CLIError("sign-in: \(response.status) \(response.text)")
        }
        return String(cookie)
    }

    /// What a browser sends with a form posted from the console itself.
    var consoleForm: [String: String] {
        ["Origin": "http://127.0.0.1:\(port)", "Content-Type": "application/x-www-form-urlencoded"]
    }

    func page(_ path: String, cookie: String) async throws -> TestHTTPClient.Response {
        try await client.send("GET", path, headers: ["Cookie": cookie], followRedirects: false)
    }
}

/// The officers' console against a live daemon: sign-in, roles, what each page shows, and that recorded text
/// can never become markup.
@Suite struct ConsoleTests {
    @Test func aTokenIsExchangedForASessionCookieThatSignOutEnds() async throws {
        try await LiveDaemon.run(registerKeys: false) { daemon in
            let anonymous = try await daemon.client.send("GET", "/console/", followRedirects: false)
            #expect(anonymous.status == 303)
            #expect(anonymous.headers["location"] == "/console/sign-in")

            let wrong = try await daemon.client.send(
                "POST", "/console/sign-in", body: Array("token=not-a-token".utf8), headers: daemon.consoleForm,
                followRedirects: false)
            #expect(wrong.status == 401)
            #expect(wrong.headers["set-cookie"] == nil)
            #expect(wrong.text.contains("class=\"error\" role=\"alert\""))

            let signedIn = try await daemon.client.send(
                "POST", "/console/sign-in", body: Array("token=\(Tokens.officer)".utf8), headers: daemon.consoleForm,
                followRedirects: false)
            #expect(signedIn.status == 303)
            #expect(signedIn.headers["location"] == "/console/")
            let setCookie = try #require(signedIn.headers["set-cookie"])
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict"))
            #expect(!setCookie.contains(Tokens.officer), "the cookie is not the token")
            let cookie = String(setCookie.split(separator: ";")[0])

            let today = try await daemon.page("/console/", cookie: cookie)
            #expect(today.status == 200)
            #expect(today.text.contains("<h1>Today</h1>"))
            #expect(today.text.contains("id=\"sign-out\""))

            let out = try await daemon.client.send(
                "POST", "/console/sign-out", headers: daemon.consoleForm.merging(["Cookie": cookie]) { $1 },
                followRedirects: false)
            #expect(out.status == 303)
            #expect(out.headers["set-cookie"]?.contains("Max-Age=0") == true)
            #expect(try await daemon.page("/console/", cookie: cookie).status == 303, "the session is over")
        }
    }

    @Test func aFormPostedFromAnotherSiteIsRefused() async throws {
        try await LiveDaemon.run(registerKeys: false) { daemon in
            for origin in ["http://evil.example", "null"] {
                let response = try await daemon.client.send(
                    "POST", "/console/sign-in", body: Array("token=\(Tokens.officer)".utf8),
                    headers: ["Origin": origin, "Content-Type": "application/x-www-form-urlencoded"],
                    followRedirects: false)
                #expect(response.status == 403, "from \(origin)")
                #expect(response.headers["set-cookie"] == nil)
            }
            let noOrigin = try await daemon.client.send(
                "POST", "/console/sign-in", body: Array("token=\(Tokens.officer)".utf8), followRedirects: false)
            #expect(noOrigin.status == 403, "a post that cannot say where it comes from")
            // Chromium sends `Origin: null` on a form posted from a page that sends no referrer; its fetch metadata
            // still says the post came from this site.
            let sameSite = try await daemon.client.send(
                "POST", "/console/sign-in", body: Array("token=\(Tokens.officer)".utf8),
                headers: [
                    "Origin": "null", "Sec-Fetch-Site": "same-origin",
                    "Content-Type": "application/x-www-form-urlencoded",
                ], followRedirects: false)
            #expect(sameSite.status == 303)
        }
    }

    @Test func eachRoleOpensOnlyItsPages() async throws {
        try await LiveDaemon.run(registerKeys: false) { daemon in
            let landing: [ReaderRole: String] = [
                .officer: "/console/", .auditor: "/console/integrity", .pharmacy: "/console/inventory",
            ]
            for role in [ReaderRole.officer, .auditor, .pharmacy] {
                let cookie = try await daemon.signIn(RouteAccessTests.token(role))
                let home = try await daemon.page("/console/sign-in", cookie: cookie)
                #expect(home.headers["location"] == landing[role], "\(role) lands on its page")
                for route in Console.routes where route.method == .get {
                    guard case .signedIn(let permission) = route.access, !route.path.hasSuffix("/stream") else {
                        continue
                    }
                    let path = route.path.replacing("{code}", with: "P-1").replacing(
                        "{id}", with: "01a22a12-602e-7955-810d-7316df6ad3e1"
                    ).replacing("ledger.csv", with: "ledger.csv?from=2026-01-01&to=2026-01-31")
                    let status = try await daemon.page(path, cookie: cookie).status
                    if path == "/console/" && role != .officer {
                        #expect(status == 303, "the \(role) role is sent to its own page")
                    } else if permission.allows(role) {
                        #expect([200, 404].contains(status), "\(route) as \(role): \(status)")
                    } else {
                        #expect(status == 403, "\(route) as \(role): \(status)")
                    }
                }
            }
            let ops = try await daemon.client.send(
                "POST", "/console/sign-in", body: Array("token=\(Tokens.ops)".utf8), headers: daemon.consoleForm,
                followRedirects: false)
            #expect(ops.status == 403, "operations has no console page")
            #expect(ops.headers["set-cookie"] == nil)
        }
    }

    @Test func everyPageForbidsInlineScriptFramingAndCaching() async throws {
        try await LiveDaemon.run(registerKeys: false) { daemon in
            let cookie = try await daemon.signIn(Tokens.officer)
            for path in ["/console/sign-in", "/console/", "/console/alerts", "/console/integrity", "/console/nope-404"]
            {
                let response = try await daemon.client.send(
                    "GET", path, headers: ["Cookie": cookie], followRedirects: false)
                if path.hasSuffix("404") { continue }
                let policy = try #require(response.headers["content-security-policy"], "\(path)")
                #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"))
                #expect(policy.contains("frame-ancestors 'none'"))
                #expect(response.headers["cache-control"] == "no-store")
                #expect(!response.text.contains("<script>"), "no inline script in \(path)")
            }
            let script = try await daemon.client.get("/console/static/console.js")
            #expect(script.status == 200 && script.headers["content-type"]?.hasPrefix("text/javascript") == true)
            let style = try await daemon.client.get("/console/static/console.css")
            #expect(style.status == 200 && style.text.contains("@media print"))
        }
    }

    @Test func theConsoleShowsTheCourseAndRecordedTextStaysText() async throws {
        let keys = TestKeys()
        // No periodic checkpoint within the test (it can run a minute under load): the page shows none until asked.
        try await LiveDaemon.run(
            keys: keys, registerKeys: false, configure: { $0.transparency.checkpointIntervalSeconds = 3600 }
        ) { daemon in
            let attack = "<script>window.pwned=1</script><img src=x onerror=\"pwned=1\">'&"
            let intruder = SigningKey()
            var envelopes = Course(keys: keys).verified.map(\.envelopeBytes)
            envelopes.append(
                Fixtures.envelope(Fixtures.registration(of: intruder, role: .clinician, name: attack), by: keys.admin))
            envelopes.append(
                Fixtures.envelope(
                    Fixtures.payload(
                        .participantEnrolled(
                            ParticipantEnrolled(
                                site: attack, medications: [Medication(name: attack, serotonergic: true)])),
                        participant: "P-0666"), by: intruder))
            #expect(try await daemon.batch(envelopes).status == 200)
            try await daemon.waitForProjections()
            let cookie = try await daemon.signIn(Tokens.officer)

            let today = try await daemon.page("/console/", cookie: cookie).text
            for rule in ["count_discrepancy", "serious_adverse_event", "tachycardia"] {
                #expect(today.contains("data-rule=\"\(rule)\""), "Today lists the open \(rule) alert")
            }
            #expect(today.contains("id=\"count-discrepancies\"") && today.contains("data-lot=\"L-9\""))

            let participant = try await daemon.page("/console/participants/P-0666", cookie: cookie).text
            #expect(participant.contains("&lt;script&gt;window.pwned=1&lt;/script&gt;"))
            #expect(!participant.contains("<script>window") && !participant.contains("<img src=x"))
            #expect(participant.contains("SEROTONERGIC"), "a serotonergic medication is flagged in words")

            // The participant's timeline: every event that names them, their alert's handling included, with
            // who signed it.
            let course = try await daemon.page("/console/participants/P-0007", cookie: cookie).text
            for type in ["participant.enrolled", "dose.dispensed", "vitals.recorded", "alert.acknowledged"] {
                #expect(course.contains("data-type=\"\(type)\""), "the timeline shows \(type)")
            }
            #expect(course.contains("Sam Safety (safety_officer), author"))

            // The lot: received 10,000 mg, six doses, 2.5 mg wasted with a witness, a count 2.5 mg short.
            let lot = try await daemon.page("/console/lots/L-9", cookie: cookie).text
            #expect(lot.contains("id=\"on-hand\">9517.5 mg<"))
            #expect(lot.components(separatedBy: "<tr class=\"movement").count - 1 == 9)
            #expect(lot.contains("<svg class=\"balance-chart\""))
            #expect(lot.contains("class=\"point count mismatch\""), "the short count stands apart from the line")
            #expect(lot.contains("Pia Pharmacist (pharmacist), witness"))

            let session = try await daemon.page("/console/sessions/P-0007-S1", cookie: cookie).text
            #expect(session.contains("<svg class=\"vitals-chart\""))
            #expect(session.components(separatedBy: "<circle class=\"point systolic\"").count - 1 == 2)
            #expect(session.contains("class=\"threshold systolic\" data-value=\"160\""))
            #expect(session.contains("class=\"threshold temperature\" data-value=\"38\""))
            #expect(session.contains("data-minutes=\"120\" data-value=\"150\""), "the 12:00 reading, 120 min in")
            #expect(session.contains("class=\"alert-marker"), "the tachycardia alert marks its reading")

            let adverse = try await daemon.page("/console/adverse-events", cookie: cookie).text
            #expect(adverse.contains("data-ae-id=\"AE-1\"") && adverse.contains("submitted"))

            let resolved = try await daemon.page("/console/alerts?status=resolved", cookie: cookie).text
            #expect(resolved.contains("data-rule=\"hypertension\""))
            let open = try await daemon.page("/console/alerts?status=open&rule=tachycardia", cookie: cookie).text
            #expect(open.contains("data-rule=\"tachycardia\"") && !open.contains("data-rule=\"count_discrepancy\""))

            let inventory = try await daemon.page("/console/inventory", cookie: cookie).text
            #expect(inventory.contains("9517.5 mg"), "the lot's balance")
            let ledger = try await daemon.page(
                "/console/inventory/ledger.csv?from=2025-12-01&to=2026-03-31", cookie: cookie)
            #expect(ledger.status == 200 && ledger.headers["content-type"]?.hasPrefix("text/csv") == true)

            // The page shows the log's size when it was read: a deadline pass may append alerts around the read.
            let sizeBefore = try await daemon.logSize()
            let integrity = try await daemon.page("/console/integrity", cookie: cookie).text
            let sizeAfter = try await daemon.logSize()
            let shown = integrity.firstRange(of: "id=\"log-size\">").flatMap { range in
                Int64(integrity[range.upperBound...].prefix { $0.isNumber })
            }
            #expect(
                shown.map { (sizeBefore...sizeAfter).contains($0) } == true, "log size \(String(describing: shown))")
            #expect(integrity.contains("id=\"checkpoint-size\">none signed yet<"), "before the first checkpoint")
            #expect(!integrity.contains("id=\"checkpoint\""))
            let issued = try await daemon.client.send("POST", "/v1/checkpoint", token: Tokens.auditor)
            #expect(issued.status == 200)
            let signed = try await daemon.page("/console/integrity", cookie: cookie).text
            // The size the checkpoint was signed at: the log may have grown since (a deadline pass's alerts).
            let size = try #require(issued.text.split(separator: "\n").dropFirst().first.flatMap { Int64($0) })
            #expect(signed.contains("id=\"checkpoint-size\">size \(size) (number 1)<"))
            #expect(signed.contains("<pre class=\"note\">") && signed.contains("\n\(size)\n"), "the note as signed")
        }
    }

    @Test func aSessionEndsWhenItsTokenIsNoLongerConfiguredOrItIdles() {
        let sessions = ConsoleSessions(idleSeconds: 60, lifetimeSeconds: 3600)
        let grant = TokenGrant(sha256: Array(repeating: 7, count: 32), role: .officer)
        let start = Timestamp(rfc3339: "2026-11-30T10:00:00Z")!
        let cookie = sessions.open(grant, now: start)
        #expect(sessions.session(cookie: cookie, now: start.adding(seconds: 30), isConfigured: { _ in true }) != nil)
        #expect(sessions.session(cookie: "another", now: start, isConfigured: { _ in true }) == nil)
        #expect(sessions.session(cookie: cookie, now: start.adding(seconds: 40), isConfigured: { _ in false }) == nil)
        #expect(sessions.count == 0, "a revoked session is forgotten")
        let idle = sessions.open(grant, now: start)
        #expect(sessions.session(cookie: idle, now: start.adding(seconds: 61), isConfigured: { _ in true }) == nil)
    }
}

@Suite struct ConsoleFormatTests {
    @Test func numbersAreWrittenToOneDecimal() {
        #expect(Format.tenths(37) == "37.0")
        #expect(Format.tenths(37, trimmingZero: true) == "37")
        #expect(Format.tenths(38.44) == "38.4")
        #expect(Format.tenths(38.46) == "38.5")
        #expect(Format.tenths(-0.25) == "-0.3")
        #expect(Format.tenths(-35.5, trimmingZero: true) == "-35.5")
        #expect(Format.tenths(-20, trimmingZero: true) == "-20")
        #expect(Format.number(120) == "120" && Format.number(37.26) == "37.3" && Format.number(nil) == "")
    }
}
