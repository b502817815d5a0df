import ArgumentParser
import Foundation
import VigilModel

// One-step commands for the pharmacy: each builds its event from typed flags, signs it (author and any
// witnesses at this terminal), submits it and prints the position, or writes it for a remote witness.

struct Receive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record controlled substance received into a lot (inventory.received, pharmacist key).",
        discussion: "Example: vigilctl receive --key pharmacist.key --lot L-2026-01 --mg 10000 --supplier 'Acme Pharma'"
    )

    @OptionGroup var server: ServerOptions
    @OptionGroup var signing: SigningOptions

    @Option(help: "The lot number.") var lot: String
    @Option(help: "The quantity received, mg.") var mg: String
    @Option(help: "The substance and form.") var substance = "MDMA HCl"
    @Option(help: "The supplier (DEA registrant) it came from.") var supplier: String

    func run() async throws {
        try await reportingFailures {
            try await Recording(
                type: .inventoryReceived,
                data: JSONObject([
                    "lot": .string(lot), "substance": .string(substance),
                    "quantityMg": try milligrams(mg, flag: "--mg"),
                    "supplier": .string(supplier),
                ])
            ).record(signing: signing, server: server)
        }
    }
}

struct Dispense: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Dispense a dose to a participant's session (dose.dispensed, pharmacist key, optional witness).",
        discussion: """
            The dose check runs first (POST /v1/checks/dose, a pharmacy or officer token): when a safety rule would \
            fire, nothing is recorded unless --confirm is given.
            Example: vigilctl dispense --key pharmacist.key --lot L-2026-01 --mg 120 --participant P-0001 --session P-0001-S1 --kind initial
            """
    )

    @OptionGroup var server: ServerOptions
    @OptionGroup var signing: SigningOptions

    @Option(help: "The lot dispensed from.") var lot: String
    @Option(help: "The dose, mg.") var mg: String
    @Option(help: "The participant's code.") var participant: String
    @Option(help: "The dosing session's id.") var session: String
    @Option(help: "initial or supplemental.") var kind: String

    @Flag(help: "Dispense even though the dose check says a rule would fire.")
    var confirm = false

    func run() async throws {
        try await reportingFailures {
            let dose = try milligrams(mg, flag: "--mg")
            let check = JSONObject([
                "participant": .string(participant), "session": .string(session), "lot": .string(lot),
                "doseMg": dose, "kind": .string(kind),
            ])
            let (status, body) = try await DaemonClient.send(
                "POST", server.baseURL + "/v1/checks/dose", body: JSONWriter.bytes(.object(check)),
                token: server.bearer)
            guard status == 200, case .object(let result)? = try? JSONParser.parse(body),
                case .array(let fired)? = result["wouldFire"]
            else {
                throw CLIFailure(
                    "the dose check could not run (\(DaemonClient.describeError(status: status, body: body))); nothing was recorded",
                    status: 1)
            }
            for case .object(let rule) in fired {
                if case .string(let name)? = rule["rule"], case .string(let severity)? = rule["severity"],
                    case .string(let message)? = rule["message"]
                {
                    print("dose check: \(name) (\(severity)) would fire: \(message)")
                }
            }
            if !fired.isEmpty && !confirm {
                throw CLIFailure(
                    "\(fired.count) safety rule\(fired.count == 1 ? "" : "s") would fire; nothing was recorded. Run again with --confirm to dispense anyway.",
                    status: 1)
            }
            try await Recording(
                type: .doseDispensed,
                data: JSONObject(["lot": .string(lot), "doseMg": dose, "kind": .string(kind)]),
                participant: participant, session: session
            ).record(signing: signing, server: server)
        }
    }
}

struct Waste: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record waste after administration (dose.wasted, pharmacist key and one witness).",
        discussion:
            "Example: vigilctl waste --key pharmacist.key --witness-key nurse.key --lot L-2026-01 --mg 20 --reason 'spilled'"
    )

    @OptionGroup var server: ServerOptions
    @OptionGroup var signing: SigningOptions

    @Option(help: "The lot.") var lot: String
    @Option(help: "The quantity wasted, mg.") var mg: String
    @Option(help: "Why it was wasted.") var reason: String

    func run() async throws {
        try await reportingFailures {
            try await Recording(
                type: .doseWasted,
                data: JSONObject([
                    "lot": .string(lot), "quantityMg": try milligrams(mg, flag: "--mg"), "reason": .string(reason),
                ])
            ).record(signing: signing, server: server)
        }
    }
}

