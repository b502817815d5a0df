import Foundation
import VigilModel

/// Moving a generated clinic log to PostgreSQL and back, as an operator does it, against the copy that stays on
/// SQLite: `vigilctl backup --database` (SQLite to SQLite, then verified), `vigilctl migrate-store` (SQLite to a
/// throwaway PostgreSQL cluster, started by scripts/postgres-cluster) and `vigilctl export store` (back to a file).
/// Each of the three verifies every signature once, so their ratios show what the copy itself costs.
enum MigrateScenario {
    static func run(events count: Int, vigilctl: String, clusterScript: String) async throws {
        say("\n== store copies: \(count) stored events, SQLite and PostgreSQL")
        let folder = NSTemporaryDirectory() + "vigil-bench-migrate-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let storePath = folder + "/vigil.sqlite"
        let written = try await ClinicLog.write(count, to: storePath, admin: SigningKey(), daemon: SigningKey())
        let cluster = folder + "/cluster"
        try run(clusterScript, ["start", cluster])
        defer { try? run(clusterScript, ["stop", cluster]) }
        let url = try String(contentsOfFile: cluster + "/url", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let database = url.replacingOccurrences(of: "/postgres?", with: "/vigil?")
        try run("/usr/bin/psql", ["-q", "-d", url, "-c", "CREATE DATABASE vigil"])

        var rates: [String: Double] = [:]
        for (name, arguments) in [
            ("backup (SQLite to SQLite)", ["backup", "--database", storePath, "--out", folder + "/copy.sqlite"]),
            ("migrate-store (SQLite to PostgreSQL)", ["migrate-store", "--from", storePath, "--to", database]),
            (
                "export store (PostgreSQL to SQLite)",
                ["export", "store", "--from", database, "--to", folder + "/back.sqlite"]
            ),
        ] {
            let started = ContinuousClock.now
            let (status, peakKB) = try ExportScenario.measure(vigilctl, arguments)
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            precondition(status == 0, "vigilctl \(arguments[0]) failed")
            rates[name] = Double(written) / seconds
            say(
                String(
                    format: "%-38@ %.1f s (%.0f events/s), peak resident memory %.1f MB", name as NSString, seconds,
                    Double(written) / seconds, Double(peakKB) / 1024))
        }
        if let backup = rates["backup (SQLite to SQLite)"] {
            for name in ["migrate-store (SQLite to PostgreSQL)", "export store (PostgreSQL to SQLite)"] {
                say(String(format: "%-38@ %.2f of the SQLite copy's rate", name as NSString, rates[name]! / backup))
            }
        }
    }

    /// Runs a program to its end, its output discarded; fails on a non-zero status. Spawned and reaped here:
    /// Foundation's Process waits for every copy of a descriptor it hands the child to close, and the server the
    /// cluster script starts keeps its copies for as long as it runs.
    static func run(_ program: String, _ arguments: [String]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard (status >> 8) & 0xFF == 0, status & 0x7F == 0 else {
            throw POSIXError(.EIO, userInfo: [NSLocalizedDescriptionKey: "\(program) \(arguments) failed"])
        }
    }
}

/// A throwaway PostgreSQL cluster for the scenarios that keep the log there (scripts/postgres-cluster).
struct BenchCluster {
    let folder: String
    let script: String
    let url: String

    static func start(script: String) throws -> BenchCluster {
        let folder = NSTemporaryDirectory() + "vigil-bench-pg-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder)
        try MigrateScenario.run(script, ["start", folder + "/cluster"])
        let url = try String(contentsOfFile: folder + "/cluster/url", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return BenchCluster(folder: folder, script: script, url: url)
    }

    /// A new, empty database on the cluster: its URL.
    func newDatabase() throws -> String {
        let name = "vigil_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        try MigrateScenario.run("/usr/bin/psql", ["-q", "-d", url, "-c", "CREATE DATABASE \(name)"])
        return url.replacingOccurrences(of: "/postgres?", with: "/\(name)?")
    }

    func stop() {
        try? MigrateScenario.run(script, ["stop", folder + "/cluster"])
        try? FileManager.default.removeItem(atPath: folder)
    }
}
