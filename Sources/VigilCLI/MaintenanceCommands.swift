import ArgumentParser
import Foundation
import VigilAlerts
import VigilConfig
import VigilExports
import VigilModel
import VigilProjections
import VigilStore

struct Rebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild the read models from the log, or check them against it (--check).",
        discussion: """
            Both replay the log into a scratch file beside the read models and compare the two, projection by \
            projection, at the position the read models had reached; a difference is named by table and key. \
            A rebuild then replays the rest of the log and puts the new file in place of the old one: run it \
            with the daemon stopped (or start the daemon with --rebuild instead). The safety rules run for the \
            events the old read models had not judged yet, with the thresholds of --config; the alerts they \
            decide are appended by the daemon when it starts. A check changes nothing and may run while the \
            daemon runs. Exits 0 when everything matched (or there was nothing to compare), 1 on a difference, \
            2 on an error.
            """
    )

    @Option(help: "The SQLite store file.")
    var database: String

    @Option(help: "The read models' file (default: beside the store, vigil.projections.sqlite).")
    var projections: String?

    @Option(help: "The daemon's configuration file, for the rule thresholds (default: the embedded defaults).")
    var config: String?

    @Flag(help: "Only check the read models against the log; change nothing.")
    var check = false

    func run() async throws {
        try await reportingFailures {
            let path = projections ?? ProjectionDatabase.defaultPath(forStore: database)
            let report: ProjectionRebuild.Report
            do {
                if check {
                    guard FileManager.default.fileExists(atPath: path) else {
                        throw CLIFailure("no read models at \(path)", status: 2)
                    }
                    report = try await ProjectionRebuild.check(storePath: database, projectionsPath: path)
                } else {
                    let settings = try await ConfigurationLoader.load(
                        file: config, environment: ProcessInfo.processInfo.environment
                    ).rules
                    let reader = try LogReader(path: database)
                    defer { reader.close() }
                    let rules = AlertDecider(
                        settings: Reloadable(settings), logHolds: { try reader.contains(eventID: $0) })
                    report = try await ProjectionRebuild.run(
                        storePath: database, projectionsPath: path, settings: settings, reactor: rules)
                }
            } catch let failure as CLIFailure {
                throw failure
            } catch {
                throw CLIFailure("\(error)", status: 2)
            }
            print(
                String(
                    format: "replayed %lld events in %.2f s (%.0f events/s)%@", report.position, report.seconds,
                    report.eventsPerSecond, check ? "" : " into \(path)"))
            if !report.undecodable.isEmpty {
                print(
                    "positions that do not decode (run vigilctl verify): \(report.undecodable.map(String.init).joined(separator: ", "))"
                )
            }
            guard let previous = report.previousPosition else {
                print("no earlier read models to compare with")
                return
            }
            if report.mismatched.isEmpty {
                print(
                    "at position \(previous) every projection matches a replay of the log: the read models are the log's"
                )
            } else {
                print(
                    "MISMATCH at position \(previous): \(report.mismatched.map(\.rawValue).joined(separator: ", ")) differ"
                )
                for difference in report.differences { print("  \(difference)") }
                throw ExitCode(1)
            }
        }
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export records for inspectors, regulators and partners.",
        subcommands: [Ledger.self, FHIR.self, DEA.self, Store.self])

    struct DEA: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dea",
            abstract:
                "The DEA record set (21 CFR 1304) as CSV files: receipts, dispensing, disposals, Form 41, inventories, summary.",
            discussion: """
                One lot's records (--lot), or every lot's in a period (--from, --to: dates or RFC 3339 times, both \
                included), read from a store file (a copy, or the live one). Each row carries its log position.
                """
        )

        @Option(help: "The lot.") var lot: String?
        @Option(help: "The first date (YYYY-MM-DD) or time (RFC 3339), included.") var from: String?
        @Option(help: "The last date (YYYY-MM-DD) or time (RFC 3339), included.") var to: String?
        @Option(help: "The store file.") var database: String
        @Option(help: "The folder to write the CSV files in (created if missing).") var out: String

        @Option(
            name: .customLong("time-zone"),
            help: "The clinic's IANA time zone: a count before noon there is at the opening of business.")
        var timeZone = "UTC"

        @Option(help: "The registrant's name and DEA registration number, printed on the inspection pack.")
        var registrant: String?

        @Flag(help: "Also print the inspection pack to inspection-pack.pdf, with headless chromium.")
        var pdf = false

        @Option(help: "The chromium program that prints the PDF.")
        var chromium = "chromium"

        func validate() throws {
            guard (lot != nil) != (from != nil || to != nil), lot != nil || (from != nil && to != nil) else {
                throw ValidationError("give --lot, or --from and --to")
            }
            guard CivilZone(identifier: timeZone) != nil else {
                throw ValidationError("--time-zone must be an IANA time-zone name, such as Europe/Oslo")
            }
        }

        /// Prints the page to PDF with headless chromium (without its sandbox when run as root, which it refuses).
        func printPDF(_ page: String, to pdf: String) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments =
                [chromium, "--headless", "--disable-gpu", "--no-pdf-header-footer", "--print-to-pdf=\(pdf)"]
                + (getuid() == 0 ? ["--no-sandbox"] : []) + [URL(fileURLWithPath: page).absoluteString]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            do {
                try process.run()
            } catch {
                throw CLIFailure("cannot run \(chromium) to print the PDF: \(error.localizedDescription)")
            }
            process.waitUntilExit()
            guard process.terminationStatus == 0, FileManager.default.fileExists(atPath: pdf) else {
                throw CLIFailure("\(chromium) could not print \(page) (exit \(process.terminationStatus))")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let selection: DEARecords.Selection
                if let lot {
                    selection = .lot(lot)
                } else if let range = Timestamp.range(from: from, to: to) {
                    selection = .period(from: range.lowerBound, to: range.upperBound)
                } else {
                    throw CLIFailure("--from and --to must be dates or RFC 3339 times, from not after to", status: 64)
                }
                do {
                    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                    var handles: [String: FileHandle] = [:]
                    for file in DEARecords.files {
                        let path = out + "/" + file.name
                        guard FileManager.default.createFile(atPath: path, contents: nil),
                            let handle = FileHandle(forWritingAtPath: path)
                        else { throw CLIFailure("cannot write \(path)") }
                        handles[file.name] = handle
                    }
                    defer { for handle in handles.values { try? handle.close() } }
                    let reader = try LogReader(path: database)
                    defer { reader.close() }
                    var pack = InspectionPack(
                        scope: lot.map { "lot \($0)" } ?? "\(from ?? "") to \(to ?? "")", registrant: registrant,
                        generatedAt: SystemWallClock().now(), logSize: try reader.size())
                    try await DEARecords.run(
                        selection, zone: CivilZone(identifier: timeZone) ?? .utc, anchors: try reader.anchorHistory(),
                        fetch: { try reader.entries(after: $0, limit: $1) }
                    ) { file, fields in
                        handles[file]?.write(Data(DEARecords.line(fields).utf8))
                        pack.add(file, fields)
                    }
                    let page = out + "/inspection-pack.html"
                    guard FileManager.default.createFile(atPath: page, contents: Data(pack.html.utf8)) else {
                        throw CLIFailure("cannot write \(page)")
                    }
                    var written = DEARecords.files.map(\.name) + ["inspection-pack.html"]
                    if pdf {
                        try printPDF(page, to: out + "/inspection-pack.pdf")
                        written.append("inspection-pack.pdf")
                    }
                    print("wrote \(written.joined(separator: ", ")) in \(out)")
                } catch let failure as CLIFailure {
                    throw failure
                } catch {
                    throw CLIFailure("\(error)", status: 2)
                }
            }
        }
    }

    struct FHIR: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fhir",
            abstract:
                "Clinical records as FHIR R4 (a Bundle, or NDJSON), each resource with a Provenance tied to the signed log.",
            discussion: """
                One participant's records (--participant), or every participant's in a period (--from, --to: dates or \
                RFC 3339 times, both included). From the daemon (officer token), or offline from a store file with \
                --database. docs/exports.md lists the resources, codes and units.
                """
        )

        @OptionGroup var server: ServerOptions

        @Option(help: "The participant's code.") var participant: String?
        @Option(help: "The first date (YYYY-MM-DD) or time (RFC 3339), included.") var from: String?
        @Option(help: "The last date (YYYY-MM-DD) or time (RFC 3339), included.") var to: String?

        @Flag(help: "One resource per line (FHIR bulk data), with relative references, instead of a Bundle.")
        var ndjson = false

        @Option(help: "Read this store file instead of asking the daemon.") var database: String?
        @Option(help: "Write the export here instead of standard output.") var out: String?

        func validate() throws {
            guard (participant != nil) != (from != nil || to != nil), participant != nil || (from != nil && to != nil)
            else {
                throw ValidationError("give --participant, or --from and --to")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let output: FileHandle
                if let out {
                    guard FileManager.default.createFile(atPath: out, contents: nil),
                        let handle = FileHandle(forWritingAtPath: out)
                    else { throw CLIFailure("cannot write \(out)") }
                    output = handle
                } else {
                    output = FileHandle.standardOutput
                }
                defer { if out != nil { try? output.close() } }
                if let database {
                    let selection: FHIRExport.Selection
                    if let participant {
                        selection = .participant(participant)
                    } else if let range = Timestamp.range(from: from, to: to) {
                        selection = .period(from: range.lowerBound, to: range.upperBound)
                    } else {
                        throw CLIFailure(
                            "--from and --to must be dates or RFC 3339 times, from not after to", status: 64)
                    }
                    do {
                        let reader = try LogReader(path: database)
                        defer { reader.close() }
                        var export = FHIRExport(
                            selection: selection, format: ndjson ? .ndjson : .bundle,
                            anchors: try reader.anchorHistory(),
                            checkpoint: try reader.latestCheckpoint()?.checkpoint,
                            generatedAt: SystemWallClock().now())
                        try await FHIRExport.run(&export, fetch: { try reader.entries(after: $0, limit: $1) }) {
                            output.write(Data($0.utf8))
                        }
                    } catch let failure as CLIFailure {
                        throw failure
                    } catch {
                        throw CLIFailure("\(error)", status: 2)
                    }
                    return
                }
                var query = participant.map { ["participant=\($0)"] } ?? ["from=\(from ?? "")", "to=\(to ?? "")"]
                if ndjson { query.append("format=ndjson") }
                let encoded = query.map { $0.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? $0 }
                let (status, body) = try await DaemonClient.send(
                    "GET", server.baseURL + "/v1/exports/fhir?" + encoded.joined(separator: "&"), token: server.bearer)
                guard status == 200 else {
                    throw CLIFailure(DaemonClient.describeError(status: status, body: body), status: 1)
                }
                output.write(Data(body))
            }
        }
    }

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
