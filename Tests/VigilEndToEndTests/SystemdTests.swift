import Foundation
import GRDB
import Synchronization
import Testing
import VigilModel
import VigilTestSupport

@Suite(.serialized) struct SystemdTests {
    @Test func readyComesAfterTheListenerThenWatchdogPingsThenStopping() async throws {
        try await withTemporaryDirectory { folder in
            let listener = try NotifyListener(folder: folder)
            defer { listener.stop() }
            let daemon = try await DaemonProcess.start(
                folder: folder, adminKey: SigningKey(),
                extraEnvironment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "1000000"], launcher: ownWatchdogPID
            )
            let ready = try #require(try await listener.wait(for: "READY=1"))
            #expect(ready.message.contains("STATUS=listening on 127.0.0.1:\(daemon.port); log size 0"))
            // The port named in READY answers at once.
            #expect(try await daemon.client.get("/healthz").status == 200)

            // Pings at half of WATCHDOG_USEC: about 6 in 3 seconds. The window is what actually elapsed, which
            // on a loaded machine can be longer than the 3 s asked for.
            let start = Date()
            try await Task.sleep(for: .seconds(3))
            let end = Date()
            let pings = listener.count(of: "WATCHDOG=1", between: start, and: end)
            let expected = end.timeIntervalSince(start) / 0.5
            #expect(
                Double(pings) >= expected * 0.6 - 1 && Double(pings) <= expected * 1.4 + 1,
                "\(pings) watchdog pings in \(end.timeIntervalSince(start)) s with WATCHDOG_USEC=1s")

