import Dispatch
import Foundation
import Histogram
import Synchronization
import VigilModel

/// Steady load for a long time (issue 20): a fixed rate of single-event requests over 16 keep-alive
/// connections, readings spread over many sessions, with latency counted from each request's scheduled send
/// time. Reported per 10-second window (p50, p99, p99.9, max, the slowest fsync of a probe beside the daemon, the
/// share of the processors' time the hypervisor gave to other guests, and the background tasks the daemon logged
/// in it), with the daemon's resident memory, processor time and context switches each minute, so that a stall or
/// a creep shows where it happens.
enum SoakScenario {
    struct Results {
        var overall: Measurement
        var windows: [Window]
        /// Resident memory (VmRSS) at the end of each minute, bytes.
        var residentByMinute: [Int]
    }

    struct Window {
        var start: Int
        var requests: Int
        var p50: Double
        var p99: Double
        var p999: Double
        var max: Double
        /// The slowest 4 KB write and fsync of the probe in this window (nanoseconds).
        var fsyncMax: Double
        /// The share of the processors' time stolen by the hypervisor in this window, percent (nil where
        /// /proc/stat cannot be read).
        var steal: Double?
        var tasks: [String]
    }

    static let windowSeconds = 10

    static func run(
        vigild: String, rate: Int, seconds: Int, sessions: Int, environment: [String: String]
    ) async throws -> Results {
        say("\n== vigil soak: \(rate) events/s for \(seconds) s over \(sessions) sessions, 16 connections")
        let folder = NSTemporaryDirectory() + "vigil-bench-soak-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let scenario = try await Scenario.launch(
            vigild: vigild, folder: folder, admin: SigningKey(), environment: environment)
        defer { scenario.stop() }
        try await scenario.registerDevices()
        let envelopes = scenario.presign(rate * seconds, sessions: sessions)

