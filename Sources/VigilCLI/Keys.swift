import ArgumentParser
import Foundation
import VigilModel

struct Keygen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Create an Ed25519 key pair; write the private key (PEM, mode 0600) and print its key id and public key."
    )

    @Option(name: .long, help: "Where to write the private key. An existing file is never overwritten.")
    var out: String

    func run() async throws {
        try await reportingFailures {
            let key = SigningKey()
            try Files.createPrivate(out, Array(KeyFile.pem(privateKey: key).utf8))
            print("keyid: \(key.id.hex)")
            print("publicKey: \(Base64.encode(key.publicKey))")
        }
    }
}

struct PublicKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pubkey",
        abstract: "Print a key's public key (standard base64 of the raw 32 bytes), or its key id."
    )

    @Option(name: .long, help: "A private key file written by keygen (or by `openssl genpkey -algorithm ed25519`).")
    var key: String

    @Flag(name: .long, help: "Print the key id (SHA-256 of the public key) instead.")
    var keyid = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Print the signed-note verifier key under this name instead: for the daemon's key, the log's origin "
                + "(transparency.origin), as verify-bundle and tlog tools take it.", valueName: "name"))
    var noteName: String?

    @Flag(name: .long, help: "With --note-name: a witness's cosigning key (signature type 0x04) instead of a log's.")
    var cosigner = false

    func run() async throws {
        try await reportingFailures {
            let signingKey = try Files.signingKey(at: key)
            if let noteName {
                do {
                    let kind: NoteKey.Kind = cosigner ? .cosignature : .ed25519
                    print(try NoteKey(name: noteName, publicKey: signingKey.verifyingKey, kind: kind).verifierKey)
                } catch {
                    throw CLIFailure("--note-name: \(error)", status: 64)
                }
                return
            }
            print(keyid ? signingKey.id.hex : Base64.encode(signingKey.publicKey))
        }
    }
}