struct Count: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record a physical count of a lot (inventory.counted, pharmacist key and one witness).",
        discussion: "A count that differs from the perpetual balance raises count_discrepancy."
    )

    @OptionGroup var server: ServerOptions
    @OptionGroup var signing: SigningOptions

    @Option(help: "The lot.") var lot: String
    @Option(help: "The quantity counted, mg (0 for an empty lot).") var mg: String

    func run() async throws {
        try await reportingFailures {
            try await Recording(
                type: .inventoryCounted,
                data: JSONObject(["lot": .string(lot), "countedMg": try milligrams(mg, flag: "--mg")])
            ).record(signing: signing, server: server)
        }
    }
}

struct Destroy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record a destruction on DEA Form 41 (inventory.destroyed, pharmacist key and two witnesses)."
    )

    @OptionGroup var server: ServerOptions
    @OptionGroup var signing: SigningOptions

    @Option(help: "The lot.") var lot: String
    @Option(help: "The quantity destroyed, mg.") var mg: String
    @Option(help: "How it was destroyed.") var method: String
    @Option(name: .customLong("form41"), help: "The DEA Form 41 reference.") var form41: String

    func run() async throws {
        try await reportingFailures {
            try await Recording(
                type: .inventoryDestroyed,
                data: JSONObject([
                    "lot": .string(lot), "quantityMg": try milligrams(mg, flag: "--mg"), "method": .string(method),
                    "form41": .string(form41),
                ])
            ).record(signing: signing, server: server)
        }
    }
}

struct Loss: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record a theft or significant loss (inventory.loss_reported, pharmacist key and one witness).",
        discussion: """
            The DEA must be told within one business day of discovery (21 CFR 1301.76(b)): loss_report_due reminds \
            until 'vigilctl loss-filed' records the DEA Form 106 reference, and turns critical when the day has passed.
            """
    )

    @OptionGroup var server: ServerOptions
    @OptionGroup var signing: SigningOptions

    @Option(name: .customLong("loss-id"), help: "The clinic's code for this loss.") var lossId: String
    @Option(help: "The lot.") var lot: String
    @Option(help: "The quantity missing, mg.") var mg: String
    @Option(help: "theft, loss or damage.") var kind: String
    @Option(name: .customLong("discovered-at"), help: "When it was discovered (RFC 3339 with a zone); default now.")
    var discoveredAt: String?

    func run() async throws {
        try await reportingFailures {
            try await Recording(
                type: .inventoryLossReported,
                data: JSONObject([
                    "lossId": .string(lossId), "lot": .string(lot), "quantityMg": try milligrams(mg, flag: "--mg"),
                    "kind": .string(kind), "discoveredAt": .string(discoveredAt ?? SystemWallClock().now().rfc3339),
                ])
            ).record(signing: signing, server: server)
        }
    }
}

struct LossFiled: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loss-filed",
        abstract:
            "Record the DEA Form 106 filed for a loss (inventory.loss_report_filed, pharmacist or safety officer key)."
    )

    @OptionGroup var server: ServerOptions
    @OptionGroup var signing: SigningOptions

    @Option(name: .customLong("loss-id"), help: "The loss's code, as recorded by 'vigilctl loss'.") var lossId: String
    @Option(help: "The DEA Form 106 number.") var reference: String
    @Option(name: .customLong("filed-at"), help: "When it was filed (RFC 3339 with a zone); default now.")
    var filedAt: String?

    func run() async throws {
        try await reportingFailures {
            try await Recording(
                type: .inventoryLossReportFiled,
                data: JSONObject([
                    "lossId": .string(lossId), "reference": .string(reference),
                    "filedAt": .string(filedAt ?? SystemWallClock().now().rfc3339),
                ])
            ).record(signing: signing, server: server)
        }
    }
}
