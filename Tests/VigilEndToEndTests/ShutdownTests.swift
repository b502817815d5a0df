import Foundation
import GRDB
import Synchronization
import Testing
import VigilModel
import VigilStore
import VigilTestSupport

@Suite(.serialized) struct ShutdownTests {
    @Test func sigtermDuringLoadLosesNoAcknowledgedEvent() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            let registered = try await daemon.client.post("/v1/events/batch", Fixtures.batch(keys.registrations()))
            #expect(registered.status == 200)

            // Submitters run until the daemon goes away; each remembers what was acknowledged.
            let load = LoadState()
            let client = daemon.client
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        let key = index % 2 == 0 ? keys.clinician : keys.device
                        while !load.stopped.load(ordering: .relaxed) {
                            let payload = Fixtures.vitals()
                            guard
                                let response = try? await client.post("/v1/events", Fixtures.envelope(payload, by: key))
                            else { return }
                            if response.status == 201, case .object(let object)? = try? JSONParser.parse(response.body),
                                case .number(let position)? = object["position"], let value = position.integerValue
                            {
                                load.acknowledged.withLock { $0.append((payload.id, value)) }
                            } else if response.status != 503 {
                                Issue.record("unexpected answer \(response.status): \(response.text)")
                                return
                            }
                        }
                    }
                }
                // Let the load run, then SIGTERM in the middle of it.
                while load.acknowledged.withLock({ $0.count }) < 300 { try await Task.sleep(for: .milliseconds(20)) }
                let status = try await daemon.stop(signal: SIGTERM)
                load.stopped.store(true, ordering: .relaxed)
                #expect(status == 0, "vigild exit status after SIGTERM\n\(daemon.logText)")
                try await group.waitForAll()
            }
            #expect(daemon.logText.contains("event store closed"))

            // Restart: every acknowledged event is there, at the position it was acknowledged with.
            let restarted = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            var stored: [EventID: Int64] = [:]
            var after: Int64 = 0
            while true {
                let page = try await restarted.client.get("/v1/events?after=\(after)&limit=1000", token: "e2e-auditor")
                guard case .object(let root) = try JSONParser.parse(page.body),
                    case .array(let events)? = root["events"], !events.isEmpty
                else { break }
                for case .object(let entry) in events {
                    guard case .number(let position)? = entry["position"],
                        case .string(let encoded)? = entry["envelope"],
                        let envelope = try? Envelope.decode(Base64.decode(encoded) ?? []),
                        let payload = try? EventPayload.decode(envelope.payload, context: .replay)
                    else { continue }
                    stored[payload.id] = position.integerValue
                    after = position.integerValue ?? after
                }
            }
            let acks = load.acknowledged.withLock { $0 }
            #expect(acks.count >= 300)
            for ack in acks {
                #expect(
                    stored[ack.id] == ack.position,
                    "acknowledged event \(ack.id) at \(ack.position) is missing after restart")
            }
            #expect(try await restarted.stop() == 0)
            let report = try LogVerifier.verify(path: folder + "/data/vigil.sqlite")
            #expect(report.isValid, "\(String(describing: report.failure))")
            #expect(report.entriesChecked == Int64(stored.count))
        }
    }
}

/// What the submitters share: what was acknowledged, and when to stop.
final class LoadState: Sendable {
    let acknowledged = Mutex<[(id: EventID, position: Int64)]>([])
    let stopped = Atomic<Bool>(false)
}
