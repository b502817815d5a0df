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

/// Runs a command to completion.
func run(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: [UInt8]? = nil
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

/// vigild as a child process, configured through VIGIL_* variables, listening on a free port.
final class DaemonProcess: Sendable {
    let process: Process
    let port: Int
    private let log: LogBuffer

    var logText: String { log.text.withLock { $0 } }

    init(folder: String, adminKey: SigningKey, extraEnvironment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Binaries.vigild)
        process.arguments = []
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VIGIL_") }
        environment["VIGIL_DATABASE_PATH"] = folder + "/data/vigil.sqlite"
        environment["VIGIL_DAEMON_KEYPATH"] = folder + "/data/daemon.key"
        environment["VIGIL_HTTP_PORT"] = "0"
        environment["VIGIL_TRUST_ADMINKEYS"] = Base64.encode(adminKey.publicKey)
        environment["VIGIL_AUTH_TOKENS"] = Hex.encode(sha256("e2e-auditor")) + ":auditor"
        environment.merge(extraEnvironment) { $1 }
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let log = LogBuffer()
        errors.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { log.text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try process.run()
        self.process = process
        self.log = log
        // Wait for the listening line, which names the bound port.
        let deadline = Date().addingTimeInterval(30)
        var found: Int?
        while found == nil, Date() < deadline, process.isRunning {
            Thread.sleep(forTimeInterval: 0.05)
            found = log.text.withLock { text in
                guard let range = text.range(of: "http.port=") else { return nil }
                return Int(text[range.upperBound...].prefix { $0.isNumber })
            }
        }
        guard let found else {
            process.terminate()
            throw TestFailure("vigild did not start: \(log.text.withLock { $0 })")
        }
        self.port = found
    }

    var client: TestHTTPClient { TestHTTPClient(baseURL: "http://127.0.0.1:\(port)") }

    /// Sends a signal and waits for the process to exit; returns its exit status.
    func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 30) throws -> Int32 {
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
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
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func sha256(_ text: String) -> [UInt8] {
    KeyID(publicKey: Array(text.utf8)).bytes
}
