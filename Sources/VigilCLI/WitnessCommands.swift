import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import VigilModel
import VigilWitness

struct WitnessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness",
        abstract: "Run a transparency-log witness (C2SP tlog-witness) for one or more Vigil logs.",
        subcommands: [WitnessServe.self]
    )
}

struct WitnessServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Cosign the checkpoints of the logs given, each only if it extends the last one cosigned.",
        discussion: """
            A sponsor or a regulator runs this beside (not on) the clinic's machine and gives its verifier key \
            and URL to the clinic (transparency.witnesses). The witness keeps, per log, the size and root it last \
            cosigned in the --state file; a log rolled back or forked is refused (409 or 422) and never cosigned \
            again. Stops on SIGTERM or SIGINT.
            """
    )

    @Option(name: .long, help: "The witness's private key (vigilctl keygen).")
    var key: String

    @Option(name: .long, help: "The witness's name, a schema-less URL such as witness.example.org/w1.")
    var name: String

    @Option(name: .long, help: "A log's checkpoint verifier key (vigilctl pubkey --note-name); repeatable.")
    var logKey: [String]

    @Option(name: .long, help: "The file where the witness keeps what it cosigned (created if missing).")
    var state: String

    @Option(name: .long, help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(name: .long, help: "The port to listen on (0: any free port, printed at start).")
    var port = 0

    func run() async throws {
        try await reportingFailures {
            let signingKey = try Files.signingKey(at: key)
            let logs: [NoteKey]
            do {
                logs = try logKey.map { try NoteKey(verifierKey: $0) }
                _ = try NoteKey(name: name, publicKey: signingKey.verifyingKey, kind: .cosignature)
            } catch {
                throw CLIFailure("\(error)", status: 64)
            }
            guard !logs.isEmpty, logs.allSatisfy({ $0.kind == .ed25519 }) else {
                throw CLIFailure("give at least one --log-key, each a log's key (type 0x01)", status: 64)
            }
            let witness: Witness
            do {
                witness = try Witness(name: name, key: signingKey, trusted: logs, statePath: state)
            } catch {
                throw CLIFailure("\(state): \(error)")
            }
            var logger = Logger(label: "vigil-witness")
            logger.logLevel = .info
            let verifierKey = witness.verifierKey.verifierKey
            let application = Application(
                router: witness.router(logger: logger),
                configuration: .init(address: .hostname(host, port: port), serverName: "vigil-witness"),
                onServerRunning: { channel in
                    let port = channel.localAddress?.port ?? 0
                    // Written straight to the descriptor: whoever started the witness reads the port at once.
                    FileHandle.standardOutput.write(
                        Data("witness \(verifierKey) listening on \(host) port \(port)\n".utf8))
                },
                logger: logger
            )
            try await application.runService()
        }
    }
}
