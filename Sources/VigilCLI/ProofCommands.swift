import ArgumentParser
import Foundation
import VigilModel
import VigilStore

struct Prove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the offline proof bundle of one event: its entry, its signers' registrations, their "
            + "inclusion proofs and the checkpoint they lead to.",
        discussion: """
            Needs an auditor's or officer's token: the bundle holds the event itself. Check it anywhere, with no \
            database, by `vigilctl verify-bundle`.
            """
    )

    @OptionGroup var server: ServerOptions

    @Option(name: .long, help: "The event's id.")
    var event: String

    @Option(name: .shortAndLong, help: "Where to write the bundle (default: vigil-proof-<id>.json; - for stdout).")
    var out: String?

    func run() async throws {
        try await reportingFailures {
            guard let id = EventID(event) else { throw CLIFailure("--event must be an event id (a UUID)", status: 64) }
            let (status, body) = try await DaemonClient.send(
                "GET", server.baseURL + "/v1/proofs/bundle?event=\(id)", token: server.bearer)
            guard status == 200 else {
                throw CLIFailure(DaemonClient.describeError(status: status, body: body), status: 1)
            }
            let path = out ?? "vigil-proof-\(id).json"
            if path == "-" {
                FileHandle.standardOutput.write(Data(body))
            } else {
                guard FileManager.default.createFile(atPath: path, contents: Data(body)) else {
                    throw CLIFailure("cannot write \(path)")
                }
                print("wrote \(path)")
            }
        }
    }
}

struct VerifyBundle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-bundle",
        abstract: "Check a proof bundle offline: the checkpoint's and witnesses' signatures, each inclusion "
            + "proof, the signers' registrations and the event's signatures.",
        discussion: """
            Keys are verifier keys, <name>+<key id>+<base64 key>: the log's from `vigilctl pubkey --key \
            daemon.key --note-name ORIGIN`, a witness's from its operator. Exits 0 when everything holds, 1 \
            naming the first thing that does not.
            """
    )

    @Argument(help: "The bundle file (- for stdin).")
    var bundle: String

    @Option(name: .long, help: "The log's checkpoint verifier key.")
    var logKey: String

    @Option(name: .long, help: "A witness's cosignature verifier key whose cosignature must be present (repeatable).")
    var witnessKey: [String] = []

    func run() async throws {
        try await reportingFailures {
            let logKey: NoteKey
            let witnesses: [NoteKey]
            do {
                logKey = try NoteKey(verifierKey: self.logKey)
                witnesses = try witnessKey.map { try NoteKey(verifierKey: $0) }
            } catch {
                throw CLIFailure("\(error)", status: 64)
            }
            guard logKey.kind == .ed25519, witnesses.allSatisfy({ $0.kind == .cosignature }) else {
                throw CLIFailure(
                    "--log-key takes a log's key (type 0x01), --witness-key a witness's cosigning key (type 0x04)",
                    status: 64)
            }
            let proved: ProofBundle.Proved
            do {
                proved = try ProofBundle(json: try Files.read(bundle)).verify(logKey: logKey, witnessKeys: witnesses)
            } catch let error as BundleError {
                print("FAILED: \(error)")
                throw ExitCode(1)
            }
            print(
                "OK: event \(proved.eventID) (\(proved.eventType)) is at position \(proved.position) of \(proved.checkpoint.origin)"
            )
            print(
                "checkpoint: size \(proved.checkpoint.size), root \(Base64.encode(proved.checkpoint.rootHash)), signed by the log's key"
            )
            print("signed by: \(proved.signers.joined(separator: ", "))")
            if !proved.witnesses.isEmpty { print("cosigned by: \(proved.witnesses.joined(separator: ", "))") }
        }
    }
}