        let connections = 16
        let interval = Duration.nanoseconds(1_000_000_000 * connections / rate)
        let shared = Shared(windows: seconds / windowSeconds + 1)
        let port = scenario.port
        let pid = scenario.process.processIdentifier
        let started = ContinuousClock.now
        let logStart = scenario.logLength
        // A probe beside the daemon's files: is a slow window the disk (every fsync slow) or the daemon?
        let probe = FsyncProbe(path: folder + "/fsync-probe", windows: seconds / windowSeconds + 1, started: started)
        probe.start()
        let per = (envelopes.count + connections - 1) / connections
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Resident memory at the end of each minute, and the processor time and context switches of the
                // minute: the daemon's cost per event, and how much of it is threads waking one another.
                func processorSoFar() -> (seconds: Double, switches: Int) {
                    (MachineCPU.seconds(of: [pid]), MachineCPU.contextSwitches(of: pid))
                }
                var processor = processorSoFar()
                for _ in 0..<(seconds / 60) {
                    try await Task.sleep(for: .seconds(60))
                    let bytes = Scenario.status(pid, "VmRSS:")
                    shared.resident.withLock { $0.append(bytes) }
                    let now = processorSoFar()
                    shared.processor.withLock {
                        $0.append((now.seconds - processor.seconds, max(0, now.switches - processor.switches)))
                    }
                    processor = now
                    // And what of it is SQLite's, from the daemon's own gauge.
                    let (_, metrics) = try await scenario.get("/metrics")
                    let sqlite =
                        String(decoding: metrics, as: UTF8.self).split(separator: "\n")
                        .first { $0.hasPrefix("vigil_sqlite_memory_bytes ") }
                        .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
                    shared.sqlite.withLock { $0.append(Int(sqlite)) }
                    // And the daemon's files: neither the store's log nor the views' may grow with the history.
                    shared.disk.withLock { $0.append(Self.diskUse(folder)) }
                }
            }
            group.addTask {
                // The processors' time stolen by the hypervisor, per window: a slow window with no background
                // task and a quick fsync may be the machine's neighbours.
                var previous = MachineCPU.read()
                for window in 0..<(seconds / windowSeconds) {
                    try await Task.sleep(until: started + .seconds((window + 1) * windowSeconds), clock: .continuous)
                    let now = MachineCPU.read()
                    shared.steal.withLock {
                        $0.append(now.flatMap { now in previous.map { now.since($0) } }?.stolenPercent)
                    }
                    previous = now
                }
            }
            for connection in 0..<connections {
                let slice = envelopes[
                    min(envelopes.count, connection * per)..<min(envelopes.count, (connection + 1) * per)]
                let offset = interval * Double(connection) / Double(connections)
                group.addTask {
                    var index = 0
                    try await HTTPLoadConnection.post(
                        host: "127.0.0.1", port: port, path: "/v1/events", bodies: slice, interval: interval,
                        offset: offset
                    ) { status, _, nanoseconds in
                        if status != 200 && status != 201 { shared.failures.add(1, ordering: .relaxed) }
                        let scheduled = offset + interval * index
                        shared.record(nanoseconds, window: Int(scheduled / .seconds(windowSeconds)))
                        index += 1
                    }
                }
            }
            try await group.waitForAll()
        }
        let fsyncMaxima = probe.stop()
        let elapsed = (ContinuousClock.now - started) / .seconds(1)
        if shared.failures.load(ordering: .relaxed) > 0 {
            say("WARNING: \(shared.failures.load(ordering: .relaxed)) requests were not answered 200/201")
        }
        // What ran in the background, by window: the daemon's log lines since the load began, with their times.
        let tasks = scenario.logLines(since: logStart).compactMap { line -> (Int, String)? in
            let offset = (line.time - started) / .seconds(1)
            guard offset >= 0 else { return nil }
            for (marker, name) in [
                ("event log verified from the last signed head", "log check"),
                ("read models checked against the log", "views check"),
                ("log head signed", "head signed"),
            ] where line.text.contains(marker) {
                return (Int(offset) / windowSeconds, name)
            }
            return nil
        }
        let perWindow = shared.windows.withLock { $0 }
        let steal = shared.steal.withLock { $0 }
        var results: [Window] = []
        for (index, histogram) in perWindow.enumerated() where histogram.totalCount > 0 {
            results.append(
                Window(
                    start: index * windowSeconds, requests: Int(histogram.totalCount),
                    p50: Double(histogram.valueAtPercentile(50)), p99: Double(histogram.valueAtPercentile(99)),
                    p999: Double(histogram.valueAtPercentile(99.9)), max: Double(histogram.max),
                    fsyncMax: Double(fsyncMaxima[index]), steal: index < steal.count ? steal[index] : nil,
                    tasks: tasks.filter { $0.0 == index }.map(\.1)))
        }
        say("window  requests  p50 ms  p99 ms  p99.9 ms  max ms  fsync max ms  steal %  background")
        for window in results {
            let stolen = window.steal.map { String(format: "%7.1f", $0) } ?? "      -"
            say(
                String(
                    format: "%5d s  %8d  %6.2f  %6.2f  %8.2f  %6.2f  %12.2f  %@  %@", window.start, window.requests,
                    window.p50 / 1e6, window.p99 / 1e6, window.p999 / 1e6, window.max / 1e6, window.fsyncMax / 1e6,
                    stolen, window.tasks.joined(separator: ", ")))
        }
        let minutes = shared.resident.withLock { $0 }
        say(
            "resident memory by minute (MB): "
                + megabytes(minutes))
        say(
            "of which SQLite's, by minute (MB): "
                + megabytes(shared.sqlite.withLock { $0 }))
        let disk = shared.disk.withLock { $0 }
        say(
            "store with its write-ahead log, by minute (MB): "
                + megabytes(disk.map(\.store)))
        say(
            "read models with theirs, by minute (MB): "
                + megabytes(disk.map(\.views)))
        let processor = shared.processor.withLock { $0 }
        say(
            "vigild's processor time by minute (% of one core): "
                + processor.map { String(format: "%.0f", 100 * $0.seconds / 60) }.joined(separator: " "))
        say(
            "vigild's context switches by minute (per event): "
                + processor.map { String(format: "%.1f", Double($0.switches) / Double(rate * 60)) }.joined(
                    separator: " "))
        if !processor.isEmpty {
            let events = Double(rate * 60 * processor.count)
            say(
                String(
                    format: "vigild per event: %.0f us of processor time, %.1f context switches",
                    processor.reduce(0) { $0 + $1.seconds } * 1e6 / events,
                    Double(processor.reduce(0) { $0 + $1.switches }) / events))
        }
        let histogram = shared.overall.withLock { $0 }
        let measurement = Measurement(
            events: Int(histogram.totalCount), seconds: elapsed, p50: Double(histogram.valueAtPercentile(50)),
            p99: Double(histogram.valueAtPercentile(99)), p999: Double(histogram.valueAtPercentile(99.9)),
            max: Double(histogram.max))
        measurement.report("vigil soak", latency: "latency from scheduled send")
        return Results(overall: measurement, windows: results, residentByMinute: minutes)
    }
}

