import Foundation
import Synchronization
import Testing
import VigilModel
import VigilTestSupport

/// The built `vigild` and `vigilctl`, next to the test bundle.
enum Binaries {
    static var directory: String {
        if let override = ProcessInfo.processInfo.environment["VIGIL_BIN_DIR"] { return override }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    }

    static var vigild: String { directory + "/vigild" }
    static var vigilctl: String { directory + "/vigilctl" }
}

/// A finished command: its exit status and output.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a command to completion, on a thread of its own so that no task thread blocks while it runs.
func run(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: [UInt8]? = nil
) async throws -> CommandResult {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(
                with: Result { try runBlocking(executable, arguments, environment: environment, stdin: stdin) })
        }
    }
}

private func runBlocking(
    _ executable: String, _ arguments: [String], environment: [String: String], stdin: [UInt8]?
) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin)) }
    try input.fileHandleForWriting.close()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(
        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
        stderr: String(decoding: stderr, as: UTF8.self)
    )
}

/// vigild as a child process, configured through VIGIL_* variables.
final class DaemonProcess: Sendable {
    let process: Process
    let port: Int
    private let log: LogBuffer

    var logText: String { log.text.withLock { $0 } }
    var pid: Int32 { process.processIdentifier }

    /// Starts vigild and waits until it logs that it listens.
    ///
    /// - Parameters:
    ///   - launcher: a program (and its arguments) that runs vigild, such as `systemd-socket-activate -l ...`;
    ///     vigild's path and `arguments` are appended.
    ///   - port: the port when the launcher decides it; otherwise vigild takes a free one and logs it.
    static func start(
        folder: String, adminKey: SigningKey, arguments: [String] = [], extraEnvironment: [String: String] = [:],
        launcher: [String] = [], port knownPort: Int? = nil
    ) async throws -> DaemonProcess {
        let (process, log) = try launch(
            folder: folder, adminKey: adminKey, arguments: arguments, extraEnvironment: extraEnvironment,
            launcher: launcher
        )
        if let knownPort { return DaemonProcess(process: process, port: knownPort, log: log) }
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, process.isRunning {
            try await Task.sleep(for: .milliseconds(50))
            let found = log.text.withLock { text -> Int? in
                guard let range = text.range(of: "http.port=") else { return nil }
                return Int(text[range.upperBound...].prefix { $0.isNumber })
            }
            if let found { return DaemonProcess(process: process, port: found, log: log) }
        }
        process.terminate()
        throw TestFailure("vigild did not start: \(log.text.withLock { $0 })")
    }

    private init(process: Process, port: Int, log: LogBuffer) {
        self.process = process
        self.port = port
        self.log = log
    }

    /// A test that fails before stopping its daemon must not leave it running.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    private static func launch(
        folder: String, adminKey: SigningKey, arguments: [String], extraEnvironment: [String: String],
        launcher: [String]
    ) throws -> (Process, LogBuffer) {
        let process = Process()
        let command = launcher + [Binaries.vigild] + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.environment = environment(folder: folder, adminKey: adminKey).merging(extraEnvironment) { $1 }
        let log = LogBuffer(capturing: process)
        try process.run()
        return (process, log)
    }

    /// The environment vigild runs with: its files in `folder`/data, any free port, `adminKey` as the root of
    /// trust and the tests' reader tokens; nothing of the caller's own VIGIL_* or systemd variables.
    static func environment(folder: String, adminKey: SigningKey) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("VIGIL_")
                && !["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "INVOCATION_ID", "JOURNAL_STREAM"].contains(
                    $0.key)
        }
        environment["VIGIL_DATABASE_PATH"] = folder + "/data/vigil.sqlite"
        environment["VIGIL_DAEMON_KEYPATH"] = folder + "/data/daemon.key"
        environment["VIGIL_HTTP_PORT"] = "0"
        environment["VIGIL_TRUST_ADMINKEYS"] = Base64.encode(adminKey.publicKey)
        environment["VIGIL_AUTH_TOKENS"] =
            Hex.encode(sha256("e2e-auditor")) + ":auditor," + Hex.encode(sha256("e2e-officer")) + ":officer,"
            + Hex.encode(sha256("e2e-pharmacy")) + ":pharmacy"
        return environment
    }

    var client: TestHTTPClient { TestHTTPClient(baseURL: "http://127.0.0.1:\(port)") }

    /// Waits until the log contains `text`; false on timeout.
    func waitForLog(_ text: String, timeout: Double = 15) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while ContinuousClock.now < deadline {
            if logText.contains(text) { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Sends a signal and waits for the process to exit; returns its exit status.
    func stop(signal: Int32 = SIGTERM, timeout: Double = 30) async throws -> Int32 {
        kill(process.processIdentifier, signal)
        let deadline = ContinuousClock.now + .seconds(timeout)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        guard !process.isRunning else {
            process.terminate()
            throw TestFailure("vigild did not exit within \(timeout) s")
        }
        return process.terminationStatus
    }
}

/// Text shared between a pipe's reader and the test.
final class LogBuffer: Sendable {
    let text = Mutex("")

    /// Collects what `process` writes to stdout and stderr (set up before it runs).
    init(capturing process: Process) {
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { self.text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
    }
}

/// The value of an unlabelled series in a Prometheus scrape, if the scrape has it.
func sample(_ series: String, in scrape: String) -> Double? {
    scrape.split(separator: "\n").first { $0.hasPrefix(series + " ") }
        .flatMap { Double($0.split(separator: " ").last ?? "") }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func sha256(_ text: String) -> [UInt8] {
    KeyID(publicKey: Array(text.utf8)).bytes
}
