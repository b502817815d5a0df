import Foundation
import VigilModel

/// The FHIR export of a generated clinic log, as an operator runs it: `vigilctl export fhir --database`, a child
/// process whose peak resident memory (getrusage of the child) and time are reported, for NDJSON and a Bundle.
enum ExportScenario {
    static func run(events count: Int, vigilctl: String) async throws {
        say("\n== FHIR export: \(count) stored events")
        let folder = NSTemporaryDirectory() + "vigil-bench-export-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let storePath = folder + "/vigil.sqlite"
        let written = try await ClinicLog.write(count, to: storePath, admin: SigningKey(), daemon: SigningKey())
        for format in [["--ndjson"], []] {
            let out = folder + "/export"
            let started = ContinuousClock.now
            let (status, peakKB) = try measure(
                vigilctl,
                ["export", "fhir", "--database", storePath, "--from", "1970-01-01", "--to", "2999-12-31", "--out", out]
                    + format)
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            precondition(status == 0, "vigilctl export fhir failed")
            say(
                String(
                    format: "%@ of %lld events: %.1f s (%.0f events/s), %.0f MB written, peak resident memory %.1f MB",
                    format.isEmpty ? "Bundle" : "NDJSON", written, seconds, Double(written) / seconds,
                    Double(size) / 1_000_000, Double(peakKB) / 1024))
            try? FileManager.default.removeItem(atPath: out)
        }
    }

    /// Runs a program to its end; its exit status and its peak resident set (KB), from wait4's rusage.
    static func measure(_ program: String, _ arguments: [String]) throws -> (Int32, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        try process.run()
        var status: Int32 = 0
        var usage = rusage()
        while wait4(process.processIdentifier, &status, 0, &usage) == -1 && errno == EINTR {}
        return ((status >> 8) & 0xFF, usage.ru_maxrss)
    }
}
