import Foundation
package import Hummingbird
package import Logging
import NIOCore
import Synchronization
package import VigilModel

#if canImport(Glibc)
    import Glibc
#endif

/// A C2SP tlog-witness: cosigns a log's checkpoints as long as each one extends the last it cosigned, and
/// refuses (409, 422) a log that was rolled back or forked. `vigilctl witness serve` runs it; a sponsor or a
/// regulator runs one to detect, from outside, a log rewritten behind the clinic's back.
///
/// What it last cosigned per log is kept in a small JSON file, written (and synced) before each answer, under
/// one lock with the check, so that two requests cannot roll each other back.
package final class Witness: Sendable {
    package let name: String
    let key: SigningKey
    let trusted: [NoteKey]
    let statePath: String
    private let state: Mutex<[String: WitnessedTree]>
    let clock: @Sendable () -> UInt64

    /// Opens the witness with its state file (created on first cosignature).
    package init(
        name: String, key: SigningKey, trusted: [NoteKey], statePath: String,
        clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }
    ) throws {
        self.name = name
        self.key = key
        self.trusted = trusted
        self.statePath = statePath
        self.clock = clock
        self.state = Mutex(try Self.load(statePath))
    }

    /// The witness's cosigning key, as logs and verifiers configure it.
    package var verifierKey: NoteKey {
        // The name is checked when the witness is configured; a key from a signing key is always valid.
        try! NoteKey(name: name, publicKey: key.verifyingKey, kind: .cosignature)
    }

    /// The last checkpoint cosigned for `origin`.
    package func latest(_ origin: String) -> WitnessedTree? { state.withLock { $0[origin] } }

    /// Handles one add-checkpoint request: the cosignature line, or why not.
    package func add(_ request: AddCheckpointRequest) throws -> String {
        try state.withLock { state in
            let (origin, note, tree) = try WitnessRules.check(request, trusted: trusted) { state[$0] }
            var updated = state
            updated[origin] = tree
            try Self.save(updated, to: statePath)
            state = updated
            var cosigned = SignedNote(text: note.text, signatures: [])
            cosigned.signatures = [Cosignature.sign(note.text, name: name, key: key, timestamp: clock())]
            // Only the signature lines: the serialized note minus its text and blank line.
            return String(cosigned.serialized.dropFirst(note.text.count + 1))
        }
    }

    /// The witness's HTTP interface: `POST /add-checkpoint`.
    package func router(logger: Logger) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.post("/add-checkpoint") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 64 * 1024)
            do {
                let parsed = try AddCheckpointRequest(parsing: Array(buffer: body))
                let lines = try self.add(parsed)
                logger.info("checkpoint cosigned", metadata: ["witness.request": "\(parsed.oldSize)"])
                return Self.text(.ok, lines)
            } catch let error as NoteError {
                return Self.text(.badRequest, "\(error)\n")
            } catch let error as WitnessStateError {
                logger.error("the witness's state could not be saved", metadata: ["witness.error": "\(error)"])
                return Self.text(.internalServerError, "the witness could not record the checkpoint; retry\n")
            } catch let refusal as WitnessRules.Refusal {
                logger.warning("checkpoint refused", metadata: ["witness.refusal": "\(refusal)"])
                switch refusal {
                case .badRequest(let message): return Self.text(.badRequest, message + "\n")
                case .untrusted(let message): return Self.text(.forbidden, message + "\n")
                case .unknownLog(let message): return Self.text(.notFound, message + "\n")
                case .conflict(let size, _):
                    return Self.text(.conflict, "\(size)\n", contentType: "text/x.tlog.size")
                case .inconsistent(let message): return Self.text(.unprocessableContent, message + "\n")
                }
            }
        }
        return router
    }

    static func text(
        _ status: HTTPResponse.Status, _ text: String, contentType: String = "text/plain; charset=utf-8"
    )
        -> Response
    {
        Response(
            status: status, headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: - State file

    static func load(_ path: String) throws -> [String: WitnessedTree] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        guard case .object(let root) = try JSONParser.parse(Array(data)), case .object(let logs)? = root["logs"] else {
            throw WitnessStateError("\(path) is not a witness state file")
        }
        var state: [String: WitnessedTree] = [:]
        for member in logs.members {
            let (origin, value) = (member.key, member.value)
            guard case .object(let entry) = value, case .number(let size)? = entry["size"],
                let count = size.integerValue, count >= 0, case .string(let root)? = entry["rootHash"],
                let hash = Base64.decode(root), hash.count == 32
            else { throw WitnessStateError("\(path): the entry for \(origin) is malformed") }
            state[origin] = WitnessedTree(size: UInt64(count), rootHash: hash)
        }
        return state
    }

    /// Writes the state to a temporary file, syncs it, and renames it over the old one (then syncs the folder),
    /// so that a crash leaves either the old state or the new one.
    static func save(_ state: [String: WitnessedTree], to path: String) throws {
        var logs = JSONObject()
        for (origin, tree) in state {
            logs[origin] = .object(
                JSONObject([
                    "size": .number(JSONNumber(Int64(tree.size))), "rootHash": .string(Base64.encode(tree.rootHash)),
                ]))
        }
        let bytes = JSONWriter.bytes(.object(JSONObject(["logs": .object(logs)]))) + [0x0A]
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw WitnessStateError("cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard result > 0 else {
                close(descriptor)
                throw WitnessStateError("cannot write \(temporary)")
            }
            written += result
        }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard synced, rename(temporary, path) == 0 else { throw WitnessStateError("cannot replace \(path)") }
        let folder = (path as NSString).deletingLastPathComponent
        let directory = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
    }
}

/// The witness's state file could not be read or written.
package struct WitnessStateError: Error, Sendable, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}
