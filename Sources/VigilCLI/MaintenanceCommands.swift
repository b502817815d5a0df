import ArgumentParser
import Foundation
import VigilModel
import VigilProjections
import VigilStore

struct Rebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drop the read models and replay the log into them; prove whether they came out the same.",
        discussion: """
            Run it with the daemon stopped. At the position of the old checkpoint, each projection's digest is \
            compared with the one stored there: equal means the rebuild reproduced exactly what was there. \
            Exits 0 when everything matched (or there was nothing to compare), 1 on a mismatch.
            """
    )

    @Option(help: "The SQLite store file.")
    var database: String

    @Option(help: "The read models' file (default: beside the store, vigil.projections.sqlite).")
    var projections: String?

    func run() async throws {
        try await reportingFailures {
            let path = projections ?? ProjectionDatabase.defaultPath(forStore: database)
            let report: ProjectionRebuild.Report
            do {
                report = try await ProjectionRebuild.run(storePath: database, projectionsPath: path)
            } catch {
                throw CLIFailure("\(error)", status: 2)
            }
            print(
                String(
                    format: "replayed %lld events in %.2f s (%.0f events/s) into %@", report.eventsReplayed,
                    report.seconds, report.eventsPerSecond, path))
            if !report.undecodable.isEmpty {
                print(
                    "positions that do not decode (run vigilctl verify): \(report.undecodable.map(String.init).joined(separator: ", "))"
                )
            }
            guard let previous = report.previousPosition else {
                print("no earlier checkpoint to compare with")
                return
            }
            if report.mismatched.isEmpty {
                print(
                    "at position \(previous) every projection's digest matches the one stored there: the rebuild reproduced the same state"
                )
            } else {
                print(
                    "MISMATCH at position \(previous): \(report.mismatched.map(\.rawValue).joined(separator: ", ")) differ from the stored digests"
                )
                throw ExitCode(1)
            }
        }
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export records for inspectors.", subcommands: [Ledger.self])

    struct Ledger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The controlled-substance ledger as CSV: every receipt, dispense, waste, destruction and count.",
            discussion: "From the daemon (auditor or officer token), or offline from a store file with --database."
        )

        @OptionGroup var server: ServerOptions

        @Option(help: "The first date (YYYY-MM-DD), included.")
        var from: String

        @Option(help: "The last date (YYYY-MM-DD), included.")
        var to: String

        @Option(help: "Read this store file instead of asking the daemon.")
        var database: String?

        @Option(help: "Write the CSV here instead of standard output.")
        var out: String?

        func run() async throws {
            try await reportingFailures {
                guard let first = CalendarDate(iso8601: from), let last = CalendarDate(iso8601: to), first <= last
                else {
                    throw CLIFailure("--from and --to must be dates (YYYY-MM-DD), from not after to", status: 64)
                }
                let csv: String
                if let database {
                    do {
                        let reader = try LogReader(path: database)
                        defer { reader.close() }
                        csv = try await LedgerExport.csv(from: first, to: last, anchors: try reader.anchorHistory()) {
                            after in
                            try reader.entries(after: after, limit: 8192)
                        }
                    } catch let failure as CLIFailure {
                        throw failure
                    } catch {
                        throw CLIFailure("\(error)", status: 2)
                    }
                } else {
                    let (status, body) = try await DaemonClient.send(
                        "GET", server.baseURL + "/v1/exports/ledger?from=\(first.iso8601)&to=\(last.iso8601)",
                        token: server.bearer
                    )
                    guard status == 200 else {
                        throw CLIFailure(DaemonClient.describeError(status: status, body: body), status: 1)
                    }
                    csv = String(decoding: body, as: UTF8.self)
                }
                if let out {
                    guard FileManager.default.createFile(atPath: out, contents: Data(csv.utf8)) else {
                        throw CLIFailure("cannot write \(out)")
                    }
                } else {
                    print(csv, terminator: "")
                }
            }
        }
    }
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a store with SQLite's online backup (safe while vigild runs), then verify the copy.",
        discussion:
            "Exits 0 when the copy verifies, 1 when it does not (the copy is kept for inspection), 2 on an error."
    )

    @Option(help: "The SQLite store file.")
    var database: String

    @Option(help: "Where to write the copy (mode 0600). An existing file is never overwritten.")
    var out: String

    func run() async throws {
        try await reportingFailures {
            let report: VerificationReport
            do {
                report = try StoreBackup.run(from: database, to: out)
            } catch {
                throw CLIFailure("\(error)", status: 2)
            }
            if let failure = report.failure {
                print(
                    "backup written to \(out), but it FAILED verification at position \(failure.position): \(failure.reason)"
                )
                throw ExitCode(1)
            }
            print(
                "backup written to \(out): \(report.entriesChecked) entries, chainHash \(Hex.encode(report.head.chainHash)); verified"
            )
        }
    }
}
