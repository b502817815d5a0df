import ArgumentParser
import Foundation
import Logging
import VigilConfig
import VigilModel
import VigilPostgres
import VigilStore

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Verify a store file offline, or the log in PostgreSQL: every hash, every signature against the key history, the signed heads.",
        discussion: """
            Exits 0 when everything holds; 1 and the first bad position when something does not; 2 when the file \
            or database cannot be read. By default the admin keys are those recorded in the store; --admin-key or \
            --config verifies against keys you trust instead. A postgres:// URL is read in one repeatable-read \
            snapshot, beside a running vigild; a role with SELECT is enough.
            """
    )

    @Option(name: .long, help: "The SQLite store file, or the postgres://USER@HOST/DATABASE that holds the log.")
    var database: String

    @Option(name: .long, help: "A file holding the database password (for a postgres:// URL).")
    var passwordFile: String?

    @Option(name: .long, help: "An admin public key to trust (standard base64; repeat for several).")
    var adminKey: [String] = []

    @Option(name: .long, help: "Take the admin keys from this configuration file (trust.adminKeys).")
    var config: String?

    @Flag(name: .long, help: "Check positions and hashes only, not signatures.")
    var hashesOnly = false

    @Flag(name: .long, help: "Start at the last head the daemon signed (quick): only entries after it are rehashed.")
    var fromLastHead = false

    func run() async throws {
        try await reportingFailures {
            var anchors: [TrustAnchor]? = nil
            if let config {
                do {
                    anchors = try await ConfigurationLoader.load(
                        file: config, environment: ProcessInfo.processInfo.environment
                    ).adminAnchors
                } catch {
                    throw CLIFailure("configuration error: \(error)", status: 78)
                }
            }
            if !adminKey.isEmpty {
                anchors =
                    (anchors ?? [])
                    + (try adminKey.map { text in
                        guard let key = Base64.decode(text), key.count == 32 else {
                            throw CLIFailure(
                                "--admin-key must be the standard base64 of a raw 32-byte Ed25519 public key",
                                status: 64)
                        }
                        return TrustAnchor(
                            publicKey: key, role: .admin, name: "admin key \(KeyID(publicKey: key).short)")
                    })
            }
            let started = ContinuousClock.now
            let report: VerificationReport
            let options = LogVerifier.Options(
                checkSignatures: !hashesOnly, anchors: anchors, fromLastSignedHead: fromLastHead)
            do {
                report =
                    PostgresLocation.isURL(database)
                    ? try await Self.verify(database, passwordFile: passwordFile, options: options)
                    : try LogVerifier.verify(path: database, options: options)
            } catch {
                throw CLIFailure("\(error)", status: 2)
            }
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            let rate = seconds > 0 ? Int(Double(report.entriesChecked) / seconds) : 0
            if let failure = report.failure {
                print("FAILED at position \(failure.position): \(failure.reason)")
                print(
                    "entries before it hold: \(report.entriesChecked) checked, chain head \(Hex.encode(report.head.chainHash))"
                )
                throw ExitCode(1)
            }
            print(
                "OK: \(report.entriesChecked) entries, \(report.signaturesChecked) signatures, \(report.signedHeadsChecked) signed heads, \(report.checkpointsChecked) checkpoints verified"
            )
            print("head: size \(report.head.size), chainHash \(Hex.encode(report.head.chainHash))")
            print(
                String(
                    format: "time: %.3f s (%d entries/s)%@", seconds, rate,
                    anchors == nil ? "; admin keys as recorded in the store" : ""))
        }
    }

    /// Verifies the log in the PostgreSQL database `url` names, in one snapshot; creates nothing there.
    static func verify(
        _ url: String, passwordFile: String?, options: LogVerifier.Options
    ) async throws -> VerificationReport {
        let log = try await PostgresLog.open(
            try PostgresLocation(url: url, passwordFile: passwordFile), migrating: false,
            logger: Logger(label: "vigilctl"))
        let result = await log.verify(options)
        await log.close()
        return try result.get()
    }
}