            #expect(try await daemon.stop() == 0)
            #expect(try await listener.wait(for: "STOPPING=1", timeout: 2) != nil)
        }
    }

    @Test func aWatchdogPIDOfAnotherProcessIsNotOurs() async throws {
        try await withTemporaryDirectory { folder in
            let listener = try NotifyListener(folder: folder)
            defer { listener.stop() }
            let daemon = try await DaemonProcess.start(
                folder: folder, adminKey: SigningKey(),
                extraEnvironment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "500000", "WATCHDOG_PID": "1"]
            )
            #expect(try await listener.wait(for: "READY=1") != nil)
            try await Task.sleep(for: .seconds(1.5))
            #expect(listener.count(of: "WATCHDOG=1", between: .distantPast, and: .distantFuture) == 0)
            #expect(try await daemon.stop() == 0)
        }
    }

    @Test func pingsStopWhileTheWriterIsWedgedAndResumeAfter() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let listener = try NotifyListener(folder: folder)
            defer { listener.stop() }
            let daemon = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin,
                extraEnvironment: [
                    "NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "600000", "VIGIL_DAEMON_WRITERSTALLSECONDS": "1",
                ],
                launcher: ownWatchdogPID
            )
            #expect(try await listener.wait(for: "READY=1") != nil)
            let registered = try await daemon.client.post(
                "/v1/events/batch",
                Fixtures.batch(keys.registrations()))
            #expect(registered.status == 200)

            // Another connection takes the database's write lock until told to let go: the writer's next commit
            // waits, at most its 10-second busy timeout. The lock is let go 9 s after the commit is seen to start
            // (health says since when), or after 60 s if the event never reaches the writer. It is held on a
            // thread of its own: a task thread blocked for seconds would stall the other tests of the process.
            let locked = Atomic<Bool>(false)
            let release = Atomic<Bool>(false)
            let letGoAt = Mutex(Date().addingTimeInterval(60))
            let lock = Task {
                try await Parallel.onThreadOfItsOwn(lowerPriority: false) {
                    Result {
                        let raw = try DatabaseQueue(path: folder + "/data/vigil.sqlite")
                        try raw.writeWithoutTransaction { db in
                            try db.execute(sql: "BEGIN IMMEDIATE")
                            locked.store(true, ordering: .releasing)
                            while !release.load(ordering: .acquiring), Date() < letGoAt.withLock({ $0 }) {
                                Thread.sleep(forTimeInterval: 0.01)
                            }
                            try db.execute(sql: "ROLLBACK")
                        }
                        try raw.close()
                    }
                }.get()
            }
            while !locked.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(10)) }
            let client = daemon.client
            let submit = Task {
                try await client.post("/v1/events", Fixtures.envelope(Fixtures.vitals(), by: keys.device))
            }
            // Once the commit has waited longer than writerStallSeconds (1 s), health says so. A loaded machine may
            // take a while to get the event to the writer: the clock starts when health shows the commit under way.
            var health: TestHTTPClient.Response
            var commitStarted: Date?
            let asked = Date()
            repeat {
                health = try await daemon.client.get("/healthz")
                if commitStarted == nil, let seconds = Self.commitSeconds(in: health.text) {
                    let started = Date().addingTimeInterval(-seconds)
                    commitStarted = started
                    letGoAt.withLock { $0 = started.addingTimeInterval(9) }
                }
                if health.status == 503 { break }
                try await Task.sleep(for: .milliseconds(100))
            } while Date() < asked.addingTimeInterval(60)
            let seen = commitStarted.map { "after \($0.timeIntervalSince(asked)) s" } ?? "never"
            #expect(health.status == 503, "the commit was seen under way \(seen): \(health.text)")
            #expect(health.text.contains("degraded"))
            let stalledAt = Date()
            // The stall goes on for 2.5 s more, then the lock is let go.
            try await Task.sleep(for: .seconds(2.5))
            release.store(true, ordering: .releasing)
            try await lock.value
            // While the writer was stuck the pings stopped: a gap of well over the 300 ms ping period. (Judged
            // by the gap rather than a fixed window: a loaded machine delays when pings are seen to arrive.)
            let released = Date()
            let pings = listener.messages.filter { $0.message.contains("WATCHDOG=1") }.map(\.time)
            let gaps = zip(pings, pings.dropFirst() + [released]).filter { $0.1 > stalledAt.addingTimeInterval(-3) }
                .map { $0.1.timeIntervalSince($0.0) }
            #expect(
                (gaps.max() ?? 0) >= 2,
                "pings went on while the writer was stuck: gaps \(gaps)")

            let stored = try await submit.value
            #expect(stored.status == 201, "the waiting event is stored once the lock is gone: \(stored.text)")
            #expect(try await listener.wait(for: "WATCHDOG=1", after: Date(), timeout: 3) != nil, "pings resume")
            #expect(try await daemon.waitForLog("the writer is stalled"))
            #expect(try await daemon.stop() == 0)
        }
    }

    /// How long the commit under way has been running, from a `/healthz` body ("committing for 1.234 s").
    static func commitSeconds(in health: String) -> Double? {
        guard let range = health.range(of: "committing for ") else { return nil }
        return Double(health[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }

    @Test func servesTheSocketSystemdPasses() async throws {
        try await withTemporaryDirectory { folder in
            let port = try freePort()
            let daemon = try await DaemonProcess.start(
                folder: folder, adminKey: SigningKey(),
                launcher: ["/usr/bin/systemd-socket-activate", "-l", "127.0.0.1:\(port)"], port: port
            )
            // systemd-socket-activate binds the port itself; wait until it does, then the first connection starts vigild.
            var health: TestHTTPClient.Response?
            for _ in 0..<100 where health == nil {
                health = try? await daemon.client.get("/healthz")
                if health == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(health?.status == 200)
            #expect(try await daemon.waitForLog("serving the socket passed by systemd"))
            #expect(try await daemon.stop() == 0)
        }
    }

    @Test func sighupReloadsWithoutDroppingARequest() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let listener = try NotifyListener(folder: folder)
            defer { listener.stop() }
            let file = folder + "/vigil.yaml"
            try "limits:\n  maxDoseMg: 250\nrules:\n  hypertension:\n    systolic: 160\n".write(
                toFile: file, atomically: true, encoding: .utf8)
            let daemon = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin, arguments: ["--config", file],
                extraEnvironment: ["NOTIFY_SOCKET": listener.path]
            )
            let client = daemon.client
            _ = try await client.post(
                "/v1/events/batch",
                Fixtures.batch(keys.registrations()))
            func dose(_ mg: Int) async throws -> Int {
                let payload = Fixtures.payload(
                    .doseDispensed(DoseDispensed(lot: "L-1", dose: Milligrams(mg), kind: .initial)), participant: "P-1",
                    session: "P-1-S1"
                )
                return try await client.post("/v1/events", Fixtures.envelope(payload, by: keys.pharmacist)).status
            }
            #expect(try await dose(200) == 201)
            /// Urgent hypertension alerts (a reading before any dose also gets a "dosing caution" warning).
            func hypertensionAlerts() async throws -> Int {
                let response = try await client.get("/v1/alerts?status=open", token: "e2e-officer")
                guard case .object(let root) = try JSONParser.parse(response.body),
                    case .array(let alerts)? = root["alerts"]
                else { return -1 }
                return alerts.filter {
                    $0.objectValue?["rule"] == .string("hypertension")
                        && $0.objectValue?["severity"] == .string("urgent")
                }.count
            }
            let reading = { (session: String) in
                Fixtures.envelope(
                    Fixtures.vitals(systolic: 155, diastolic: 85, heartRate: 70, session: session), by: keys.device)
            }
            #expect(try await client.post("/v1/events", reading("P-0001-S8")).status == 201)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await hypertensionAlerts() == 0, "155 mmHg is below the configured 160 (only a dosing caution)")

            // Load runs through both reloads; every request must be answered 201.
            let load = LoadCounter()
            let submitters = (0..<6).map { _ in
                Task {
                    while !load.stop.load(ordering: .relaxed) {
                        let status = try await client.post(
                            "/v1/events", Fixtures.envelope(Fixtures.vitals(), by: keys.device)
                        ).status
                        load.record(status)
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            try "limits:\n  maxDoseMg: 150\nrules:\n  hypertension:\n    systolic: 150\n".write(
                toFile: file, atomically: true, encoding: .utf8)
            let beforeReload = Date()
            kill(daemon.pid, SIGHUP)
            #expect(try await daemon.waitForLog("configuration reloaded"))
            #expect(try await listener.wait(for: "RELOADING=1", after: beforeReload) != nil)
            #expect(try await listener.wait(for: "READY=1", after: beforeReload) != nil)
            #expect(try await dose(200) == 422, "the new ceiling applies")
            #expect(try await client.post("/v1/events", reading("P-0001-S9")).status == 201)
            var alerts = 0
            for _ in 0..<50 where alerts == 0 {
                try await Task.sleep(for: .milliseconds(100))
                alerts = try await hypertensionAlerts()
            }
            #expect(alerts == 1, "the reloaded threshold of 150 mmHg applies")

            try "limits:\n  maxDoseMg: lots\n".write(toFile: file, atomically: true, encoding: .utf8)
            kill(daemon.pid, SIGHUP)
            #expect(try await daemon.waitForLog("configuration reload refused"))
            #expect(daemon.logText.contains("limits.maxDoseMg"))
            #expect(try await dose(140) == 201, "the running configuration stays")
            #expect(try await dose(200) == 422)

            try await Task.sleep(for: .milliseconds(300))
            load.stop.store(true, ordering: .relaxed)
            for submitter in submitters { try await submitter.value }
            #expect(load.answered > 50)
            #expect(load.failures == 0, "\(load.failures) requests were not answered 201 during the reloads")
            #expect(try await daemon.stop() == 0)
        }
    }

    /// A restart-only setting changed by a reload is named in a warning and keeps its running value; a live one
    /// changed beside it is applied and named.
    @Test func aReloadNamesTheRestartOnlySettingsItDidNotApply() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let file = folder + "/vigil.yaml"
            try "http:\n  maxBodyBytes: 262144\nlog:\n  level: info\n".write(
                toFile: file, atomically: true, encoding: .utf8)
            let daemon = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin, arguments: ["--config", file])
            let large = [UInt8](repeating: UInt8(ascii: " "), count: 8192) + Array("{}".utf8)
            #expect(
                try await daemon.client.post("/v1/events", large).status == 400, "within 256 KiB: read, then refused")
            try "http:\n  maxBodyBytes: 2048\nintegrity:\n  verifyIntervalSeconds: 60\nlog:\n  level: debug\n".write(
                toFile: file, atomically: true, encoding: .utf8)
            kill(daemon.pid, SIGHUP)
            #expect(try await daemon.waitForLog("configuration reloaded"))
            #expect(daemon.logText.contains("config.restartNeeded=http.maxBodyBytes, integrity.verifyIntervalSeconds"))
            #expect(daemon.logText.contains("config.applied=log.level"))
            #expect(try await daemon.client.post("/v1/events", large).status == 400, "the running 256 KiB limit stays")
            #expect(try await daemon.stop() == 0)
        }
    }

    /// Before it is ready, vigild asks systemd for more start-up time while it verifies the log, and says so.
    @Test func theStartUpCheckExtendsTheStartTimeoutAndReportsProgress() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            var daemon = try await DaemonProcess.start(folder: folder, adminKey: keys.admin)
            #expect(
                try await daemon.client.post("/v1/events/batch", Fixtures.batch(keys.registrations())).status == 200)
            #expect(try await daemon.stop() == 0)
            let listener = try NotifyListener(folder: folder)
            defer { listener.stop() }
            daemon = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin, arguments: ["--verify-full"],
                extraEnvironment: ["NOTIFY_SOCKET": listener.path])
            let ready = try await listener.wait(for: "READY=1")
            let extended = try #require(try await listener.wait(for: "EXTEND_TIMEOUT_USEC=30000000"))
            #expect(extended.message.contains("STATUS=verifying the log (full): position 0 of 6"))
            #expect(ready.map { extended.time <= $0.time } == true)
            #expect(try await daemon.stop() == 0)
        }
    }

    @Test func theJournalGetsPriorityAndVigilFields() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let envelope = folder + "/unknown.json"
            try Data(Fixtures.envelope(Fixtures.vitals(), by: SigningKey())).write(to: URL(fileURLWithPath: envelope))
            for (index, registration) in keys.registrations().enumerated() {
                try Data(registration).write(to: URL(fileURLWithPath: folder + "/register-\(index).json"))
            }
            try Data(Fixtures.envelope(Fixtures.vitals(systolic: 171, diastolic: 103, heartRate: 80), by: keys.device))
                .write(to: URL(fileURLWithPath: folder + "/high.json"))
            let fever = Fixtures.payload(
                .vitalsRecorded(VitalsRecorded(temperatureC: 40.6)), participant: "P-0001", session: "P-0001-S1")
            try Data(Fixtures.envelope(fever, by: keys.device)).write(to: URL(fileURLWithPath: folder + "/fever.json"))
            let script = """
                set -eu
                mkdir -p "$F/journal" /run/systemd/journal /run/log/journal
                printf '[Journal]\\nStorage=volatile\\nReadKMsg=no\\nForwardToSyslog=no\\nForwardToKMsg=no\\nForwardToConsole=no\\nForwardToWall=no\\n' > "$F/journald.conf"
                mount -t tmpfs tmpfs /run/systemd/journal
                mount --bind "$F/journal" /run/log/journal
                mount --bind "$F/journald.conf" /etc/systemd/journald.conf
                /lib/systemd/systemd-journald >"$F/journald.log" 2>&1 &
                journald=$!
                for i in $(seq 50); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
                printf 'limits:\\n  maxDoseMg: 250\\n' > "$F/vigil.yaml"
                INVOCATION_ID=e2e VIGIL_HTTP_PORT=0 VIGIL_DATABASE_PATH="$F/data/vigil.sqlite" VIGIL_DAEMON_KEYPATH="$F/data/daemon.key" \\
                    VIGIL_TRUST_ADMINKEYS="$ADMIN" \\
                    "$VIGILD" --config "$F/vigil.yaml" >"$F/vigild.out" 2>&1 &
                vigild=$!
                for i in $(seq 100); do
                    port=$(journalctl -D /run/log/journal -o cat --output-fields=VIGIL_HTTP_PORT MESSAGE="vigild listening" 2>/dev/null | head -1)
                    [ -n "$port" ] && break; sleep 0.1
                done
                "$VIGILCTL" submit --url "http://127.0.0.1:$port" "$F/unknown.json" || true
                "$VIGILCTL" submit --url "http://127.0.0.1:$port" --batch "$F"/register-*.json
                "$VIGILCTL" submit --url "http://127.0.0.1:$port" "$F/high.json" "$F/fever.json"
                sleep 1
                printf 'limits:\\n  maxDoseMg: lots\\n' > "$F/vigil.yaml"
                kill -HUP $vigild
                sleep 1
                kill -TERM $vigild; wait $vigild || true
                journalctl -D /run/log/journal -o json SYSLOG_IDENTIFIER=vigild > "$F/entries.json"
                kill $journald
                """
            let unshare = getuid() == 0 ? ["-m", "--propagation", "private"] : ["-Urm", "--propagation", "private"]
            let result = try await run(
                "/usr/bin/unshare", unshare + ["/bin/bash", "-c", script],
                environment: [
                    "F": folder, "VIGILD": Binaries.vigild, "VIGILCTL": Binaries.vigilctl,
                    "ADMIN": Base64.encode(keys.admin.publicKey),
                ]
            )
            #expect(result.status == 0, "\(result.stderr)")
            let lines =
                (try? String(contentsOfFile: folder + "/entries.json", encoding: .utf8))?.split(separator: "\n") ?? []
            let entries = lines.compactMap { line -> [String: String]? in
                guard case .object(let object) = try? JSONParser.parse(Array(line.utf8)) else { return nil }
                var fields: [String: String] = [:]
                for member in object.members {
                    if case .string(let value) = member.value { fields[member.key] = value }
                }
                return fields
            }
            #expect(
                entries.count > 5,
                "journal entries: \(entries.count); vigild said: \((try? String(contentsOfFile: folder + "/vigild.out", encoding: .utf8)) ?? "")"
            )
            let refused = entries.first { $0["MESSAGE"] == "event refused" }
            #expect(refused?["PRIORITY"] == "4")
            #expect(refused?["VIGIL_INGEST_CODE"] == "unknown_key")
            #expect(refused?["VIGIL_EVENT_TYPE"] == "vitals.recorded")
            #expect(refused?["CODE_FILE"]?.hasSuffix("Ingestor.swift") == true)
            #expect(refused?["CODE_FUNC"] != nil && refused?["CODE_LINE"] != nil)
            let reload = entries.first { $0["MESSAGE"]?.hasPrefix("configuration reload refused") == true }
            #expect(reload?["PRIORITY"] == "3")
            #expect(reload?["VIGIL_CONFIG_ERROR"]?.contains("limits.maxDoseMg") == true)
            // Alerts: PRIORITY by severity, and the fields operators filter on.
            let urgent = entries.first { $0["VIGIL_RULE"] == "hypertension" }
            #expect(urgent?["PRIORITY"] == "3")
            #expect(urgent?["VIGIL_SEVERITY"] == "urgent")
            #expect(urgent?["VIGIL_PARTICIPANT"] == "P-0001")
            // The current fields, beside the old ones kept for existing filters.
            #expect(urgent?["VIGIL_ALERT_RULE"] == "hypertension")
            #expect(urgent?["VIGIL_ALERT_SEVERITY"] == "urgent")
            #expect(urgent?["VIGIL_ALERT_PARTICIPANT"] == "P-0001")
            #expect(urgent?["VIGIL_ALERT_ID"].flatMap(EventID.init) != nil)
            #expect(urgent?["MESSAGE"] == "alert raised: hypertension (urgent) for P-0001")
            let critical = entries.first { $0["VIGIL_RULE"] == "temperature" }
            #expect(critical?["PRIORITY"] == "2")
            #expect(critical?["VIGIL_SEVERITY"] == "critical")
            // No payload content in the journal: clinical values never appear in a message or a Vigil field.
            let written = entries.flatMap { entry in
                entry.filter { $0.key == "MESSAGE" || $0.key.hasPrefix("VIGIL_") }.map(\.value)
            }
            let leaked = written.filter {
                $0.contains("systolic") || $0.containsToken("171") || $0.containsToken("40.6")
            }
            #expect(leaked.isEmpty, "\(leaked)")
        }
    }
}

/// Counts what the load during a reload got back.
final class LoadCounter: Sendable {
    let stop = Atomic<Bool>(false)
    private let counts = Mutex<(answered: Int, failures: Int)>((0, 0))

    func record(_ status: Int) {
        counts.withLock {
            $0.answered += 1
            if status != 201 { $0.failures += 1 }
        }
    }

    var answered: Int { counts.withLock { $0.answered } }
    var failures: Int { counts.withLock { $0.failures } }
}

/// A TCP port free on loopback right now.
func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(descriptor, pointer, length) == 0 else { return -1 }
            return getsockname(descriptor, pointer, &length)
        }
    }
    guard bound == 0 else { throw TestFailure("no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Runs vigild with `WATCHDOG_PID` set to its own PID (the shell execs it).
let ownWatchdogPID = ["/bin/sh", "-c", "WATCHDOG_PID=$$ exec \"$@\"", "sh"]
