import Foundation
import Synchronization
import Testing
import VigilModel
import VigilStore
import VigilTestSupport

/// vigild killed with SIGKILL at random moments under concurrent load, again and again, on one store.
///
/// After every restart the daemon must start (its own start-up check from the last signed head passes) and be
/// healthy; at the end every acknowledged event must be stored at the position it was acknowledged with, with
/// the exact bytes sent, the positions gap-free and the whole chain, signatures included, valid.
/// `VIGIL_CRASH_CYCLES` sets the number of kills (3 by default, for CI); `scripts/crash-test` runs 25.
@Suite(.serialized) struct CrashSafetyTests {
    static var cycles: Int {
        ProcessInfo.processInfo.environment["VIGIL_CRASH_CYCLES"].flatMap(Int.init) ?? 3
    }

    /// What the submitters share: what was acknowledged across all cycles, and whether this cycle's daemon
    /// is gone.
    final class Load: Sendable {
        let acknowledged = Mutex(Acknowledged())
        let daemonGone = Atomic<Bool>(false)
        var highest: Int64 { acknowledged.withLock { $0.entries.map(\.position).max() ?? 0 } }
    }

    @Test func sigkillUnderLoadNeverLosesAnAcknowledgedEvent() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let setup = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            #expect(try await setup.client.post("/v1/events/batch", Fixtures.batch(keys.registrations())).status == 200)
            #expect(try await setup.stop() == 0)

            let load = Load()
            var killedAfter: [Int] = []
            for cycle in 0..<Self.cycles {
                let daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
                #expect(try await daemon.waitForLog("vigild ready"), "cycle \(cycle): \(daemon.logText)")
                let health = try await daemon.client.get("/healthz")
                #expect(health.status == 200, "cycle \(cycle) after a kill: \(health.text)")
                let size = try await daemon.client.logHead(token: "e2e-auditor").size
                #expect(size >= load.highest, "cycle \(cycle): the log has \(size) entries")

                // Some kills land within milliseconds of the load starting, most in the middle of it; the first
                // always in the middle, so that a run of early kills still leaves load enough to prove something.
                let delay = cycle > 0 && Bool.random() ? Int.random(in: 0...60) : Int.random(in: 300...1500)
                killedAfter.append(delay)
                load.daemonGone.store(false, ordering: .relaxed)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<12 {
                        group.addTask {
                            try await Self.submit(to: daemon.client, keys: keys, batch: index < 2, load: load)
                        }
                    }
                    try await Task.sleep(for: .milliseconds(delay))
                    _ = try await daemon.stop(signal: SIGKILL)
                    load.daemonGone.store(true, ordering: .relaxed)
                    try await group.waitForAll()
                }
            }

            // A last clean start and stop, then the store itself is checked.
            let last = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            #expect(try await last.waitForLog("vigild ready"), "\(last.logText)")
            #expect(try await last.stop() == 0)
            let acknowledged = load.acknowledged.withLock { $0 }
            #expect(
                acknowledged.entries.count > Self.cycles * 5,
                "too little load to prove anything: \(acknowledged.entries.count) acknowledged")
            let stored = try acknowledged.checkStore(at: folder + "/data/vigil.sqlite")
            print(
                "crash safety: \(Self.cycles) SIGKILLs (after \(killedAfter.map { "\($0)" }.joined(separator: ",")) ms),"
                    + " \(acknowledged.entries.count) events acknowledged, \(stored) entries stored"
            )
        }
    }

    /// Submits until the daemon disappears: single events or batches of 20, vitals that sometimes raise
    /// alerts (so the daemon's own appends are under way too).
    static func submit(to client: TestHTTPClient, keys: TestKeys, batch: Bool, load: Load) async throws {
        while !load.daemonGone.load(ordering: .relaxed) {
            let envelopes = (0..<(batch ? 20 : 1)).map { _ in
                Fixtures.envelope(
                    Fixtures.vitals(systolic: Double.random(in: 100...175), heartRate: Double.random(in: 60...110)),
                    by: keys.device)
            }
            let answer: TestHTTPClient.Response
            do {
                answer =
                    batch
                    ? try await client.post("/v1/events/batch", Fixtures.batch(envelopes))
                    : try await client.post("/v1/events", envelopes[0])
            } catch {
                return  // the daemon was killed: this request was never acknowledged
            }
            guard answer.status == 200 || answer.status == 201 else {
                Issue.record("unexpected answer \(answer.status): \(answer.text)")
                return
            }
            try load.acknowledged.withLock { try $0.record(envelopes, answer: answer) }
        }
    }
}
