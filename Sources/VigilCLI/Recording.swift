import ArgumentParser
import Foundation
import VigilModel

/// Who signs a one-step command's event, and whether it is submitted now or left for a remote witness.
struct SigningOptions: ParsableArguments {
    @Option(name: .long, help: "The author's private key file.")
    var key: String

    @Option(
        name: .customLong("witness-key"),
        help: "A witness's private key file, when the witness is at this terminal (repeat for each witness).")
    var witnessKeys: [String] = []

    @Option(
        name: .long,
        help:
            "Write the signed envelope to this file instead of submitting it, for a witness on another machine: they run 'vigilctl countersign --key KEY --in-place FILE', then 'vigilctl submit FILE'."
    )
    var pending: String?

    @Option(name: .long, help: "When it happened (RFC 3339 with a zone); default now.")
    var occurredAt: String?
}

/// An event built by a one-step command: typed flags in, a checked, signed, submitted envelope out.
struct Recording {
    var type: EventType
    var data: JSONObject
    var participant: String?
    var session: String?

    /// Builds the event, checks it as the daemon would, signs it, then submits it (or writes it for a remote
    /// witness) and prints the outcome. A refusal prints its code and the field it names, and exits 1.
    ///
    /// - Returns: the position, when the event was submitted and stored.
    @discardableResult
    func record(signing: SigningOptions, server: ServerOptions) async throws -> Int64? {
        let now = SystemWallClock().now()
        var object = JSONObject([
            "id": .string(EventID.v7(at: now).description), "type": .string(type.rawValue),
            "occurredAt": .string(signing.occurredAt ?? now.rfc3339),
        ])
        if let participant { object["participant"] = .string(participant) }
        if let session { object["session"] = .string(session) }
        object["data"] = .object(data)
        let value = JSONValue.object(object)
        let payload: EventPayload
        do {
            payload = try EventPayload.decode(value, context: ValidationContext(limits: .default, now: now))
        } catch {
            throw CLIFailure("refused invalid_event: \(error); nothing was signed", status: 65)
        }
        let author = try Files.signingKey(at: signing.key)
        let witnesses = try signing.witnessKeys.map(Files.signingKey(at:))
        let envelope = Envelope.sign(payload: JSONWriter.bytes(value), author: author, witnesses: witnesses)
        let signed = "signed by \(author.id.short)" + witnesses.map { ", witness \($0.id.short)" }.joined()
        if let pending = signing.pending {
            do {
                try Data(JSONWriter.bytes(envelope.json) + [0x0A]).write(to: URL(fileURLWithPath: pending))
            } catch {
                throw CLIFailure("cannot write \(pending): \(error.localizedDescription)")
            }
            print(
                "\(type.rawValue) \(payload.id) \(signed); not submitted: the witness runs 'vigilctl countersign --key KEY --in-place \(pending)', then 'vigilctl submit \(pending)'"
            )
            return nil
        }
        let (status, body) = try await DaemonClient.send(
            "POST", server.baseURL + "/v1/events", body: envelope.jsonBytes)
        guard status == 200 || status == 201, case .object(let result)? = try? JSONParser.parse(body),
            case .number(let position)? = result["position"], let value = Int64(position.literal)
        else {
            throw CLIFailure(
                "refused \(DaemonClient.describeError(status: status, body: body)); nothing was stored", status: 1)
        }
        let duplicate = result["duplicate"] == .bool(true)
        print(
            "\(type.rawValue) \(payload.id) \(duplicate ? "already stored at" : "stored at") position \(value) (\(signed))"
        )
        return value
    }
}

/// A quantity in milligrams as typed on the command line (`120`, `0.5`); the event's own check judges its range.
func milligrams(_ text: String, flag: String) throws -> JSONValue {
    guard let value = try? JSONParser.parse(Array(text.utf8)), case .number = value else {
        throw ValidationError("\(flag) must be a number of milligrams, such as 120 or 0.5")
    }
    return value
}
