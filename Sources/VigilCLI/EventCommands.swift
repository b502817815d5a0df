import ArgumentParser
import Foundation
import VigilModel

struct NewEvent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event",
        abstract:
            "Print a new event's JSON: a fresh UUIDv7 id, the current time, and the given data (checked as the daemon would).",
        discussion:
            "Example: vigilctl event vitals.recorded --participant P-0001 --session P-0001-S1 --data '{\"systolic\": 128, \"diastolic\": 82}'"
    )

    @Argument(help: "The event type, for example key.registered or vitals.recorded.")
    var type: String

    @Option(name: .long, help: "The event's data as a JSON object.")
    var data: String = "{}"

    @Option(name: .long, help: "The participant's pseudonymous code.")
    var participant: String?

    @Option(name: .long, help: "The session id.")
    var session: String?

    @Option(name: .long, help: "When it happened (RFC 3339 with a zone); default now.")
    var occurredAt: String?

    @Option(name: .long, help: "The event id (a UUID); default a new UUIDv7.")
    var id: String?

    func run() async throws {
        try await reportingFailures {
            let now = SystemWallClock().now()
            let dataValue: JSONValue
            do {
                dataValue = try JSONParser.parse(Array(data.utf8))
            } catch {
                throw CLIFailure("--data is not valid JSON: \(error)", status: 64)
            }
            var object = JSONObject([
                "id": .string(id ?? EventID.v7(at: now).description), "type": .string(type),
                "occurredAt": .string(occurredAt ?? now.rfc3339),
            ])
            if let participant { object["participant"] = .string(participant) }
            if let session { object["session"] = .string(session) }
            object["data"] = dataValue
            let value = JSONValue.object(object)
            do {
                _ = try EventPayload.decode(value, context: ValidationContext(limits: .default, now: now))
            } catch {
                throw CLIFailure("invalid_event: \(error)", status: 65)
            }
            print(JSONWriter.string(value))
        }
    }
}

struct Sign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign an event as its author (and witnesses); print the DSSE envelope.",
        discussion:
            "The payload is the event file's bytes as they are (without surrounding whitespace): what is signed is what is stored."
    )

    @Option(name: .long, help: "The author's private key file.")
    var key: String

    @Option(name: .long, help: "A witness's private key file (repeat for each witness).")
    var witness: [String] = []

    @Argument(help: "The event JSON file, or - for stdin.")
    var event: String

    func run() async throws {
        try await reportingFailures {
            let payload = Files.trimmed(try Files.read(event))
            do {
                _ = try EventPayload.decode(
                    payload, context: ValidationContext(limits: .default, now: SystemWallClock().now()))
            } catch {
                throw CLIFailure(
                    "\(event) is not a valid event (invalid_event: \(error)); nothing was signed", status: 65)
            }
            let author = try Files.signingKey(at: key)
            let witnesses = try witness.map(Files.signingKey(at:))
            let envelope = Envelope.sign(payload: payload, author: author, witnesses: witnesses)
            print(JSONWriter.string(envelope.json))
        }
    }
}

struct Countersign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Add a witness signature to an existing envelope (for a witness on another machine); print the envelope."
    )

    @Option(name: .long, help: "The witness's private key file.")
    var key: String

    @Flag(name: .long, help: "Write the countersigned envelope back to the file instead of printing it.")
    var inPlace = false

    @Argument(help: "The envelope JSON file, or - for stdin.")
    var envelope: String

    func run() async throws {
        try await reportingFailures {
            let decoded: Envelope
            do {
                decoded = try Envelope.decode(try Files.read(envelope))
            } catch let error as IngestError {
                throw CLIFailure("\(envelope): \(error)", status: 65)
            }
            let witness = try Files.signingKey(at: key)
            guard !decoded.signatures.contains(where: { $0.keyID == witness.id }) else {
                throw CLIFailure("this key has already signed the envelope", status: 65)
            }
            let signed = decoded.countersigned(by: witness)
            guard inPlace else { return print(JSONWriter.string(signed.json)) }
            guard envelope != "-" else { throw CLIFailure("--in-place needs a file, not stdin", status: 64) }
            do {
                try Data(JSONWriter.bytes(signed.json) + [0x0A]).write(to: URL(fileURLWithPath: envelope))
            } catch {
                throw CLIFailure("cannot write \(envelope): \(error.localizedDescription)")
            }
            print("\(envelope): countersigned by \(witness.id.short); submit it with 'vigilctl submit \(envelope)'")
        }
    }
}
