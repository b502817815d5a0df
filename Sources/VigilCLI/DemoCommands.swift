import ArgumentParser
import Crypto
import Foundation
import VigilConfig
import VigilModel
import VigilProjections

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A demonstration clinic with synthetic data, to see Vigil and its console populated.",
        discussion: """
            'demo init --out DIR' makes the clinic's keys, reader tokens and vigild's settings in DIR; start vigild \
            with them, then 'demo load --from DIR' registers the staff and records four months of the clinic: \
            lots, dispenses and counts, five participants, nine sessions with vital signs, follow-up mood checks, \
            adverse events. The data are synthetic; never load them into a store that keeps a real record.
            """,
        subcommands: [DemoInit.self, DemoLoad.self]
    )
}

/// The files of a demo folder.
struct DemoFolder {
    /// The folder's absolute path.
    let path: String

    init(_ path: String) {
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    var tokens: String { path + "/tokens.txt" }
    var environment: String { path + "/vigil.env" }
    var store: String { path + "/vigil-data/vigil.sqlite" }
    var daemonKey: String { path + "/vigil-data/daemon.key" }
    /// The signed clinic, one envelope a file (`0001.json` ...), written by the first load and sent as it is by
    /// every later one.
    var clinic: String { path + "/clinic" }
    /// The safety officer's signed acknowledgement, written once the daemon has raised the alert it names.
    var acknowledgement: String { clinic + "/acknowledgement.json" }

    func key(_ member: DemoCast.Member) -> String { path + "/" + member.file }

    /// The reader token of a role, from tokens.txt.
    func token(_ role: ReaderRole) throws -> String {
        guard let data = FileManager.default.contents(atPath: tokens) else {
            throw CLIFailure("cannot read \(tokens): is \(path) a folder made by 'vigilctl demo init'?")
        }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[0] == role.rawValue { return String(fields[1]) }
        }
        throw CLIFailure("\(tokens) has no \(role.rawValue) token")
    }
}

struct DemoInit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Make a demo clinic's keys, reader tokens and vigild settings in a new folder.",
        discussion: """
            Writes, each mode 0600: the staff's Ed25519 keys (admin.key, clinician.key, device.key, \
            pharmacist.key, witness.key, officer.key); tokens.txt, a reader token a line for the roles officer, \
            auditor and pharmacy ('ROLE TOKEN'); vigil.env, vigild's settings as VIGIL_* variables for a shell \
            ('set -a; . DIR/vigil.env; set +a'): the admin key as the root of trust, the tokens' SHA-256 digests, \
            and the store and daemon key in DIR/vigil-data.
            """
    )

    @Option(help: "The folder to create (it must not exist, or be empty).")
    var out: String

    static let readerRoles: [ReaderRole] = [.officer, .auditor, .pharmacy]

    func run() async throws {
        try await reportingFailures {
            let folder = DemoFolder(out)
            try Self.createFolder(folder.path)
            var keys: [String: SigningKey] = [:]
            for member in DemoCast.members {
                let key = SigningKey()
                try Files.createPrivate(folder.key(member), Array(KeyFile.pem(privateKey: key).utf8))
                keys[member.file] = key
            }
            var generator = SystemRandomNumberGenerator()
            let tokens = Self.readerRoles.map { role in
                (
                    role: role,
                    token: Hex.encode((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
                )
            }
            try Files.createPrivate(
                folder.tokens, Array(tokens.map { "\($0.role.rawValue) \($0.token)\n" }.joined().utf8))
            let admin = keys[DemoCast.admin.file].map { Base64.encode($0.publicKey) } ?? ""
            let digests = tokens.map { Hex.encode(SHA256.hash(data: Array($0.token.utf8))) + ":" + $0.role.rawValue }
            let settings = [
                ("VIGIL_TRUST_ADMINKEYS", "\(admin):\(DemoCast.admin.name)"),
                ("VIGIL_AUTH_TOKENS", digests.joined(separator: ",")),
                ("VIGIL_DATABASE_PATH", folder.store),
                ("VIGIL_DAEMON_KEYPATH", folder.daemonKey),
            ]
            let environment =
                """
                # vigild's settings for the Vigil demo clinic (synthetic data). Load them into a shell with
                #   set -a; . \(shellQuoted(folder.environment)); set +a

                """ + settings.map { "\($0.0)=\(shellQuoted($0.1))\n" }.joined()
            try Files.createPrivate(folder.environment, Array(environment.utf8))
            let officer = tokens[0].token
            print(
                """
                The demo clinic's keys, reader tokens and vigild settings are in \(folder.path) (synthetic data).

                Next:
                  1. Start vigild with these settings (its store goes to \(folder.path)/vigil-data; it listens on
                     127.0.0.1:8470 unless VIGIL_HTTP_PORT says otherwise):
                       (set -a; . \(shellQuoted(folder.environment)); set +a; exec vigild) &
                  2. Record the clinic (VIGIL_URL or --url if vigild listens elsewhere):
                       vigilctl demo load --from \(shellQuoted(folder.path))
                  3. Open http://127.0.0.1:8470/console/ and sign in with the officer token:
                       \(officer)
                     The auditor's and the pharmacy's tokens are in \(folder.tokens). On the command line:
                       VIGIL_TOKEN=\(officer) vigilctl today
                """)
        }
    }

    /// Creates the folder (mode 0700), or takes an empty one; refuses anything else, so that no key or store of
    /// another clinic is ever mixed with the demo's.
    static func createFolder(_ path: String) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            guard isFolder.boolValue, (try? FileManager.default.contentsOfDirectory(atPath: path))?.isEmpty == true
            else {
                throw CLIFailure(
                    "\(path) exists and is not an empty folder; the demo needs a folder of its own", status: 73)
            }
            guard chmod(path, 0o700) == 0 else { throw CLIFailure("cannot make \(path) private", status: 73) }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CLIFailure("cannot create \(path): \(error.localizedDescription)", status: 73)
        }
    }

    /// `text` as one word for a POSIX shell.
    func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}

