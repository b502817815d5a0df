import Foundation
import Testing
import VigilModel
import VigilTestSupport

/// `vigilctl demo`, run as a newcomer runs it: init, a real vigild started with the settings it wrote, load.
@Suite struct DemoCommandTests {
    static let settingNames = [
        "VIGIL_TRUST_ADMINKEYS", "VIGIL_AUTH_TOKENS", "VIGIL_DATABASE_PATH", "VIGIL_DAEMON_KEYPATH",
    ]

    /// The settings of vigil.env, as a POSIX shell reads them with `set -a; . FILE; set +a`.
    func settings(in folder: String) async throws -> [String: String] {
        let script =
            #"set -a; . "$1"; set +a; "# + Self.settingNames.map { #"printf '%s\n' "$\#($0)""# }.joined(separator: "; ")
        let result = try await run("/bin/sh", ["-c", script, "sh", folder + "/vigil.env"])
        #expect(result.status == 0, "\(result.stderr)")
        let values = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return Dictionary(uniqueKeysWithValues: zip(Self.settingNames, values))
    }

    /// A role's token from tokens.txt.
    func token(_ role: String, in folder: String) throws -> String {
        let lines = try String(contentsOfFile: folder + "/tokens.txt", encoding: .utf8).split(separator: "\n")
        let line = try #require(lines.first { $0.hasPrefix(role + " ") })
        return String(line.dropFirst(role.count + 1))
    }

    /// The rules of the alerts with a status, once `done` says they are complete or the time is up.
    func alertRules(
        _ daemon: DaemonProcess, status: String, token: String, until done: ([String]) -> Bool
    ) async throws -> [String] {
        var rules: [String] = []
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            let response = try await daemon.client.get("/v1/alerts?status=\(status)&limit=1000", token: token)
            guard case .array(let alerts)? = try JSONParser.parse(response.body)["alerts"] else {
                throw TestFailure("not an alert list: \(response.text)")
            }
            rules = alerts.compactMap { $0["rule"]?.literal }
            if done(rules) { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        return rules
    }

    @Test func aLoadedDemoClinicRaisesItsAlertsVerifiesAndLoadingItAgainAddsNothing() async throws {
        try await withTemporaryDirectory { temporary in
            let folder = temporary + "/demo"
            let made = try await run(Binaries.vigilctl, ["demo", "init", "--out", folder])
            #expect(made.status == 0, "\(made.stdout)\(made.stderr)")
            let officer = try token("officer", in: folder)
            #expect(made.stdout.contains(officer) && made.stdout.contains("demo load --from"), "\(made.stdout)")
            let settings = try await settings(in: folder)
            #expect(settings["VIGIL_DATABASE_PATH"] == folder + "/vigil-data/vigil.sqlite")
            #expect(settings["VIGIL_DAEMON_KEYPATH"] == folder + "/vigil-data/daemon.key")
            #expect(settings["VIGIL_TRUST_ADMINKEYS"]?.hasSuffix(":Ada Admin") == true)
            let admin = try KeyFile.signingKey(pem: String(contentsOfFile: folder + "/admin.key", encoding: .utf8))
            let daemon = try await DaemonProcess.start(folder: temporary, adminKey: admin, extraEnvironment: settings)
            let load = ["demo", "load", "--from", folder, "--url", "http://127.0.0.1:\(daemon.port)"]

            let first = try await run(Binaries.vigilctl, load)
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            #expect(first.stdout.contains(" 0 already stored, 0 refused"), "\(first.stdout)")

            // Each rule the clinic is meant to raise, the time-driven ones at the scheduler's next tick; no other.
            let expected: Set = [
                "hypertension", "temperature", "missed_follow_up", "serious_adverse_event", "expedited_report_due",
                "count_discrepancy",
            ]
            let open = try await alertRules(daemon, status: "open", token: officer) { Set($0) == expected }
            #expect(Set(open) == expected, "open alerts: \(open)")
            #expect(open.filter { $0 == "missed_follow_up" }.count == 4, "\(open)")
            let acknowledged = try await alertRules(daemon, status: "acknowledged", token: officer) { !$0.isEmpty }
            #expect(acknowledged == ["tachycardia"], "the officer's acknowledgement: \(acknowledged)")

            let second = try await run(Binaries.vigilctl, load)
            #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
            #expect(second.stdout.contains("demo clinic: 0 stored, "), "\(second.stdout)")
            #expect(second.stdout.contains(" 0 refused"), "\(second.stdout)")

            #expect(try await daemon.stop() == 0)
            let verify = try await run(
                Binaries.vigilctl,
                [
                    "verify", "--database", folder + "/vigil-data/vigil.sqlite", "--admin-key",
                    Base64.encode(admin.publicKey),
                ]
            )
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        }
    }

    @Test func initKeepsItsSecretsToItsOwnerAndRefusesAFolderInUse() async throws {
        try await withTemporaryDirectory { folder in
            let made = try await run(Binaries.vigilctl, ["demo", "init", "--out", folder])
            #expect(made.status == 0, "\(made.stderr)")
            for file in [
                "admin.key", "clinician.key", "device.key", "pharmacist.key", "witness.key", "officer.key",
                "tokens.txt", "vigil.env",
            ] {
                let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/" + file)
                #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(file)")
            }
            let tokens = try String(contentsOfFile: folder + "/tokens.txt", encoding: .utf8)
            #expect(
                tokens.split(separator: "\n").map { $0.split(separator: " ")[0] } == ["officer", "auditor", "pharmacy"])
            #expect(tokens.split(separator: "\n").allSatisfy { $0.split(separator: " ")[1].count == 64 })

            let again = try await run(Binaries.vigilctl, ["demo", "init", "--out", folder])
            #expect(again.status == 73, "\(again.stderr)")
            #expect(again.stderr.contains("is not an empty folder"))
            let unchanged = try String(contentsOfFile: folder + "/tokens.txt", encoding: .utf8)
            #expect(unchanged == tokens)
        }
    }
}
