import Dispatch
import Foundation
import Histogram
import NIOCore
import NIOHTTP1
import Synchronization
import VigilModel
import VigilTestSupport

/// A fresh vigild in a temporary folder, with registered device keys and pre-signed envelopes.
struct Scenario {
    /// The reader token configured in the scenario's daemon (an officer's).
    static let token = "vigil-bench-token"

    let port: Int
    /// Every node's port: the first node's, then those of the nodes that share its database. Connections are
    /// spread over them in turn.
    var ports: [Int] = []
    let admin: SigningKey
    let devices: [SigningKey]
    let process: Process
    /// What the daemon writes to stderr, as it arrives.
    let log: Log

    /// Where the scenario's daemon keeps its store.
    let folder: String

    /// Starts vigild on a new store (which `prepare` may fill first, given the folder and the admin key),
    /// registers the device keys and runs `body`. With more than one node (the log in PostgreSQL, `environment`),
    /// the others start on the same database with the same daemon key, and `body`'s connections go to each in turn.
    static func run(
        vigild: String, title: String, latency: String = "request latency", environment: [String: String] = [:],
        nodes: Int = 1, pinned: Bool = false,
        prepare: (_ folder: String, _ admin: SigningKey) async throws -> Void = { _, _ in },
        _ body: (Scenario) async throws -> Measurement
    ) async throws -> Measurement {
        say("\n== vigil \(title)")
        let folder = NSTemporaryDirectory() + "vigil-bench-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let admin = SigningKey()
        try await prepare(folder, admin)
        var scenario = try await launch(
            vigild: vigild, folder: folder, admin: admin, environment: environment, core: pinned ? 0 : nil)
        defer { scenario.stop() }
        var others: [Scenario] = []
        defer { for other in others { other.stop() } }
        for node in 1..<max(1, nodes) {
            let own = folder + "/node\(node + 1)"
            try FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: true)
            others.append(
                try await launch(
                    vigild: vigild, folder: own, admin: admin,
                    environment: environment.merging(["VIGIL_DAEMON_KEYPATH": folder + "/daemon.key"]) { $1 },
                    core: pinned ? node % ProcessInfo.processInfo.activeProcessorCount : nil))
        }
        scenario.ports = [scenario.port] + others.map(\.port)
        try await scenario.registerDevices()
        let nodes = [scenario.process.processIdentifier] + others.map(\.process.processIdentifier)
        let cpu = MachineCPU.read()
        let daemonsCPU = MachineCPU.seconds(of: nodes)
        let measurement = try await body(scenario)
        measurement.report("vigil", latency: latency)
        if let cpu, let used = MachineCPU.read()?.since(cpu) {
            used.report(events: measurement.events, daemons: MachineCPU.seconds(of: nodes) - daemonsCPU)
        }
        return measurement
    }

    /// Starts vigild on the store in `folder` and waits until it listens; with `notify`, as systemd would
    /// (NOTIFY_SOCKET set), so that the caller sees READY=1; with `core`, on that core alone (`taskset`), as if
    /// it had a machine of one core to itself.
    static func launch(
        vigild: String, folder: String, admin: SigningKey, notify: NotifyListener? = nil,
        environment overrides: [String: String] = [:], core: Int? = nil
    ) async throws -> Scenario {
        let process = Process()
        if let core {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["-c", "\(core)", vigild]
        } else {
            process.executableURL = URL(fileURLWithPath: vigild)
        }
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("VIGIL_") && !["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"].contains($0.key)
        }
        environment["VIGIL_DATABASE_PATH"] = folder + "/vigil.sqlite"
        environment["VIGIL_DAEMON_KEYPATH"] = folder + "/daemon.key"
        environment["VIGIL_HTTP_PORT"] = "0"
        environment["VIGIL_TRUST_ADMINKEYS"] = Base64.encode(admin.publicKey)
        environment["VIGIL_LOG_LEVEL"] = "notice"
        environment["VIGIL_HTTP_MAXBATCHITEMS"] = "10000"
        environment["VIGIL_AUTH_TOKENS"] = Hex.encode(KeyID(publicKey: Array(Scenario.token.utf8)).bytes) + ":officer"
        if let notify { environment["NOTIFY_SOCKET"] = notify.path }
        environment.merge(overrides) { $1 }
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        let log = Log()
        errors.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { log.append(String(decoding: data, as: UTF8.self)) }
        }
        try process.run()
        var port: Int?
        for _ in 0..<12_000 where port == nil {
            try await Task.sleep(for: .milliseconds(5))
            port = log.text.withLock { text in
                text.range(of: "http.port=").flatMap { Int(text[$0.upperBound...].prefix { $0.isNumber }) }
            }
            if !process.isRunning { break }
        }
        guard let port else {
            if process.isRunning { process.terminate() }
            throw BenchError("vigild did not start:\n\(log.text.withLock { $0 })")
        }
        return Scenario(
            port: port, admin: admin, devices: (0..<16).map { _ in SigningKey() }, process: process, log: log,
            folder: folder)
    }

    /// Stops the daemon with SIGTERM and waits for it.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }

    /// The daemon's resident memory now (VmRSS), in bytes.
    var resident: Int { Self.status(process.processIdentifier, "VmRSS:") }

    /// A line of /proc/PID/status in kB, as bytes.
    static func status(_ pid: Int32, _ field: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes * 1024
    }

    func registerDevices() async throws {
        let now = SystemWallClock().now()
        let envelopes = devices.enumerated().map { index, key in
            Envelope.sign(
                payload: EventPayload(
                    id: .v7(at: now), occurredAt: now,
                    data: .keyRegistered(
                        KeyRegistered(publicKey: key.publicKey, name: "Monitor \(index)", role: .device))
                ).jsonBytes,
                author: admin
            ).jsonBytes
        }
        try await HTTPLoadConnection.post(
            host: "127.0.0.1", port: port, path: "/v1/events/batch", bodies: [Self.array(envelopes)]
        ) {
            status, _, _ in precondition(status == 200, "registration failed: \(status)")
        }
    }

    /// How many log lines the daemon has written so far.
    var logLength: Int { log.lines.withLock { $0.count } }

    /// The daemon's log lines after the first `count`, with the time each arrived.
    func logLines(since count: Int) -> [(time: ContinuousClock.Instant, text: String)] {
        log.lines.withLock { Array($0.dropFirst(count)) }
    }

    /// Vitals envelopes signed by the device keys, on every core, spread over `sessions` sessions.
    func presign(_ count: Int, sessions: Int = 500) -> [[UInt8]] {
        let started = DispatchTime.now().uptimeNanoseconds
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let chunk = (count + cores - 1) / cores
        let parts = Mutex([[[UInt8]]](repeating: [], count: cores))
        let devices = self.devices
        DispatchQueue.concurrentPerform(iterations: cores) { core in
            var part: [[UInt8]] = []
            let start = core * chunk
            let end = min(count, start + chunk)
            guard start < end else { return }
            part.reserveCapacity(end - start)
            for index in start..<end {
                let now = SystemWallClock().now()
                let payload = EventPayload(
                    id: .v7(at: now), occurredAt: now, participant: "P-\(1000 + index % sessions)",
                    session: "P-\(1000 + index % sessions)-S1",
                    data: .vitalsRecorded(
                        VitalsRecorded(
                            systolic: 120 + Double(index % 40), diastolic: 80, heartRate: 70 + Double(index % 30)))
                )
                part.append(Envelope.sign(payload: payload.jsonBytes, author: devices[index % devices.count]).jsonBytes)
            }
            parts.withLock { $0[core] = part }
        }
        let envelopes = parts.withLock { $0.flatMap { $0 } }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let size = envelopes.reduce(0) { $0 + $1.count } / max(1, envelopes.count)
        say(String(format: "pre-signed %d envelopes (%d bytes each on average) in %.2f s", count, size, seconds))
        return envelopes
    }

    static func array(_ envelopes: some Collection<[UInt8]>) -> [UInt8] {
        var body: [UInt8] = [UInt8(ascii: "[")]
        body.reserveCapacity(envelopes.reduce(2) { $0 + $1.count + 1 })
        for (index, envelope) in envelopes.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body += envelope
        }
        body.append(UInt8(ascii: "]"))
        return body
    }

    /// Sends `requests` over `connections` keep-alive connections, each request counting for `eventsPerRequest`.
    func drive(
        _ requests: [[UInt8]], path: String, connections: Int, eventsPerRequest: Int, interval: Duration? = nil
    ) async throws -> Measurement {
        let shared = DriveState()
        let per = (requests.count + connections - 1) / connections
        let started = DispatchTime.now().uptimeNanoseconds
        try await withThrowingTaskGroup(of: Void.self) { group in
            for connection in 0..<connections {
                let slice = requests[
                    min(requests.count, connection * per)..<min(requests.count, (connection + 1) * per)]
                guard !slice.isEmpty else { continue }
                group.addTask {
                    var local = Histogram<UInt64>(
                        highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
                    let offset = (interval ?? .zero) * Double(connection) / Double(connections)
                    let port = ports.isEmpty ? port : ports[connection % ports.count]
                    try await HTTPLoadConnection.post(
                        host: "127.0.0.1", port: port, path: path, bodies: slice, interval: interval, offset: offset
                    ) {
                        status, _, nanoseconds in
                        if status != 200 && status != 201 { shared.failures.add(1, ordering: .relaxed) }
                        _ = local.record(nanoseconds)
                    }
                    let done = local
                    shared.latencies.withLock { $0.add(done) }
                }
            }
            try await group.waitForAll()
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let failed = shared.failures.load(ordering: .relaxed)
        if failed > 0 { say("WARNING: \(failed) requests were not answered 200/201") }
        return shared.latencies.withLock { histogram in
            Measurement(
                events: requests.count * eventsPerRequest, seconds: seconds,
                p50: Double(histogram.valueAtPercentile(50)),
                p99: Double(histogram.valueAtPercentile(99)), p999: Double(histogram.valueAtPercentile(99.9)),
                max: Double(histogram.max)
            )
        }
    }

    /// Hypertensive readings, each in a session of its own so none is quieted by an open alert, at `rate` per
    /// second; then, from the log, the time from each reading's commit to its alert's commit (both stamped
    /// by the writer's clock).
    func alertLatency(count: Int, rate: Int) async throws -> Measurement {
        let now = SystemWallClock().now()
        let envelopes = (0..<count).map { index -> [UInt8] in
            let payload = EventPayload(
                id: .v7(at: now), occurredAt: now, participant: "P-\(5000 + index)", session: "P-\(5000 + index)-S1",
                data: .vitalsRecorded(VitalsRecorded(systolic: 175, diastolic: 105))
            )
            return Envelope.sign(payload: payload.jsonBytes, author: devices[index % devices.count]).jsonBytes
        }
        let interval = Duration.nanoseconds(1_000_000_000 / rate)
        _ = try await drive(envelopes, path: "/v1/events", connections: 1, eventsPerRequest: 1, interval: interval)
        try await Task.sleep(for: .seconds(1))
        // Read the log back and pair each alert with its cause.
        var recorded: [EventID: Int64] = [:]
        var latencies = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        var after: Int64 = 0
        var alerts = 0
        while true {
            let (status, body) = try await get("/v1/events?after=\(after)&limit=1000")
            guard status == 200, case .object(let root) = try JSONParser.parse(body),
                case .array(let events)? = root["events"], !events.isEmpty
            else { break }
            for case .object(let entry) in events {
                guard case .number(let position)? = entry["position"],
                    case .number(let micros)? = entry["recordedAtMicros"],
                    case .string(let encoded)? = entry["envelope"], let bytes = Base64.decode(encoded),
                    let envelope = try? Envelope.decode(bytes),
                    let payload = try? EventPayload.decode(envelope.payload, context: .replay),
                    let recordedAt = micros.integerValue
                else { continue }
                after = position.integerValue ?? after
                if case .alertRaised(let alert) = payload.data, let cause = alert.causes.first,
                    let causeAt = recorded[cause]
                {
                    _ = latencies.record(UInt64(max(0, recordedAt - causeAt)) * 1000)
                    alerts += 1
                } else {
                    recorded[payload.id] = recordedAt
                }
            }
        }
        say("alerts raised: \(alerts) for \(count) readings")
        return Measurement(
            events: alerts, seconds: Double(count) / Double(rate), p50: Double(latencies.valueAtPercentile(50)),
            p99: Double(latencies.valueAtPercentile(99)), p999: Double(latencies.valueAtPercentile(99.9)),
            max: Double(latencies.max)
        )
    }

    func get(_ path: String) async throws -> (Int, [UInt8]) {
        let channel = try await HTTPLoadConnection.connect(host: "127.0.0.1", port: port)
        return try await channel.executeThenClose { inbound, outbound in
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "127.0.0.1")
            headers.add(name: "Authorization", value: "Bearer \(Scenario.token)")
            try await outbound.write(
                .head(HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)))
            try await outbound.write(.end(nil))
            var status = 0
            var body: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let head): status = Int(head.status.code)
                case .body(let buffer): body += buffer.readableBytesView
                case .end: return (status, body)
                }
            }
            return (status, body)
        }
    }

    /// GETs `paths` in turn on one keep-alive connection with the officer's token; latency per request.
    func reads(_ paths: [String], cookie: String? = nil) async throws -> Measurement {
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        var failures = 0
        let started = DispatchTime.now().uptimeNanoseconds
        try await HTTPLoadConnection.get(
            host: "127.0.0.1", port: port, paths: paths, token: Scenario.token, cookie: cookie
        ) {
            status, nanoseconds in
            if status != 200 { failures += 1 }
            _ = histogram.record(nanoseconds)
        }
        if failures > 0 { say("WARNING: \(failures) reads were not answered 200") }
        return Measurement(
            events: paths.count, seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9,
            p50: Double(histogram.valueAtPercentile(50)), p99: Double(histogram.valueAtPercentile(99)),
            p999: Double(histogram.valueAtPercentile(99.9)), max: Double(histogram.max))
    }

    func single(events: Int, connections: Int) async throws -> Measurement {
        try await drive(presign(events), path: "/v1/events", connections: connections, eventsPerRequest: 1)
    }

    func batch(events: Int, batchSize: Int, connections: Int) async throws -> Measurement {
        let envelopes = presign(events)
        let batches = stride(from: 0, to: envelopes.count, by: batchSize).map {
            Self.array(envelopes[$0..<min(envelopes.count, $0 + batchSize)])
        }
        return try await drive(batches, path: "/v1/events/batch", connections: connections, eventsPerRequest: batchSize)
    }

    /// Offers `rate` single-event requests per second, spread over 16 connections, and measures latency.
    func fixedRate(rate: Int, seconds: Int) async throws -> Measurement {
        let connections = 16
        let envelopes = presign(rate * seconds)
        let interval = Duration.nanoseconds(1_000_000_000 * connections / rate)
        return try await drive(
            envelopes, path: "/v1/events", connections: connections, eventsPerRequest: 1, interval: interval)
    }
}