struct DemoLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Register the demo clinic's staff and record its clinic in a running vigild (synthetic data).",
        discussion: """
            The first load signs the clinic, dated back from now, and keeps every signed envelope in DIR/clinic; \
            every later load sends the same bytes again, which the daemon answers as already stored, so loading \
            twice adds nothing. Once the daemon has raised the clinic's brief tachycardia alert, the safety \
            officer acknowledges it (read with the officer token of DIR/tokens.txt). Prints how many envelopes \
            were stored, already stored and refused; exits 1, naming each refusal, if any was refused. --token \
            overrides the officer token of DIR/tokens.txt.
            """
    )

    @Option(help: "The folder made by 'vigilctl demo init'.")
    var from: String

    @OptionGroup var server: ServerOptions

    /// Envelopes a batch request; below the daemon's default http.maxBatchItems (1000).
    static let batchSize = 200
    /// How long to wait for the daemon to raise the alert the officer acknowledges.
    static let alertWait: Duration = .seconds(30)

    func run() async throws {
        try await reportingFailures {
            let folder = DemoFolder(from)
            let cast = try DemoCast(folder: folder.path)
            // The clinic is dated from its first load: make sure it can be sent before dating it.
            _ = try await DaemonClient.send("GET", server.baseURL + "/healthz")
            let clinic = try Self.signedClinic(folder: folder, cast: cast)
            var tally = Tally()
            for start in stride(from: 0, to: clinic.count, by: Self.batchSize) where tally.refused.isEmpty {
                let batch = Array(clinic[start..<min(start + Self.batchSize, clinic.count)])
                let results = try await DaemonClient.submitBatch(batch.map(\.bytes), baseURL: server.baseURL)
                tally.count(zip(batch.map(\.name), results))
            }
            tally.notSent = clinic.count - tally.total
            if tally.refused.isEmpty, let acknowledgement = try await acknowledgement(folder: folder, cast: cast) {
                let results = try await DaemonClient.submitBatch([acknowledgement.bytes], baseURL: server.baseURL)
                tally.count(zip([acknowledgement.name], results))
            }
            print(tally.summary)
            guard tally.refused.isEmpty else {
                for line in tally.refused.prefix(10) { print(line) }
                if tally.refused.count > 10 { print("... and \(tally.refused.count - 10) more refusals") }
                throw CLIFailure(
                    "\(tally.refused.count) envelope\(tally.refused.count == 1 ? " was" : "s were") refused; is vigild running with the settings of \(folder.environment)?",
                    status: 1)
            }
            if server.baseURL.hasPrefix("http://") || server.baseURL.hasPrefix("https://") {
                print("Open \(server.baseURL)/console/ and sign in with the officer token of \(folder.tokens).")
            }
        }
    }

    /// The clinic's signed envelopes in the order to submit them: read from DIR/clinic, or signed now and kept
    /// there (written to a scratch folder first, then renamed, so a clinic is kept whole or not at all).
    static func signedClinic(folder: DemoFolder, cast: DemoCast) throws -> [(name: String, bytes: [UInt8])] {
        let manager = FileManager.default
        if !manager.fileExists(atPath: folder.clinic) {
            let now = SystemWallClock().now()
            let context = ValidationContext(limits: .default, now: now)
            let scratch = folder.clinic + ".partial-\(getpid())"
            try DemoInit.createFolder(scratch)
            let demo = DemoClinic(cast: cast, now: now)
            for (index, entry) in demo.entries.enumerated() {
                let payload = entry.payload.jsonBytes
                do {
                    _ = try EventPayload.decode(payload, context: context)
                } catch {
                    throw CLIFailure(
                        "the demo's \(entry.payload.type.rawValue) event is invalid (\(error)); nothing was sent")
                }
                let envelope = Envelope.sign(payload: payload, author: entry.author, witnesses: entry.witnesses)
                try Files.createPrivate(scratch + "/" + fileName(index + 1), envelope.jsonBytes + [0x0A])
            }
            guard rename(scratch, folder.clinic) == 0 else {
                throw CLIFailure("cannot rename \(scratch) to \(folder.clinic): \(String(cString: strerror(errno)))")
            }
            print(
                "signed the demo clinic, dated back from now: \(demo.entries.count) events (\(demo.participants) participants, \(demo.sessions) sessions), kept in \(folder.clinic)"
            )
        }
        let names = try manager.contentsOfDirectory(atPath: folder.clinic).filter {
            $0.count == fileName(1).count && $0.hasSuffix(".json") && $0.first?.isNumber == true
        }.sorted()
        return try names.map { ("clinic/" + $0, Files.trimmed(try Files.read(folder.clinic + "/" + $0))) }
    }

    static func fileName(_ number: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits + ".json"
    }

    /// The safety officer's acknowledgement of the tachycardia alert of ``DemoClinic/acknowledgedSession``, once
    /// the daemon has raised it: the one kept in the folder, or a new one signed now and kept. Nil, with a note,
    /// when the alert is not raised in time.
    func acknowledgement(folder: DemoFolder, cast: DemoCast) async throws -> (name: String, bytes: [UInt8])? {
        var reader = server
        reader.token = try server.token ?? folder.token(.officer)
        let participant = DemoClinic.acknowledgedParticipant
        let deadline = ContinuousClock.now + Self.alertWait
        var alert: AlertView?
        while alert == nil {
            alert = try await fetchAlerts(reader, parameters: ["participant=\(participant)"]).first {
                $0.rule == .tachycardia && $0.session == DemoClinic.acknowledgedSession
            }
            guard alert == nil else { break }
            guard ContinuousClock.now < deadline else {
                print(
                    "note: the daemon raised no tachycardia alert for \(DemoClinic.acknowledgedSession) within \(Self.alertWait); it is left unacknowledged"
                )
                return nil
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        let name = "clinic/acknowledgement.json"
        if FileManager.default.fileExists(atPath: folder.acknowledgement) {
            return (name, Files.trimmed(try Files.read(folder.acknowledgement)))
        }
        guard let alert else { return nil }
        let now = SystemWallClock().now()
        let payload = EventPayload(
            id: EventID.v7(at: now), occurredAt: now,
            data: .alertAcknowledged(AlertAcknowledged(alertId: alert.alertId, note: DemoClinic.acknowledgementNote)))
        let envelope = Envelope.sign(payload: payload.jsonBytes, author: cast.officer)
        try Files.createPrivate(folder.acknowledgement, envelope.jsonBytes + [0x0A])
        return (name, envelope.jsonBytes)
    }

    /// What the daemon answered, envelope by envelope.
    struct Tally {
        var stored = 0
        var duplicates = 0
        var refused: [String] = []
        var notSent = 0

        var total: Int { stored + duplicates + refused.count }

        var summary: String {
            "demo clinic: \(stored) stored, \(duplicates) already stored, \(refused.count) refused"
                + (notSent > 0 ? ", \(notSent) not sent after the refusal" : "")
        }

        mutating func count(_ answers: some Sequence<(String, JSONValue)>) {
            for (name, answer) in answers {
                guard case .object(let result) = answer else {
                    refused.append("\(name): unexpected answer from the daemon")
                    continue
                }
                if case .object(let error)? = result["error"] {
                    var reason = "?"
                    if case .string(let code)? = error["code"], case .string(let message)? = error["message"] {
                        reason = "\(code): \(message)"
                    }
                    refused.append("\(name): refused \(reason)")
                } else if result["duplicate"] == .bool(true) {
                    duplicates += 1
                } else {
                    stored += 1
                }
            }
        }
    }
}
