import ArgumentParser
import Crypto
import Dispatch
import Foundation
import GRDB
import Glibc
import Histogram
import NIOCore
import Synchronization
import VigilModel

/// Measures Vigil end to end over loopback, beside the machine's own limits, in one run.
///
/// Baselines: Ed25519 verification (`openssl speed` and swift-crypto on every core) and raw SQLite appends
/// with the store's durability (one fsync per event, and batched). Vigil: a fresh vigild per scenario, fed
/// pre-signed envelopes over keep-alive connections. Prints events/s, latency percentiles and the ratios
/// the project's goals are stated in. Build it and vigild in release mode first.
@main
struct VigilBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil-bench",
        abstract: "Measure Vigil's ingest against this machine's limits (see docs/benchmarks.md)."
    )

    @Option(help: "The vigild binary (default: next to this program).")
    var vigild: String?

    @Option(
        help:
            "Scenarios to run: machine, openssl, crypto, sqlite, peer, single, batch, latency, alerts, decode, replay, soak, scale, export, migrate, and single-postgres, batch-postgres, latency-postgres, soak-postgres (the log in a throwaway PostgreSQL cluster), single-two-nodes, batch-two-nodes (two vigild on one database of it) (default: all but decode, soak, scale, export, migrate and the PostgreSQL ones; peer when its Python is there)."
    )
    var only: [String] = []

    @Option(help: "The Python that has the peer's `eventsourcing` installed (scripts/peer-bench makes it).")
    var peerPython = ".build/peer-venv/bin/python"

    @Option(help: "The peer's program.")
    var peerScript = "Benchmarks/Peer/eventsourcing_peer.py"

    @Option(help: "Events sent one per request in the single scenario.")
    var singleEvents = 40_000

    @Option(help: "Concurrent connections in the single scenario.")
    var connections = 64

    @Option(help: "Events sent in batches in the batch scenario.")
    var batchEvents = 200_000

    @Option(help: "Envelopes per batch request.")
    var batchSize = 500

    @Option(help: "Concurrent connections in the batch scenario.")
    var batchConnections = 4

    @Option(help: "Events per second offered in the latency scenario.")
    var rate = 1000

    @Option(help: "Seconds the latency scenario lasts.")
    var seconds = 10

    @Option(help: "Seconds the soak scenario lasts (issue 20 asks for 30 minutes or more).")
    var soakSeconds = 1800

    @Option(help: "Events per second offered in the soak scenario.")
    var soakRate = 600

    @Option(help: "Sessions the soak scenario's readings are spread over.")
    var soakSessions = 300

    @Flag(
        help:
            "Run each vigild of the PostgreSQL scenarios on one core of its own (taskset): one node on core 0, two on cores 0 and 1, as if each node had a one-core machine."
    )
    var pinNodes = false

    @Option(help: "Settings of the soak scenario's daemon, as VIGIL_KEY=VALUE (repeatable).")
    var soakEnvironment: [String] = ["VIGIL_LOG_LEVEL=info", "VIGIL_INTEGRITY_VIEWSCHECKINTERVALSECONDS=600"]

    @Option(help: "Events stored for the replay scenario.")
    var replayEvents = 300_000

    @Option(help: "Events already stored in the scale scenario (issue 7 asks about 10,000,000).")
    var scaleEvents = 1_000_000

    @Option(help: "Events stored for the FHIR export scenario.")
    var exportEvents = 1_000_000

    @Option(help: "Events stored for the migrate scenario (copies between SQLite and PostgreSQL).")
    var migrateEvents = 300_000

    /// ``soakEnvironment`` as names and values.
    var soakSettings: [String: String] {
        Dictionary(
            soakEnvironment.compactMap { setting in
                setting.firstIndex(of: "=").map {
                    (String(setting[..<$0]), String(setting[setting.index(after: $0)...]))
                }
            }, uniquingKeysWith: { $1 })
    }

    func run() async throws {
        let wanted = Set(only)
        func enabled(_ name: String) -> Bool { wanted.isEmpty || wanted.contains(name) }
        var results = Results()
        if enabled("machine") { Machine.describe() }
        if enabled("openssl") { results.openssl = try Baselines.opensslVerify() }
        if enabled("crypto") { results.swiftCrypto = Baselines.swiftCryptoVerify() }
        if enabled("sqlite") { results.sqlite = try Baselines.sqliteAppends() }
        if wanted.contains("peer") || (wanted.isEmpty && FileManager.default.isExecutableFile(atPath: peerPython)) {
            results.peer = try Baselines.peer(
                python: peerPython, script: peerScript, single: singleEvents / 2, batch: batchEvents,
                batchSize: batchSize)
        }
        let daemonPath =
            vigild ?? (URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/vigild")
        if enabled("single") {
            results.single = try await Scenario.run(
                vigild: daemonPath, title: "single: 1 event per request, \(connections) connections"
            ) {
                try await $0.single(events: singleEvents, connections: connections)
            }
        }
        if enabled("batch") {
            results.batch = try await Scenario.run(
                vigild: daemonPath, title: "batch: \(batchSize) events per request, \(batchConnections) connections"
            ) {
                try await $0.batch(events: batchEvents, batchSize: batchSize, connections: batchConnections)
            }
        }
        if enabled("latency") {
            results.latency = try await Scenario.run(
                vigild: daemonPath, title: "latency: \(rate) events/s offered for \(seconds) s"
            ) {
                try await $0.fixedRate(rate: rate, seconds: seconds)
            }
        }
        // The same scenarios with the log in PostgreSQL (issue 15): a throwaway cluster, a new database for each.
        let postgresWanted = [
            "single-postgres", "batch-postgres", "latency-postgres", "soak-postgres", "single-two-nodes",
            "batch-two-nodes",
        ].filter { wanted.contains($0) }
        if !postgresWanted.isEmpty {
            let cluster = try BenchCluster.start(
                script: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                    .deletingLastPathComponent().path + "/scripts/postgres-cluster")
            defer { cluster.stop() }
            if wanted.contains("single-postgres") {
                results.singlePostgres = try await Scenario.run(
                    vigild: daemonPath, title: "single on PostgreSQL: 1 event per request, \(connections) connections",
                    environment: ["VIGIL_DATABASE_URL": try cluster.newDatabase()], pinned: pinNodes
                ) {
                    try await $0.single(events: singleEvents, connections: connections)
                }
            }
            if wanted.contains("batch-postgres") {
                results.batchPostgres = try await Scenario.run(
                    vigild: daemonPath,
                    title: "batch on PostgreSQL: \(batchSize) events per request, \(batchConnections) connections",
                    environment: ["VIGIL_DATABASE_URL": try cluster.newDatabase()], pinned: pinNodes
                ) {
                    try await $0.batch(events: batchEvents, batchSize: batchSize, connections: batchConnections)
                }
            }
            // Two vigild nodes on one database, the connections split between them (issue 15: two nodes >= one).
            if wanted.contains("single-two-nodes") {
                results.singleTwoNodes = try await Scenario.run(
                    vigild: daemonPath,
                    title: "single on two nodes, one PostgreSQL database: \(connections) connections split",
                    environment: ["VIGIL_DATABASE_URL": try cluster.newDatabase()], nodes: 2, pinned: pinNodes
                ) {
                    try await $0.single(events: singleEvents, connections: connections)
                }
            }
            if wanted.contains("batch-two-nodes") {
                results.batchTwoNodes = try await Scenario.run(
                    vigild: daemonPath,
                    title: "batch on two nodes, one PostgreSQL database: \(batchConnections) connections split",
                    environment: ["VIGIL_DATABASE_URL": try cluster.newDatabase()], nodes: 2, pinned: pinNodes
                ) {
                    try await $0.batch(events: batchEvents, batchSize: batchSize, connections: batchConnections)
                }
            }
            if wanted.contains("latency-postgres") {
                results.latencyPostgres = try await Scenario.run(
                    vigild: daemonPath, title: "latency on PostgreSQL: \(rate) events/s offered for \(seconds) s",
                    environment: ["VIGIL_DATABASE_URL": try cluster.newDatabase()], pinned: pinNodes
                ) {
                    try await $0.fixedRate(rate: rate, seconds: seconds)
                }
            }
            if wanted.contains("soak-postgres") {
                var environment = soakSettings
                environment["VIGIL_DATABASE_URL"] = try cluster.newDatabase()
                _ = try await SoakScenario.run(
                    vigild: daemonPath, rate: soakRate, seconds: soakSeconds, sessions: soakSessions,
                    environment: environment)
            }
        }
        if enabled("alerts") {
            results.alerts = try await Scenario.run(
                vigild: daemonPath, title: "alert latency: hypertensive readings at 50/s", latency: "alert latency"
            ) {
                try await $0.alertLatency(count: 1000, rate: 50)
            }
        }
        if wanted.contains("decode") {
            await DecodeScenario.run(events: 100_000)
            try EncodeScenario.run(alerts: 700)
        }
        if enabled("replay") { results.replay = try await ReplayScenario.run(events: replayEvents) }
        if wanted.contains("soak") {
            _ = try await SoakScenario.run(
                vigild: daemonPath, rate: soakRate, seconds: soakSeconds, sessions: soakSessions,
                environment: soakSettings)
        }
        if wanted.contains("export") {
            try await ExportScenario.run(
                events: exportEvents,
                vigilctl: URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/vigilctl")
        }
        if wanted.contains("migrate") {
            let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            try await MigrateScenario.run(
                events: migrateEvents, vigilctl: here.path + "/vigilctl",
                clusterScript: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                    .deletingLastPathComponent().path + "/scripts/postgres-cluster")
        }
        if wanted.contains("scale") {
            results.scale = try await ScaleScenario.run(
                vigild: daemonPath, stored: scaleEvents, events: batchEvents / 2, batchSize: batchSize,
                connections: batchConnections)
        }
        results.printRatios()
    }
}

/// What the run measured, for the ratios.
struct Results {
    var openssl: Double?
    var swiftCrypto: Double?
    var sqlite: (single: Double, batched: Double)?
    var peer: (single: Double, batch: Double)?
    var single: Measurement?
    var batch: Measurement?
    var latency: Measurement?
    var replay: ReplayScenario.Results?
    var alerts: Measurement?
    var scale: ScaleScenario.Results?
    var singlePostgres: Measurement?
    var batchPostgres: Measurement?
    var latencyPostgres: Measurement?
    var singleTwoNodes: Measurement?
    var batchTwoNodes: Measurement?

    func printRatios() {
        say("\n== ratios (goals from issue 7)")
        if let batchPostgres, let batch {
            say(
                String(
                    format: "batch ingest PostgreSQL / SQLite            %.2f   (goal >= 0.6, issue 15)",
                    batchPostgres.eventsPerSecond / batch.eventsPerSecond))
        }
        if let singlePostgres, let single {
            say(
                String(
                    format: "single ingest PostgreSQL / SQLite           %.2f",
                    singlePostgres.eventsPerSecond / single.eventsPerSecond))
        }
        if let batchTwoNodes, let batchPostgres {
            say(
                String(
                    format: "batch ingest two nodes / one (PostgreSQL)   %.2f   (goal >= 1, issue 15)",
                    batchTwoNodes.eventsPerSecond / batchPostgres.eventsPerSecond))
        }
        if let singleTwoNodes, let singlePostgres {
            say(
                String(
                    format: "single ingest two nodes / one (PostgreSQL)  %.2f",
                    singleTwoNodes.eventsPerSecond / singlePostgres.eventsPerSecond))
        }
        if let latencyPostgres {
            say(
                String(
                    format: "p99 on PostgreSQL at the offered rate       %.1f ms (goal <= 15 ms at 1,000/s, issue 15)",
                    latencyPostgres.p99 / 1e6))
        }
        if let batch, let openssl {
            say(
                String(
                    format: "batch ingest / openssl verify (2 cores)     %.2f   (goal >= 0.75)",
                    batch.eventsPerSecond / openssl))
        }
        if let batch, let swiftCrypto {
            say(String(format: "batch ingest / swift-crypto verify (all)    %.2f", batch.eventsPerSecond / swiftCrypto))
        }
        if let single, let openssl {
            say(
                String(
                    format: "single ingest / openssl verify (2 cores)    %.2f   (goal >= 0.5, issue 12)",
                    single.eventsPerSecond / openssl))
        }
        if let single, let sqlite {
            say(
                String(
                    format: "single ingest / SQLite fsync per event      %.2f   (goal >= 1.3)",
                    single.eventsPerSecond / sqlite.single))
        }
        if let peer, let single {
            say(
                String(
                    format: "single ingest / peer (eventsourcing) single  %.2f   (goal >= 5)",
                    single.eventsPerSecond / peer.single))
        }
        if let peer, let batch {
            say(
                String(
                    format: "batch ingest / peer (eventsourcing) batch    %.2f   (goal >= 5)",
                    batch.eventsPerSecond / peer.batch))
        }
        if let replay {
            say(
                String(
                    format: "projection rebuild                          %.0f events/s (goal >= 300,000)",
                    replay.replayPerSecond))
            say(
                String(
                    format: "verify, hashes only                         %.0f entries/s (goal >= 1,000,000)",
                    replay.hashesPerSecond))
            if let swiftCrypto {
                say(
                    String(
                        format: "verify with signatures / swift-crypto       %.2f   (goal >= 0.9)",
                        replay.signaturesPerSecond / swiftCrypto))
            }
        }
        if let alerts {
            say(
                String(
                    format: "alert latency p99 (cause committed to alert committed) %.2f ms (goal <= 5 ms)",
                    alerts.p99 / 1e6))
        }
        if let scale {
            say(
                String(
                    format: "batch ingest with %lld stored / empty store %.2f   (goal >= 0.9)", scale.stored,
                    scale.full.eventsPerSecond / scale.empty.eventsPerSecond))
            say(
                String(
                    format: "daemon resident memory, idle / peak         %.0f / %.0f MB (goal <= 150 MB)",
                    Double(scale.idleResident) / 1e6, Double(scale.peakResident) / 1e6))
            say(
                String(
                    format: "start to READY=1                            %.2f s (goal <= 5 s)", scale.readySeconds))
            say(
                String(
                    format: "READY=1 to views current                    %.2f s (goal <= 1 s)", scale.currentSeconds))
            for (name, read) in scale.reads {
                say(
                    String(
                        format: "officer read p99, %@ %.2f ms (goal <= 5 ms)",
                        name.padding(toLength: 27, withPad: " ", startingAt: 0), read.p99 / 1e6))
            }
            say(
                String(
                    format: "store size / envelope bytes                 %.2f   (goal <= 1.3)",
                    Double(scale.storeBytes) / Double(max(1, scale.envelopeBytes))))
        }
        if let latency {
            say(
                String(
                    format: "p99 acknowledgement at %.0f events/s         %.2f ms (goal <= 10 ms)",
                    latency.eventsPerSecond, latency.p99 / 1e6))
        }
    }
}

struct Measurement {
    var events: Int
    var seconds: Double
    var p50: Double
    var p99: Double
    var p999: Double
    var max: Double

    var eventsPerSecond: Double { Double(events) / seconds }

    func report(_ label: String, latency: String = "request latency") {
        say(
            String(
                format:
                    "%@: %d events in %.2f s = %.0f events/s; %@ p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms",
                label, events, seconds, eventsPerSecond, latency, p50 / 1e6, p99 / 1e6, p999 / 1e6, max / 1e6
            )
        )
    }
}

enum Machine {
    static func describe() {
        say("== machine")
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?
            .trimmingCharacters(in: .whitespaces)
        say("cores: \(ProcessInfo.processInfo.activeProcessorCount); cpu: \(cpu ?? "unknown")")
        say("os: \(ProcessInfo.processInfo.operatingSystemVersionString)")
        say("date: \(Timestamp(microsecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1_000_000)).rfc3339)")
    }
}

enum Baselines {
    /// `openssl speed -multi <cores> ed25519`: the machine's Ed25519 verifications per second.
    static func opensslVerify() throws -> Double {
        say("\n== baseline: openssl speed ed25519 (all cores)")
        let output = try Spawn.capture([
            "openssl", "speed", "-seconds", "3", "-multi", String(ProcessInfo.processInfo.activeProcessorCount),
            "ed25519",
        ])
        // "253 bits EdDSA (Ed25519)   0.0000s   0.0001s  54000.0  14000.0": sign/s then verify/s.
        guard let line = output.split(separator: "\n").last(where: { $0.contains("Ed25519") }),
            let verify = line.split(separator: " ").compactMap({ Double($0) }).last
        else {
            say("openssl output not understood:\n\(output)")
            return .nan
        }
        say(String(format: "openssl: %.0f verify/s", verify))
        return verify
    }

    /// The peer: Python's `eventsourcing` on SQLite with the same durability, no signatures (issue 7).
    static func peer(
        python: String, script: String, single: Int, batch: Int, batchSize: Int
    ) throws -> (single: Double, batch: Double) {
        say("\n== peer: Python eventsourcing on SQLite (WAL, synchronous=FULL, no signatures)")
        let folder = NSTemporaryDirectory() + "vigil-bench-peer-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let output = try Spawn.capture([
            python, script, "--folder", folder, "--single", String(single), "--batch", String(batch),
            "--batch-size", String(batchSize),
        ])
        var rates: [String: Double] = [:]
        for line in output.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let mode = object["mode"] as? String, let rate = object["eventsPerSecond"] as? Double
            else { continue }
            rates[mode] = rate
        }
        guard let singleRate = rates["single"], let batchRate = rates["batch"] else {
            throw BenchError(
                "the peer did not report both modes (is eventsourcing installed? scripts/peer-bench):\n\(output)")
        }
        say(
            String(
                format: "peer: one event per transaction: %.0f events/s; %d per call: %.0f events/s", singleRate,
                batchSize, batchRate))
        return (singleRate, batchRate)
    }

    /// swift-crypto's Ed25519 verify on every core, for about two seconds.
    static func swiftCryptoVerify() -> Double {
        say("\n== baseline: swift-crypto Ed25519 verify (all cores)")
        let key = SigningKey()
        let message = Array(repeating: UInt8(ascii: "x"), count: 400)
        let signature = key.signature(for: message)
        let verifying = key.verifyingKey
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let counts = Mutex([Int](repeating: 0, count: cores))
        let started = DispatchTime.now().uptimeNanoseconds
        DispatchQueue.concurrentPerform(iterations: cores) { core in
            var count = 0
            while DispatchTime.now().uptimeNanoseconds - started < 2_000_000_000 {
                for _ in 0..<100 { precondition(verifying.isValidSignature(signature, for: message)) }
                count += 100
            }
            counts.withLock { $0[core] = count }
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let rate = Double(counts.withLock { $0.reduce(0, +) }) / elapsed
        say(String(format: "swift-crypto: %.0f verify/s on %d cores", rate, cores))
        return rate
    }

    /// Raw SQLite appends of 400-byte rows with the store's durability (WAL, synchronous=FULL).
    static func sqliteAppends() throws -> (single: Double, batched: Double) {
        say("\n== baseline: raw SQLite appends (WAL, synchronous=FULL, 400-byte rows, UUIDv7 ids)")
        let folder = NSTemporaryDirectory() + "vigil-bench-sqlite-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let queue = try DatabaseQueue(path: folder + "/raw.sqlite")
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(
                sql: "CREATE TABLE t (position INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, body BLOB NOT NULL)")
        }
        let body = Data(repeating: 0x61, count: 400)
        var position: Int64 = 0
        func insert(_ db: Database) throws {
            position += 1
            let id = Data(
                EventID.v7(at: Timestamp(microsecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1e6))).bytes)
            try db.cachedStatement(sql: "INSERT INTO t VALUES (?, ?, ?)").execute(arguments: [position, id, body])
        }
        // One transaction (one fsync) per event, for three seconds.
        var started = DispatchTime.now().uptimeNanoseconds
        var single = 0
        while DispatchTime.now().uptimeNanoseconds - started < 3_000_000_000 {
            try queue.write { try insert($0) }
            single += 1
        }
        let singleRate = Double(single) / (Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        // 1000 events per transaction.
        started = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<200 {
            try queue.write { db in for _ in 0..<1000 { try insert(db) } }
        }
        let batchedRate = 200_000 / (Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        try queue.close()
        say(
            String(
                format: "one fsync per event: %.0f events/s; 1000 per transaction: %.0f events/s", singleRate,
                batchedRate))
        return (singleRate, batchedRate)
    }
}

/// Runs a program with every signal unblocked and captures its standard output.
///
/// Foundation's Process passes on the spawning thread's signal mask, in which the Swift runtime blocks
/// SIGALRM; `openssl speed` times itself with SIGALRM and would then run forever.
enum Spawn {
    static func capture(_ arguments: [String]) throws -> String {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { throw BenchError("pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, environ)
        close(pipe[1])
        guard spawned == 0 else {
            close(pipe[0])
            throw BenchError("cannot run \(arguments[0])")
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(pipe[0], &buffer, buffer.count)
            if count <= 0 { break }
            output += buffer[0..<count]
        }
        close(pipe[0])
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return String(decoding: output, as: UTF8.self)
    }
}

/// Prints a line at once (stdout is a pipe when the run is recorded; nothing may sit in a buffer).
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
