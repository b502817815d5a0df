package import ArgumentParser
import Foundation
import VigilBuild
import VigilModel

/// `vigilctl`: keys, events, signatures, submission, reads and offline verification.
package struct VigilCtl: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "vigilctl",
        abstract:
            "Operate Vigil: make keys, record pharmacy work and officers' decisions, read alerts and views, verify a store offline.",
        version: VigilBuild.versionLine("vigilctl"),
        subcommands: [
            Keygen.self, PublicKey.self, NewEvent.self, Sign.self, Countersign.self, Submit.self,
            Receive.self, Dispense.self, Waste.self, Count.self, Destroy.self, Loss.self, LossFiled.self,
            Today.self, Alerts.self, Acknowledge.self, Resolve.self, Follow.self,
            Events.self, Head.self, Health.self, Verify.self, Participant.self, Session.self, Inventory.self,
            AdverseEvents.self,
            Rebuild.self, Export.self, Backup.self, Restore.self, MigrateStore.self, MigrateSchema.self, Prove.self,
            VerifyBundle.self,
            WitnessCommand.self,
            Demo.self,
        ]
    )

    package init() {}
}

/// Where the daemon listens and how to authenticate reads.
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: "The daemon's base URL (default: $VIGIL_URL or http://127.0.0.1:8470).")
    var url: String?

    @Option(name: .long, help: "Connect through the daemon's Unix socket instead (default: $VIGIL_SOCKET).")
    var socket: String?

    @Option(name: .long, help: "A reader token (default: $VIGIL_TOKEN).")
    var token: String?

    var baseURL: String {
        let environment = ProcessInfo.processInfo.environment
        if let path = socket ?? environment["VIGIL_SOCKET"], !path.isEmpty {
            // AsyncHTTPClient's form: the socket path, percent-encoded, as the host of an http+unix URL.
            let host = path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? path
            return "http+unix://" + host
        }
        let value = url ?? environment["VIGIL_URL"] ?? "http://127.0.0.1:8470"
        return value.hasSuffix("/") ? String(value.dropLast()) : value
    }

    var bearer: String? { token ?? ProcessInfo.processInfo.environment["VIGIL_TOKEN"] }
}

/// A failure to report on stderr with a given exit status.
struct CLIFailure: Error, CustomStringConvertible {
    var message: String
    var status: Int32

    init(_ message: String, status: Int32 = 2) {
        self.message = message
        self.status = status
    }

    var description: String { message }
}

extension AsyncParsableCommand {
    /// Runs `body`, turning a ``CLIFailure`` into a message on stderr and its exit status.
    func reportingFailures(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let failure as CLIFailure {
            FileHandle.standardError.write(Data("vigilctl: \(failure.message)\n".utf8))
            throw ExitCode(failure.status)
        }
    }
}

enum Files {
    /// The bytes of a file, or of stdin for "-".
    static func read(_ path: String) throws -> [UInt8] {
        if path == "-" {
            return Array(FileHandle.standardInput.readDataToEndOfFile())
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIFailure("cannot read \(path)")
        }
        return Array(data)
    }

    /// Creates a file only its owner may read (mode 0600) with `bytes`, synced to disk. An existing file is never
    /// overwritten: a private key or a token must not silently replace another.
    static func createPrivate(_ path: String, _ bytes: [UInt8]) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CLIFailure("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, synced == 0 else { throw CLIFailure("cannot write \(path)") }
    }

    static func signingKey(at path: String) throws -> SigningKey {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw CLIFailure("cannot read the key file \(path)")
        }
        do {
            return try KeyFile.signingKey(pem: text)
        } catch {
            throw CLIFailure("\(path): \(error)")
        }
    }

    static func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) })
        else {
            return []
        }
        return Array(bytes[first...last])
    }
}
