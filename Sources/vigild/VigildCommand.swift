import ArgumentParser
import Foundation
import Logging
import VigilBuild
import VigilConfig
import VigilDaemon
import VigilSystemd

@main
struct VigildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigild",
        abstract: "Vigil: the signed, hash-chained safety and custody record of MDMA-assisted therapy.",
        discussion: """
            Runs in the foreground. Without --config it runs on the embedded defaults (store in ./vigil-data, \
            HTTP on 127.0.0.1:8470). Every setting can be overridden by a VIGIL_* environment variable, \
            for example VIGIL_HTTP_PORT=0 or VIGIL_TRUST_ADMINKEYS=<base64 public key>.
            """,
        version: VigilBuild.versionLine("vigild")
    )

    @Option(name: .long, help: "A YAML configuration file (see Config/vigil.yaml).")
    var config: String?

    @Flag(
        name: .long,
        help: "Check the configuration, print a summary (store, listen address, admin keys, tokens), and exit.")
    var checkConfig = false

    @Flag(name: .long, help: "Verify the whole log at start, not only from the last signed head.")
    var verifyFull = false

    @Flag(name: .long, help: "Rebuild the read models from the log at start (they are current again once replayed).")
    var rebuild = false

    @Flag(
        name: .long,
        help: """
            Take the key at daemon.keyPath (a new one when the file is missing) although the store is signed with \
            another, and record the rotation in the store. Without it, vigild refuses to start with a key that is \
            not its store's.
            """)
    var newDaemonKey = false

    func run() async throws {
        var configuration: VigilConfiguration
        do {
            configuration = try await ConfigurationLoader.load(
                file: config, environment: ProcessInfo.processInfo.environment)
        } catch {
            FileHandle.standardError.write(Data("vigild: configuration error: \(error)\n".utf8))
            throw ExitCode(78)  // EX_CONFIG
        }
        if verifyFull { configuration.integrity.fullStartupCheck = true }
        if rebuild { configuration.rebuildViews = true }
        if newDaemonKey { configuration.rotateDaemonKey = true }
        if checkConfig {
            print(
                "configuration OK: database \(configuration.databasePath), listening on \(configuration.http.host):\(configuration.http.port), \(configuration.adminAnchors.count) admin key(s), \(configuration.tokens.count) token(s)"
            )
            return
        }
        // Files and sockets vigild creates are its own until it opens them on purpose (the unit sets the same).
        umask(0o077)
        let level = LogLevelControl(Logger.Level(rawValue: configuration.logLevel) ?? .info)
        VigilLogging.bootstrap(control: level)
        let logger = Logger(label: "vigild")
        do {
            try await Daemon.run(
                configuration: configuration, configurationFile: config, logLevel: level, logger: logger)
        } catch let refusal as Daemon.StartRefusal {
            // Not a crash: restarting cannot help until an operator acts (the unit does not restart on 78).
            logger.critical("vigild will not start: \(refusal)")
            throw ExitCode(78)  // EX_CONFIG
        }
    }
}
