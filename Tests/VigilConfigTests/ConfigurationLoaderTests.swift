import Foundation
import Testing
import VigilConfig
import VigilModel
import VigilTestSupport

@Suite struct ConfigurationLoaderTests {
    static let exampleFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Config/vigil.yaml").path

    @Test func theEmbeddedDefaultsRunAsIs() async throws {
        let configuration = try await ConfigurationLoader.load(file: nil, environment: [:])
        #expect(configuration.databasePath == "vigil-data/vigil.sqlite")
        #expect(configuration.http.host == "127.0.0.1")
        #expect(configuration.http.port == 8470)
        #expect(configuration.adminAnchors.isEmpty)
        #expect(configuration.limits == .default)
    }

    @Test func theCommentedExampleMatchesTheDefaults() async throws {
        let example = try await ConfigurationLoader.load(file: Self.exampleFile, environment: [:])
        let defaults = try await ConfigurationLoader.load(file: nil, environment: [:])
        #expect(example == defaults)
    }

    @Test func environmentVariablesOverrideTheFile() async throws {
        let admin = SigningKey(), second = SigningKey()
        let hash = String(repeating: "ab", count: 32)
        let configuration = try await ConfigurationLoader.load(
            file: Self.exampleFile,
            environment: [
                "VIGIL_HTTP_PORT": "0", "VIGIL_DATABASE_PATH": "/var/lib/vigil/vigil.sqlite",
                "VIGIL_TRUST_ADMINKEYS":
                    "\(Base64.encode(admin.publicKey)):Alice Admin, \(Base64.encode(second.publicKey))",
                "VIGIL_AUTH_TOKENS": "\(hash):officer", "VIGIL_LIMITS_MAXDOSEMG": "200", "OTHER": "ignored",
                "VIGIL_ALERTS_WEBHOOK_OUTBOXPATH": "/var/spool/vigil/outbox.sqlite",
            ]
        )
        #expect(configuration.http.port == 0)
        #expect(configuration.databasePath == "/var/lib/vigil/vigil.sqlite")
        #expect(configuration.adminAnchors.map(\.publicKey) == [admin.publicKey, second.publicKey])
        #expect(configuration.adminAnchors.first?.name == "Alice Admin")
        #expect(configuration.tokens == [TokenGrant(sha256: Hex.decode(hash)!, role: .officer)])
        #expect(configuration.limits.maxDose == Milligrams(200))
        #expect(configuration.webhook.outboxPath == "/var/spool/vigil/outbox.sqlite")
        #expect(ConfigurationLoader.environmentName(of: "trust.adminKeys") == "VIGIL_TRUST_ADMINKEYS")
    }

    func error(file: String? = nil, environment: [String: String] = [:]) async -> ConfigurationError? {
        do {
            _ = try await ConfigurationLoader.load(file: file, environment: environment)
            return nil
        } catch {
            return error
        }
    }

    @Test func badValuesAreRefusedNamingTheKey() async {
        #expect(await error(environment: ["VIGIL_HTTP_PORT": "eighty"])?.key == "http.port")
        #expect(await error(environment: ["VIGIL_HTTP_PORT": "70000"])?.key == "http.port")
        #expect(await error(environment: ["VIGIL_TRUST_ADMINKEYS": "not-a-key"])?.key == "trust.adminKeys")
        #expect(await error(environment: ["VIGIL_AUTH_TOKENS": "abc:officer"])?.key == "auth.tokens")
        #expect(
            await error(environment: ["VIGIL_AUTH_TOKENS": String(repeating: "ab", count: 32) + ":root"])?.key
                == "auth.tokens")
        #expect(await error(environment: ["VIGIL_LOG_LEVEL": "loud"])?.key == "log.level")
        // Settings read through a component's scoped reader still name their full key.
        #expect(
            await error(environment: ["VIGIL_ALERTS_WEBHOOK_MAXATTEMPTS": "0"])?.key == "alerts.webhook.maxAttempts")
        #expect(await error(environment: ["VIGIL_INTEGRITY_STARTUPCHECK": "some"])?.key == "integrity.startupCheck")
        #expect(await error(environment: ["VIGIL_HTTP_UNIXSOCKETMODE": "rwx"])?.key == "http.unixSocketMode")
    }

    @Test func unknownKeysInTheFileAreRefused() async throws {
        try await withTemporaryDirectory { folder in
            let file = folder + "/vigil.yaml"
            try "htpp:\n  port: 9000\n".write(toFile: file, atomically: true, encoding: .utf8)
            #expect(await error(file: file)?.key == "htpp.port")
            try "http:\n  prot: 9000\n".write(toFile: file, atomically: true, encoding: .utf8)
            #expect(await error(file: file)?.key == "http.prot")
            try "http: [1, 2\n".write(toFile: file, atomically: true, encoding: .utf8)
            #expect(await error(file: file) != nil)
            #expect(await error(file: folder + "/missing.yaml") != nil)
        }
    }
}
