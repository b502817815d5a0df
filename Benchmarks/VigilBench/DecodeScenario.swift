import Foundation
import VigilModel
import VigilProjections
import VigilStore

/// Where replaying a stored event's bytes spends its time, one core, per stage: the envelope read strictly or
/// skimmed, the payload's JSON parsed, the payload decoded into a typed event. Over the generated clinic log's
/// mix (mostly vital signs).
enum DecodeScenario {
    static func run(events count: Int) async {
        say("\n== decode: \(count) stored envelopes of the generated clinic log, one core")
        let cast = ClinicLog.Cast(admin: SigningKey())
        let start = SystemWallClock().now().adding(seconds: -400 * 86_400)
        let envelopes = await Parallel.map(Array(0..<count), minimumChunk: 500) {
            ClinicLog.event(at: $0, cast: cast, firstWave: start).envelopeBytes
        }
        func time(_ label: String, _ body: () -> Int) {
            let started = ContinuousClock.now
            let checked = body()
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            say(
                String(
                    format: "%@ %.2f us/event (%.0f/s)", label.padding(toLength: 44, withPad: " ", startingAt: 0),
                    seconds * 1e6 / Double(count), Double(count) / seconds))
            precondition(checked == count, "\(label): \(checked) of \(count) decoded")
        }
        let payloads = envelopes.map { EnvelopeSkim.read($0)!.payload }
        time("envelope, strict (Envelope.decode)") {
            envelopes.reduce(0) { $0 + ((try? Envelope.decode($1)) != nil ? 1 : 0) }
        }
        time("envelope, skimmed (EnvelopeSkim)") { envelopes.reduce(0) { $0 + (EnvelopeSkim.read($1) != nil ? 1 : 0) } }
        time("payload JSON parsed (JSONParser)") {
            payloads.reduce(0) { $0 + ((try? JSONParser.parse($1)) != nil ? 1 : 0) }
        }
        time("payload decoded (EventPayload.decode)") {
            payloads.reduce(0) { $0 + ((try? EventPayload.decode($1, context: .replay)) != nil ? 1 : 0) }
        }
        let entries = envelopes.enumerated().map { index, bytes in
            StoredEntry(
                position: Int64(index + 1), eventID: EventID(high: 0, low: UInt64(index)), recordedAt: 0,
                envelope: bytes, leafHash: [], chainHash: [])
        }
        time("stored entry to event (LogReplay.decode)") {
            entries.reduce(0) { $0 + (LogReplay.decode($1) != nil ? 1 : 0) }
        }
        // VIGIL_BENCH_PROFILE=N repeats the whole decode N more times, for a profiler to see it.
        let repeats = ProcessInfo.processInfo.environment["VIGIL_BENCH_PROFILE"].flatMap(Int.init) ?? 0
        for _ in 0..<repeats { precondition(entries.allSatisfy { LogReplay.decode($0) != nil }) }
    }
}

/// What encoding the read models' JSON costs: a list of alerts as `GET /v1/alerts` answers it.
enum EncodeScenario {
    static func run(alerts count: Int) throws {
        say("\n== encode: \(count) alerts as GET /v1/alerts answers them")
        let now = SystemWallClock().now()
        let alerts = (0..<count).map { index in
            AlertView(
                alertId: .v7(at: now), rule: .hypertension, severity: .urgent, participant: "P-\(index)",
                session: "P-\(index)-S1", causes: [.v7(at: now)],
                message: "blood pressure 165/95 mmHg (at or above 160/100)", raisedAt: now, position: Int64(index))
        }
        let list = AlertList(alerts: alerts, asOf: Int64(count))
        var bytes = 0
        let started = ContinuousClock.now
        for _ in 0..<(ProcessInfo.processInfo.environment["VIGIL_BENCH_PROFILE"] != nil ? 400 : 20) {
            bytes = try ViewCoding.encode(list).count
        }
        let seconds = (ContinuousClock.now - started) / .seconds(1) / 20
        say(
            String(
                format: "%d bytes in %.2f ms (%.1f us per alert)", bytes, seconds * 1e3, seconds * 1e6 / Double(count)))
    }
}
