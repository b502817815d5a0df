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

    /// Runs a program to its end; its exit status and its peak resident set (KB), from wait4's rusage. Spawned
    /// and reaped here (not by Foundation's Process, which may reap the child first and lose its usage).
    static func measure(_ program: String, _ arguments: [String]) throws -> (Int32, Int) {
        var pid: pid_t = 0
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let spawned = posix_spawn(&pid, program, nil, nil, argv, environ)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) == -1 && errno == EINTR {}
        return ((status >> 8) & 0xFF, usage.ru_maxrss)
    }
}
