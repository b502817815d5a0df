import Foundation
import Testing
import VigilConfig
import VigilModel
import VigilStore
import VigilTestSupport

@Suite struct AlertDeliveryTests {
    func hypertension(_ keys: TestKeys) -> [UInt8] {
        Fixtures.envelope(Fixtures.vitals(systolic: 172, diastolic: 104, heartRate: 80), by: keys.device)
    }

    @Test func officersFollowAlertsLiveAndAcknowledgeThemWithSignedEvents() async throws {
        try await LiveDaemon.run { daemon in
            let port = Int(URL(string: daemon.client.baseURL)!.port!)
            // Subscribe, and once the stream answers (it is subscribed before its first byte), cause an alert:
            // the stream carries it live. The stream ends as soon as the alert arrives; 30 s is only the bound
            // for a machine busy with the rest of the suite.
            let (subscribed, signal) = AsyncStream.makeStream(of: Void.self)
            async let streamed = RawHTTP.stream(
                port: port, path: "/v1/alerts/stream", headers: ["Authorization": "Bearer \(Tokens.officer)"],
                timeout: 30, answered: { signal.yield() }
            ) { $0.contains("event: alert\n") }
            for await _ in subscribed { break }
            #expect(try await daemon.submit(hypertension(daemon.keys)).status == 201)
            let text = try await streamed
            #expect(text.hasPrefix("HTTP/1.1 200"))
            #expect(text.contains("text/event-stream"))
            #expect(text.contains("\"rule\":\"hypertension\""))
            #expect(text.contains("\"severity\":\"urgent\""))

            try await daemon.waitForProjections()
            let alert = try #require(try await daemon.json("/v1/alerts?status=open")["alerts"]?[0])
            let alertId = try #require(alert["alertId"]?.literal.flatMap(EventID.init))
            // The officer acknowledges with a signed event; the view says who and when.
            let acknowledge = Fixtures.payload(
                .alertAcknowledged(AlertAcknowledged(alertId: alertId, note: "called the site")))
            #expect(try await daemon.submit(acknowledge, by: daemon.keys.officer).status == 201)
            try await daemon.waitForProjections()
            let acknowledged = try await daemon.json("/v1/alerts?status=acknowledged")
            #expect(acknowledged["alerts"]?[0]?["acknowledged"]?["name"]?.literal == "Sam Safety")
            #expect(acknowledged["alerts"]?[0]?["acknowledged"]?["at"]?.literal == acknowledge.occurredAt.rfc3339)
            // A stream resumed with Last-Event-ID gets what it missed.
            let resumed = try await RawHTTP.stream(
                port: port, path: "/v1/alerts/stream",
                headers: ["Authorization": "Bearer \(Tokens.officer)", "Last-Event-ID": "0"], timeout: 30
            ) { $0.contains("event: alert\n") }
            #expect(resumed.contains(alertId.description))
            // Only officers may follow.
            #expect(try await daemon.client.get("/v1/alerts/stream", token: Tokens.ops).status == 403)
        }
    }

    @Test func theWebhookGetsTheSignedAlertAfterRetries() async throws {
        let receiver = try RecordingServer.start(statuses: [500, 503, 200])
        defer { receiver.stop() }
        try await LiveDaemon.run(configure: {
            $0.webhook.url = "http://127.0.0.1:\(receiver.port)/hooks/vigil"
            $0.webhook.retrySeconds = 0.05
        }) { daemon in
            #expect(try await daemon.submit(hypertension(daemon.keys)).status == 201)
            // A warn alert is not configured for the webhook: 101/min.
            #expect(
                try await daemon.submit(
                    Fixtures.envelope(
                        Fixtures.vitals(systolic: 120, diastolic: 80, heartRate: 101), by: daemon.keys.device)
                ).status == 201)
            for _ in 0..<100 where receiver.requests.count < 3 { try await Task.sleep(for: .milliseconds(50)) }
            try await Task.sleep(for: .milliseconds(300))
            let requests = receiver.requests
            #expect(
                requests.map(\.status) == [500, 503, 200], "two failures, then delivered; the warn alert was not sent")
            let body = try JSONParser.parse(Array(requests.last!.body.utf8))
            #expect(body["alert"]?["rule"]?.literal == "hypertension")
            // The envelope verifies with the daemon's key.
            let envelope = try Envelope.decode(try #require(body["envelope"]))
            try envelope.verifySignatures { $0 == daemon.keys.daemon.id ? daemon.keys.daemon.verifyingKey : nil }
        }
    }

    @Test func theDoseCheckTellsWhatWouldFireAndStoresNothing() async throws {
        try await LiveDaemon.run { daemon in
            let enrolment = Fixtures.payload(
                .participantEnrolled(
                    ParticipantEnrolled(site: "S", medications: [Medication(name: "sertraline", serotonergic: true)])),
                participant: "P-0001"
            )
            #expect(try await daemon.submit(enrolment, by: daemon.keys.clinician).status == 201)
            try await daemon.waitForProjections()
            let size = try await daemon.logSize()
            let body = Array(
                #"{"participant": "P-0001", "session": "P-0001-S1", "doseMg": 150, "kind": "initial"}"#.utf8)
            let response = try await daemon.client.send("POST", "/v1/checks/dose", body: body, token: Tokens.officer)
            #expect(response.status == 200)
            var rules: [String] = []
            if case .array(let fired)? = response.field("wouldFire") {
                rules = fired.compactMap { $0["rule"]?.literal }.sorted()
            }
            #expect(rules == ["dose_regimen", "serotonergic_comedication"])
            #expect(try await daemon.logSize() == size)
            let bad = try await daemon.client.send(
                "POST", "/v1/checks/dose", body: Array(#"{"participant": "P-0001"}"#.utf8), token: Tokens.officer)
            #expect(bad.status == 422)
            #expect(try await daemon.client.send("POST", "/v1/checks/dose", body: body).status == 401)
        }
    }
}