/// What the connections of one scenario share.
final class DriveState: Sendable {
    let latencies = Mutex(
        Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three))
    let failures = Atomic<Int>(0)
}

final class Log: Sendable {
    let text = Mutex("")
    let lines = Mutex<[(time: ContinuousClock.Instant, text: String)]>([])

    func append(_ chunk: String) {
        text.withLock { $0 += chunk }
        let now = ContinuousClock.now
        lines.withLock { lines in
            for line in chunk.split(separator: "\n") { lines.append((now, String(line))) }
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The whole machine's CPU time (/proc/stat): every process's, the daemons', the database's and the load's own. Tells
/// whether a scenario's rate is the machine's (every core busy) or something waited.
struct MachineCPU {
    /// Seconds of CPU time spent busy (user, system, interrupts), and in all (busy and idle), summed over the cores.
    var busy: Double
    var all: Double
    /// Seconds the hypervisor gave to other guests while this machine had work (steal), summed over the cores.
    var stolen: Double

    static func read() -> MachineCPU? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        // user nice system idle iowait irq softirq steal, in clock ticks.
        let ticks = line.split(separator: " ").dropFirst().prefix(8).compactMap { Double($0) }
        guard ticks.count == 8 else { return nil }
        let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
        return MachineCPU(
            busy: (ticks.reduce(0, +) - ticks[3] - ticks[4]) / hertz, all: ticks.reduce(0, +) / hertz,
            stolen: ticks[7] / hertz)
    }

    func since(_ start: MachineCPU) -> MachineCPU {
        MachineCPU(busy: busy - start.busy, all: all - start.all, stolen: stolen - start.stolen)
    }

    /// The share of `all` that was stolen, percent.
    var stolenPercent: Double? { all > 0 ? 100 * stolen / all : nil }

    /// The CPU time (user and system) the processes `pids` have used so far, in seconds.
    static func seconds(of pids: [Int32]) -> Double {
        let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
        return pids.reduce(0) { total, pid in
            // The fields after the command's closing parenthesis; utime and stime are the 12th and 13th of them.
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let end = stat.lastIndex(of: ")")
            else { return total }
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
                return total
            }
            return total + (user + system) / hertz
        }
    }

    /// The context switches (voluntary and not) of the process `pid`'s threads alive now: how often its threads
    /// went to sleep and were woken, or were preempted.
    static func contextSwitches(of pid: Int32) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.reduce(0) { total, task in
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
            else { return total }
            return total
                + status.split(separator: "\n").reduce(0) { sum, line in
                    guard line.hasPrefix("voluntary_ctxt_switches:") || line.hasPrefix("nonvoluntary_ctxt_switches:")
                    else { return sum }
                    return sum + (Int(line.split(separator: "\t").last ?? "") ?? 0)
                }
        }
    }

    /// Prints how busy the machine was and the CPU time per event, and of it the daemons' (`daemons` seconds).
    func report(events: Int, daemons: Double) {
        guard all > 0, events > 0 else { return }
        say(
            String(
                format:
                    "machine: %.0f %% busy over %d cores; CPU per event %.0f us, of which vigild %.0f us, the rest "
                    + "(the database, the load, the system) %.0f us",
                100 * busy / all, ProcessInfo.processInfo.activeProcessorCount, busy * 1e6 / Double(events),
                daemons * 1e6 / Double(events), (busy - daemons) * 1e6 / Double(events)))
    }
}
