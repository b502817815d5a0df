import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VigilModel

/// A minimal HTTP client for the daemon's API, over TCP or the daemon's Unix socket (`http+unix://`).
enum DaemonClient {
    /// The largest answer read (a ledger export of many years stays far below).
    static let maxResponseBytes = 1 << 30

    static func send(
        _ method: String, _ url: String, body: [UInt8]? = nil, token: String? = nil
    ) async throws -> (status: Int, body: [UInt8]) {
        guard URL(string: url) != nil else { throw CLIFailure("not a URL: \(url)", status: 64) }
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        if let body {
            request.body = .bytes(body)
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            let bytes = try await response.body.collect(upTo: maxResponseBytes)
            return (Int(response.status.code), Array(buffer: bytes))
        } catch {
            throw CLIFailure("cannot reach the daemon at \(url): \(error)", status: 69)
        }
    }

    /// Sends envelopes in one `POST /v1/events/batch`; returns the daemon's result for each, in order: `{"status",
    /// "position", "duplicate", ...}` when stored or already stored, `{"status", "error"}` when refused.
    static func submitBatch(_ envelopes: [[UInt8]], baseURL: String) async throws -> [JSONValue] {
        var body: [UInt8] = [UInt8(ascii: "[")]
        for (index, envelope) in envelopes.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: envelope)
        }
        body.append(UInt8(ascii: "]"))
        let (status, response) = try await send("POST", baseURL + "/v1/events/batch", body: body)
        guard status == 200, case .object(let root)? = try? JSONParser.parse(response),
            case .array(let results)? = root["results"], results.count == envelopes.count
        else {
            throw CLIFailure("batch refused: \(describeError(status: status, body: response))", status: 1)
        }
        return results
    }

    /// The `error.code: error.message` of an error body, or the raw status.
    static func describeError(status: Int, body: [UInt8]) -> String {
        if case .object(let root)? = try? JSONParser.parse(body), case .object(let error)? = root["error"],
            case .string(let code)? = error["code"], case .string(let message)? = error["message"]
        {
            return "\(code): \(message)"
        }
        return "HTTP \(status)"
    }
}

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send signed envelopes to the daemon and print each result.",
        discussion: "Exits 0 when every envelope was stored (or was already stored), 1 when any was refused."
    )

    @OptionGroup var server: ServerOptions

    @Flag(name: .long, help: "Send all envelopes in one batch request.")
    var batch = false

    @Argument(help: "Envelope JSON files (- for stdin).")
    var envelopes: [String]

    func run() async throws {
        try await reportingFailures {
            var refused = 0
            let bodies = try envelopes.map { (name: $0, bytes: Files.trimmed(try Files.read($0))) }
            if batch {
                let results = try await DaemonClient.submitBatch(bodies.map(\.bytes), baseURL: server.baseURL)
                for (item, result) in zip(bodies, results) {
                    if !report(item.name, result: result) { refused += 1 }
                }
            } else {
                for item in bodies {
                    let (status, response) = try await DaemonClient.send(
                        "POST", server.baseURL + "/v1/events", body: item.bytes)
                    if status == 200 || status == 201, let value = try? JSONParser.parse(response) {
                        _ = report(item.name, result: value)
                    } else {
                        print("\(item.name): refused \(DaemonClient.describeError(status: status, body: response))")
                        refused += 1
                    }
                }
            }
            if refused > 0 { throw ExitCode(1) }
        }
    }

    /// Prints one result; false if it was a refusal.
    private func report(_ name: String, result: JSONValue) -> Bool {
        guard case .object(let object) = result else { return false }
        if case .object(let error)? = object["error"], case .string(let code)? = error["code"],
            case .string(let message)? = error["message"]
        {
            print("\(name): refused \(code): \(message)")
            return false
        }
        let position =
            object["position"].flatMap { value -> String? in
                if case .number(let number) = value { return number.literal }
                return nil
            } ?? "?"
        let duplicate = object["duplicate"] == .bool(true)
        var chain = ""
        if case .string(let hash)? = object["chainHash"] { chain = " chainHash \(hash)" }
        print("\(name): \(duplicate ? "already stored at" : "stored at") position \(position)\(chain)")
        return true
    }
}

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the log back from the daemon (a reader token with the auditor or officer role)."
    )

    @OptionGroup var server: ServerOptions

    @Option(name: .long, help: "Start after this position.")
    var after: Int64 = 0

    @Option(name: .long, help: "At most this many entries (1-1000).")
    var limit: Int = 100

    @Flag(name: .long, help: "Print the daemon's JSON instead of a table.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            let (status, body) = try await DaemonClient.send(
                "GET", server.baseURL + "/v1/events?after=\(after)&limit=\(limit)", token: server.bearer
            )
            guard status == 200 else {
                throw CLIFailure(DaemonClient.describeError(status: status, body: body), status: 1)
            }
            if json {
                print(String(decoding: Files.trimmed(body), as: UTF8.self))
                return
            }
            guard case .object(let root)? = try? JSONParser.parse(body), case .array(let events)? = root["events"]
            else {
                throw CLIFailure("unexpected answer from the daemon")
            }
            var rows: [[String]] = [["POSITION", "RECORDED AT", "TYPE", "EVENT ID", "PARTICIPANT", "SIGNED BY"]]
            for case .object(let entry) in events {
                guard case .number(let position)? = entry["position"],
                    case .string(let recordedAt)? = entry["recordedAt"],
                    case .string(let encoded)? = entry["envelope"], let bytes = Base64.decode(encoded)
                else { continue }
                var type = "?", id = "?", participant = "", signers = ""
                if let envelope = try? Envelope.decode(bytes),
                    let payload = try? EventPayload.decode(envelope.payload, context: .replay)
                {
                    type = payload.type.rawValue
                    id = payload.id.description
                    participant = payload.participant ?? ""
                    signers = envelope.signatures.map(\.keyID.short).joined(separator: ",")
                }
                rows.append([position.literal, recordedAt, type, id, participant, signers])
            }
            print(Table.render(rows))
        }
    }
}

struct Head: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the log's head, signed by the daemon.")

    @OptionGroup var server: ServerOptions

    func run() async throws {
        try await reportingFailures {
            let (status, body) = try await DaemonClient.send(
                "GET", server.baseURL + "/v1/log/head", token: server.bearer)
            guard status == 200 else {
                throw CLIFailure(DaemonClient.describeError(status: status, body: body), status: 1)
            }
            print(String(decoding: Files.trimmed(body), as: UTF8.self))
        }
    }
}

/// Plain-text tables with aligned columns.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the daemon's health; exit 0 when it is ok.",
        discussion:
            "With --wait, keep asking until the daemon answers ok or the time is up (for scripts that start it)."
    )

    @OptionGroup var server: ServerOptions

    @Option(name: .long, help: "Seconds to wait for the daemon to be up and healthy.")
    var wait: Double = 0

    func run() async throws {
        try await reportingFailures {
            let deadline = ContinuousClock.now + .milliseconds(Int(wait * 1000))
            while true {
                do {
                    let (status, body) = try await DaemonClient.send("GET", server.baseURL + "/healthz")
                    if status == 200 || ContinuousClock.now >= deadline {
                        print(String(decoding: Files.trimmed(body), as: UTF8.self))
                        if status != 200 { throw ExitCode(1) }
                        return
                    }
                } catch let failure as CLIFailure where ContinuousClock.now < deadline {
                    _ = failure
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}
