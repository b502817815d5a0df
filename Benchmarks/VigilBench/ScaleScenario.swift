import Foundation
import GRDB
import VigilAlerts
import VigilModel
import VigilProjections
import VigilStore
import VigilTestSupport

/// Flat cost at scale (issues 7 and 12), in one run: batch ingest into an empty store beside the same into a
/// store of `stored` events; over that store, how long vigild takes to report READY=1 and to have its views
/// current, its resident memory idle and under load, and the p99 of officers' reads.
enum ScaleScenario {
    struct Results {
        var stored: Int64
        var empty: Measurement
        var full: Measurement
        /// From process start to READY=1, seconds.
        var readySeconds: Double
        /// From READY=1 to views following the whole log, seconds.
        var currentSeconds: Double
        /// Resident memory (VmRSS) once started, idle, and the peak (VmHWM) by the end of the load, in bytes.
        var idleResident: Int
        var peakResident: Int
        var reads: [(name: String, measurement: Measurement)]
        var storeBytes: Int
        var envelopeBytes: Int
    }

    static func run(
        vigild: String, stored count: Int, events: Int, batchSize: Int, connections: Int
    ) async throws -> Results {
        let empty = try await Scenario.run(vigild: vigild, title: "scale: batch ingest into an empty store") {
            try await $0.batch(events: events, batchSize: batchSize, connections: connections)
        }
        say("\n== vigil scale: a store of \(count) events")
        let folder = NSTemporaryDirectory() + "vigil-bench-scale-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let admin = SigningKey()
        let stored = try await prepare(folder: folder, count: count, admin: admin)

        // A first start appends the alerts the rebuild decided and projects them; a clean stop signs the head.
        let warm = try await Scenario.launch(vigild: vigild, folder: folder, admin: admin)
        try await waitUntilCurrent(warm)
        warm.stop()

        // The measured start: as systemd would see it.
        let notify = try NotifyListener(folder: folder)
        defer { notify.stop() }
        let launched = Date()
        let scenario = try await Scenario.launch(vigild: vigild, folder: folder, admin: admin, notify: notify)
        defer { scenario.stop() }
        guard let ready = try await notify.wait(for: "READY=1", timeout: 600)?.time else {
            throw BenchError("vigild never reported READY=1")
        }
        let readySeconds = ready.timeIntervalSince(launched)
        try await waitUntilCurrent(scenario)
        let currentSeconds = max(0, Date().timeIntervalSince(ready))
        let idle = scenario.resident
        say(
            String(
                format: "READY=1 %.2f s after start; views current %.2f s after READY; resident %.0f MB idle",
                readySeconds, currentSeconds, Double(idle) / 1e6))

        let reads = try await officerReads(scenario, stored: stored)
        try await scenario.registerDevices()
        let full = try await scenario.batch(events: events, batchSize: batchSize, connections: connections)
        full.report("vigil, batch ingest into the full store")
        let peak = Scenario.status(scenario.process.processIdentifier, "VmHWM:")
        say(
            String(
                format: "resident %.0f MB after the load, peak %.0f MB", Double(scenario.resident) / 1e6,
                Double(peak) / 1e6))
        let queue = try DatabaseQueue(path: folder + "/vigil.sqlite")
        let envelopeBytes = try await queue.read { db in
            try Int.fetchOne(db, sql: "SELECT SUM(LENGTH(envelope)) FROM events") ?? 0
        }
        try queue.close()
        let storeBytes = ["", "-wal"].reduce(0) { total, suffix in
            let attributes = try? FileManager.default.attributesOfItem(atPath: folder + "/vigil.sqlite" + suffix)
            return total + ((attributes?[.size] as? Int) ?? 0)
        }
        say(
            String(
                format: "store %.0f MB for %.0f MB of envelopes (%.2fx)", Double(storeBytes) / 1e6,
                Double(envelopeBytes) / 1e6, Double(storeBytes) / Double(max(1, envelopeBytes))))
        return Results(
            stored: stored, empty: empty, full: full, readySeconds: readySeconds, currentSeconds: currentSeconds,
            idleResident: idle, peakResident: peak, reads: reads, storeBytes: storeBytes, envelopeBytes: envelopeBytes)
    }

    /// The generated clinic log with a head signed by the daemon's key (where vigild finds it), and read models
    /// built offline with the rules, as a daemon that had followed the log would have left them.
    static func prepare(folder: String, count: Int, admin: SigningKey) async throws -> Int64 {
        let started = ContinuousClock.now
        let daemon = SigningKey()
        try KeyFile.pem(privateKey: daemon).write(toFile: folder + "/daemon.key", atomically: true, encoding: .utf8)
        let written = try await ClinicLog.write(count, to: folder + "/vigil.sqlite", admin: admin, daemon: daemon)
        say(String(format: "wrote %lld events in %.1f s", written, (ContinuousClock.now - started) / .seconds(1)))
        let reader = try LogReader(path: folder + "/vigil.sqlite")
        defer { reader.close() }
        let rebuild = try await ProjectionRebuild.run(
            storePath: folder + "/vigil.sqlite", projectionsPath: folder + "/vigil.projections.sqlite",
            reactor: AlertDecider(settings: Reloadable(.default), logHolds: { try reader.contains(eventID: $0) }))
        say(
            String(
                format: "built the read models (rules included) at %.0f events/s (%.1f s)", rebuild.eventsPerSecond,
                rebuild.seconds))
        return written
    }

