import Foundation
import GRDB
import VigilModel
import VigilProjections

/// Flat cost (issue 7): batch ingest into a store that already holds many events, beside the same into an
/// empty store, in one run; the daemon's resident memory; the store's size against its envelope bytes.
enum ScaleScenario {
    struct Results {
        var stored: Int64
        var empty: Measurement
        var full: Measurement
        /// Seconds from vigild's start to its read models following the log.
        var catchUpSeconds: Double
        /// Peak resident memory (VmHWM) of the daemon on the full store, in bytes.
        var peakResident: Int
        var storeBytes: Int
        var envelopeBytes: Int
    }

    static func run(
        vigild: String, stored count: Int, events: Int, batchSize: Int, connections: Int
    ) async throws -> Results {
        let empty = try await Scenario.run(vigild: vigild, title: "scale: batch ingest into an empty store") {
            try await $0.batch(events: events, batchSize: batchSize, connections: connections)
        }
        var stored: Int64 = 0
        var catchUp = 0.0
        var peak = 0
        var storeBytes = 0
        var envelopeBytes = 0
        let full = try await Scenario.run(
            vigild: vigild, title: "scale: batch ingest into a store of \(count) events",
            prepare: { folder, admin in
                let started = ContinuousClock.now
                // The daemon's own key, where vigild will find it, signs the generated log's head.
                let daemon = SigningKey()
                try KeyFile.pem(privateKey: daemon).write(
                    toFile: folder + "/daemon.key", atomically: true, encoding: .utf8)
                stored = try await ClinicLog.write(count, to: folder + "/vigil.sqlite", admin: admin, daemon: daemon)
                // Read models as a daemon that had followed the log would have left them.
                _ = try await ProjectionRebuild.run(
                    storePath: folder + "/vigil.sqlite", projectionsPath: folder + "/vigil.projections.sqlite")
                say(
                    String(
                        format: "wrote %lld events and built the read models in %.1f s", stored,
                        (ContinuousClock.now - started) / .seconds(1)))
            }
        ) { scenario in
            let started = ContinuousClock.now
            while true {
                let (status, body) = try await scenario.get("/healthz")
                if status == 200, String(decoding: body, as: UTF8.self).contains("following") { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            catchUp = (ContinuousClock.now - started) / .seconds(1)
            say(String(format: "read models following the log %.1f s after registration", catchUp))
            let measurement = try await scenario.batch(events: events, batchSize: batchSize, connections: connections)
            peak = residentPeak(of: scenario.process.processIdentifier)
            let queue = try DatabaseQueue(path: scenario.folder + "/vigil.sqlite")
            envelopeBytes = try await queue.read { db in
                try Int.fetchOne(db, sql: "SELECT SUM(LENGTH(envelope)) FROM events") ?? 0
            }
            try queue.close()
            storeBytes = ["", "-wal"].reduce(0) { total, suffix in
                let attributes = try? FileManager.default.attributesOfItem(
                    atPath: scenario.folder + "/vigil.sqlite" + suffix)
                return total + ((attributes?[.size] as? Int) ?? 0)
            }
            return measurement
        }
        say(
            String(
                format: "daemon peak resident memory %.0f MB; store %.0f MB for %.0f MB of envelopes (%.2fx)",
                Double(peak) / 1e6, Double(storeBytes) / 1e6, Double(envelopeBytes) / 1e6,
                Double(storeBytes) / Double(max(1, envelopeBytes))))
        return Results(
            stored: stored, empty: empty, full: full, catchUpSeconds: catchUp, peakResident: peak,
            storeBytes: storeBytes, envelopeBytes: envelopeBytes)
    }

    /// VmHWM of a process, in bytes.
    static func residentPeak(of pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes * 1024
    }
}