extension SoakScenario {
    /// Byte counts, one a minute, as whole megabytes on one line.
    static func megabytes(_ values: [Int]) -> String {
        values.map { String(format: "%.0f", Double($0) / 1e6) }.joined(separator: " ")
    }

    /// Bytes in the daemon's folder: the store's files (`vigil.sqlite` and its `-wal`, `-shm`) and the read
    /// models' (`vigil.projections.sqlite`, theirs, and a views check's scratch file).
    static func diskUse(_ folder: String) -> (store: Int, views: Int) {
        var use = (store: 0, views: 0)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            let size = ((try? FileManager.default.attributesOfItem(atPath: folder + "/" + name))?[.size] as? Int) ?? 0
            if name.hasPrefix("vigil.projections.sqlite") {
                use.views += size
            } else if name.hasPrefix("vigil.sqlite") {
                use.store += size
            }
        }
        return use
    }
}

/// What the soak's connections share.
private final class Shared: Sendable {
    let windows: Mutex<[Histogram<UInt64>]>
    let overall = Mutex(
        Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three))
    let failures = Atomic<Int>(0)
    let resident = Mutex<[Int]>([])
    let sqlite = Mutex<[Int]>([])
    let disk = Mutex<[(store: Int, views: Int)]>([])
    let steal = Mutex<[Double?]>([])
    /// The daemon's processor time (seconds) and its threads' context switches, each minute.
    let processor = Mutex<[(seconds: Double, switches: Int)]>([])

    init(windows count: Int) {
        windows = Mutex(
            (0..<count).map { _ in
                Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
            })
    }

    func record(_ nanoseconds: UInt64, window: Int) {
        windows.withLock { _ = $0[min(window, $0.count - 1)].record(nanoseconds) }
        overall.withLock { _ = $0.record(nanoseconds) }
    }
}

/// Writes 4 KB and syncs it every 100 ms on a thread of its own, keeping the slowest per window: the disk's
/// own latency beside the daemon's, measured the same way its commits pay it.
private final class FsyncProbe: Sendable {
    let path: String
    let started: ContinuousClock.Instant
    private let maxima: Mutex<[UInt64]>
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(path: String, windows: Int, started: ContinuousClock.Instant) {
        self.path = path
        self.started = started
        self.maxima = Mutex([UInt64](repeating: 0, count: windows))
    }

    func start() {
        Thread.detachNewThread { [self] in
            defer { finished.signal() }
            let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { return }
            defer { close(descriptor) }
            let block = [UInt8](repeating: 0x5A, count: 4096)
            var offset: off_t = 0
            while !stopping.load(ordering: .relaxed) {
                let before = ContinuousClock.now
                _ = block.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, offset) }
                _ = fsync(descriptor)
                let spent = UInt64((ContinuousClock.now - before) / .nanoseconds(1))
                let window = Int((before - started) / .seconds(SoakScenario.windowSeconds))
                maxima.withLock { if window < $0.count { $0[window] = max($0[window], spent) } }
                // A small file: overwrite the same 4 MB over and over.
                offset = (offset + 4096) % (4 << 20)
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }

    /// Stops the probe and returns the slowest write-and-sync of each window (nanoseconds).
    func stop() -> [UInt64] {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
        return maxima.withLock { $0 }
    }
}