    /// Waits until /healthz says the views follow the whole log and the log holds still.
    static func waitUntilCurrent(_ scenario: Scenario) async throws {
        var last = ""
        while true {
            let (_, body) = try await scenario.get("/healthz")
            let text = String(decoding: body, as: UTF8.self)
            if let range = text.range(of: "following; at position "),
                let of = text[range.upperBound...].range(of: " of ")
            {
                let position = text[range.upperBound..<of.lowerBound]
                let size = text[of.upperBound...].prefix { $0.isNumber }
                if position == size {
                    if String(position) == last { return }
                    last = String(position)
                }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// A tile index in C2SP tlog-tiles' path form (`x001/x234/067`).
    static func tilePath(_ index: Int64) -> String {
        TileAddress(level: 0, index: UInt64(index), width: 256).path.dropFirst(2).description
    }

    /// The p99 of each read an officer makes, over participants, sessions and lots spread across the log.
    static func officerReads(
        _ scenario: Scenario, stored: Int64
    ) async throws -> [(name: String, measurement: Measurement)] {
        // Participants of the waves the log holds whole (or of the first, whose first session is always there).
        let waves = max(1, Int(stored) / ClinicLog.waveSize)
        let sessions = Int(stored) >= ClinicLog.waveSize ? 3 : 1
        var generator = SystemRandomNumberGenerator()
        func someone() -> String {
            "P-\(Int.random(in: 0..<waves, using: &generator))-\(Int.random(in: 0..<ClinicLog.participantsPerWave, using: &generator))"
        }
        let kinds: [(String, () -> String)] = [
            ("participant", { "/v1/participants/" + someone() }),
            ("session", { "/v1/sessions/" + someone() + "-S\(Int.random(in: 1...sessions, using: &generator))" }),
            ("inventory (every lot)", { "/v1/inventory" }),
            ("alerts?status=open", { "/v1/alerts?status=open" }),
            ("adverse-events?open=true", { "/v1/adverse-events?open=true" }),
        ]
        // What a regulator's or a witness's client asks, without a token (under the public rate limit).
        let proofs: [(String, () -> String)] = [
            ("checkpoint", { "/v1/checkpoint" }),
            (
                "inclusion proof",
                {
                    "/v1/proofs/inclusion?position=\(Int64.random(in: 1...stored, using: &generator))&size=\(stored)"
                }
            ),
            (
                "consistency proof",
                {
                    "/v1/proofs/consistency?from=\(Int64.random(in: 1...stored, using: &generator))&to=\(stored)"
                }
            ),
            ("tile", { "/tile/0/\(Self.tilePath(Int64.random(in: 0..<stored / 256, using: &generator)))" }),
        ]
        // The officers' console: the same questions as pages, rendered on the server, behind a session cookie.
        let pages: [(String, () -> String)] = [
            ("console: today", { "/console/" }),
            ("console: participant", { "/console/participants/" + someone() }),
            (
                "console: session (vitals chart)",
                { "/console/sessions/" + someone() + "-S\(Int.random(in: 1...sessions, using: &generator))" }
            ),
            ("console: alerts", { "/console/alerts?status=open" }),
            ("console: inventory", { "/console/inventory" }),
            (
                "console: a lot (balance chart, ledger)",
                { "/console/lots/L-\(Int.random(in: 0..<waves, using: &generator))" }
            ),
            ("console: adverse events", { "/console/adverse-events" }),
        ]
        let cookie = try await HTTPLoadConnection.consoleCookie(
            host: "127.0.0.1", port: scenario.port, token: Scenario.token)
        var results: [(String, Measurement)] = []
        for (index, (name, path)) in (kinds + proofs + pages).enumerated() {
            let isPage = index >= kinds.count + proofs.count
            let count = index < kinds.count ? 1000 : 300
            _ = try await scenario.reads((0..<50).map { _ in path() }, cookie: isPage ? cookie : nil)
            let measurement = try await scenario.reads(
                (0..<count).map { _ in path() }, cookie: isPage ? cookie : nil)
            say(
                String(
                    format: "read %@: p50 %.2f ms, p99 %.2f ms, max %.2f ms", name, measurement.p50 / 1e6,
                    measurement.p99 / 1e6, measurement.max / 1e6))
            results.append((name, measurement))
        }
        return results
    }
}
