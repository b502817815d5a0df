import Foundation
import Testing
import VigilModel
import VigilTestSupport

/// The optional Unix-socket listener: its file mode and group decide who may connect, and it serves the same
/// API with the same tokens. Who may connect is checked by connecting as another user (`setpriv` and Perl,
/// both in every Debian), so these tests need root.
@Suite(.serialized, .enabled(if: getuid() == 0, "changing users needs root"))
struct UnixSocketTests {
    /// Tries to connect to `path` as the user nobody, with `groups` as its supplementary groups, and to
    /// read /healthz; prints the status line or the connect error.
    func connectAsNobody(_ path: String, groups: [gid_t]) async throws -> CommandResult {
        let script = """
            use IO::Socket::UNIX;
            my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0]) or do { print "refused: $!\\n"; exit 3 };
            print $s "GET /healthz HTTP/1.1\\r\\nHost: vigil\\r\\nConnection: close\\r\\n\\r\\n";
            my $line = <$s>; print $line;
            """
        let groupOption =
            groups.isEmpty ? "--clear-groups" : "--groups=" + groups.map(String.init).joined(separator: ",")
        return try await run(
            "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", groupOption, "/usr/bin/perl", "-e", script, path])
    }

    @Test func theSocketsModeAndGroupDecideWhoConnects() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            // The folder must be searchable by others, or every connection fails for that reason instead.
            let runFolder = folder + "/run"
            try FileManager.default.createDirectory(
                atPath: runFolder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            chmod(folder, 0o755)
            let socketPath = runFolder + "/vigil.sock"
            let daemon = try await DaemonProcess.start(
                folder: folder, adminKey: keys.admin,
                extraEnvironment: [
                    "VIGIL_HTTP_UNIXSOCKET": socketPath, "VIGIL_HTTP_UNIXSOCKETMODE": "0660",
                    "VIGIL_HTTP_UNIXSOCKETGROUP": "users",
                ]
            )
            #expect(try await daemon.waitForLog("vigild ready"), "\(daemon.logText)")
            var info = stat()
            #expect(stat(socketPath, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
            #expect(info.st_mode & 0o777 == 0o660)
            #expect(info.st_gid == 100)

            // Through the socket: the same API and the same tokens.
            let anonymous = try await RawConversation.run(
                .unix(path: socketPath),
                steps: [.send("GET /v1/log/head HTTP/1.1\r\nHost: vigil\r\nConnection: close\r\n\r\n")]
            )
            #expect(anonymous.status == 401, "\(anonymous.received)")
            let auditor = try await RawConversation.run(
                .unix(path: socketPath),
                steps: [
                    .send(
                        "GET /v1/log/head HTTP/1.1\r\nHost: vigil\r\nAuthorization: Bearer e2e-auditor\r\nConnection: close\r\n\r\n"
                    )
                ]
            )
            #expect(auditor.status == 200, "\(auditor.received)")
            #expect(auditor.received.contains("\"size\""))

            // vigilctl speaks through the socket too.
            let head = try await run(
                Binaries.vigilctl, ["head", "--socket", socketPath, "--token", "e2e-auditor"])
            #expect(head.status == 0, "\(head.stderr)")
            #expect(head.stdout.contains("size"), "\(head.stdout)")

            // Another user outside the group cannot connect; the same user in the group can.
            let stranger = try await connectAsNobody(socketPath, groups: [])
            #expect(stranger.status == 3 && stranger.stdout.contains("refused"), "\(stranger)")
            let member = try await connectAsNobody(socketPath, groups: [100])
            #expect(member.status == 0 && member.stdout.hasPrefix("HTTP/1.1 200"), "\(member)")

            #expect(try await daemon.stop() == 0)
        }
    }

    @Test func anUnknownGroupStopsTheDaemonBeforeItServes() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let result = try await run(
                Binaries.vigild, [],
                environment: [
                    "VIGIL_DATABASE_PATH": folder + "/data/vigil.sqlite",
                    "VIGIL_DAEMON_KEYPATH": folder + "/data/daemon.key",
                    "VIGIL_HTTP_PORT": "0", "VIGIL_TRUST_ADMINKEYS": Base64.encode(keys.admin.publicKey),
                    "VIGIL_HTTP_UNIXSOCKET": folder + "/vigil.sock", "VIGIL_HTTP_UNIXSOCKETGROUP": "no-such-group-here",
                ]
            )
            #expect(result.status != 0)
            #expect((result.stdout + result.stderr).contains("no group named no-such-group-here"))
            #expect(!FileManager.default.fileExists(atPath: folder + "/vigil.sock"))
        }
    }
}
