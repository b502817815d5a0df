import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import VigilConfig
import VigilModel
import VigilStore

/// Submits each new checkpoint to the configured witnesses (C2SP tlog-witness `add-checkpoint`), with the
/// consistency proof from the last checkpoint each cosigned, and records their cosignatures beside it.
///
/// A witness that refuses because this log does not extend what it cosigned (a log restored from an old
/// copy and grown again, or rewritten) is the alarm witnesses exist for: a critical log entry, and `/healthz`
/// degraded until a later checkpoint is cosigned. An unreachable witness is retried at the next round.
final class WitnessService: Service, Sendable {
    struct Status: Sendable {
        /// Per witness name: why it refused, while it does.
        var refusals: [String: String] = [:]
        /// Per witness name: the largest checkpoint size it cosigned.
        var cosigned: [String: Int64] = [:]
    }

    let store: EventStore
    let witnesses: [WitnessEndpoint]
    /// Only the leader of a shared database submits checkpoints.
    let leadership: Leadership
    let interval: Duration
    let clock: any WallClock
    let logger: Logger
    private let status = Mutex(Status())

    init(
        store: EventStore, witnesses: [WitnessEndpoint], leadership: Leadership = .sole(),
        interval: Duration = .seconds(5), clock: any WallClock, logger: Logger
    ) {
        self.store = store
        self.witnesses = witnesses
        self.leadership = leadership
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    var currentStatus: Status { status.withLock { $0 } }

    func run() async throws {
        guard !witnesses.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        await round()
        await repeatEvery(interval) { await round() }
    }

    /// Submits the latest checkpoint to every witness that has not cosigned it yet, when this node leads. What
    /// the witnesses cosigned is read from the log first: another node may have led before.
    func round() async {
        guard leadership.isLeading else {
            // What the witnesses answered the leader is its to report.
            status.withLock { $0.refusals = [:] }
            return
        }
        if let sizes = try? await store.cosignedSizes() {
            status.withLock { status in status.cosigned.merge(sizes) { max($0, $1) } }
        }
        guard let latest = try? await store.latestCheckpoint() else { return }
        await withTaskGroup(of: Void.self) { group in
            for witness in witnesses {
                group.addTask { await self.submit(latest, to: witness) }
            }
        }
    }

    private func submit(_ latest: EventStore.CheckpointRecord, to witness: WitnessEndpoint) async {
        let name = witness.key.name
        var old = status.withLock { $0.cosigned[name] } ?? 0
        if old == latest.size { return }
        // One retry: a 409 tells the size the witness last cosigned, which this daemon may not know (a new
        // witness, a state restored on either side).
        for _ in 0..<2 {
            if old > latest.size {
                refuse(
                    witness,
                    "the witness cosigned a checkpoint of \(old) entries but this log holds \(latest.size): entries were removed or the log was replaced"
                )
                return
            }
            let proof: [[UInt8]]
            do {
                proof = old == 0 ? [] : try await store.consistencyProof(from: old, to: latest.size)
            } catch {
                logger.warning("cannot prove consistency for a witness", metadata: ["store.error": "\(error)"])
                return
            }
            let request = AddCheckpointRequest(oldSize: UInt64(old), proof: proof, checkpoint: latest.note)
            let answer: (status: Int, body: [UInt8])
            do {
                answer = try await post(request.body, to: witness.url + "/add-checkpoint")
            } catch {
                logger.warning(
                    "a witness could not be reached; retrying at the next round",
                    metadata: ["witness.name": "\(name)", "witness.error": "\(error)"])
                return
            }
            switch answer.status {
            case 200:
                await record(answer.body, from: witness, for: latest)
                return
            case 409:
                guard let text = String(validating: answer.body, as: UTF8.self),
                    let size = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines))
                else {
                    refuse(witness, "the witness answered 409 without the size it last cosigned")
                    return
                }
                if size == old {
                    refuse(
                        witness,
                        "the witness cosigned another root for a checkpoint of \(size) entries: the log was forked")
                    return
                }
                old = size
            case 422:
                refuse(
                    witness,
                    "the witness found that this log does not extend the checkpoint of \(old) entries it cosigned: the log was rolled back or forked"
                )
                return
            case 403, 404:
                refuse(
                    witness,
                    "the witness does not follow this log (HTTP \(answer.status)): give it the log's verifier key")
                return
            default:
                logger.warning(
                    "a witness answered an error; retrying at the next round",
                    metadata: ["witness.name": "\(name)", "http.status": "\(answer.status)"])
                return
            }
        }
    }

    /// Keeps the witness's cosignature lines that verify against the checkpoint.
    private func record(_ body: [UInt8], from witness: WitnessEndpoint, for latest: EventStore.CheckpointRecord) async {
        let name = witness.key.name
        guard let note = try? SignedNote(parsing: latest.note + body), (try? note.verify(by: witness.key)) != nil else {
            refuse(witness, "the witness answered a cosignature that does not verify with its configured key")
            return
        }
        let lines = note.signatures.filter { $0.name == name && $0.keyID == witness.key.id }.map {
            SignedNote(text: "", signatures: [$0]).serialized.dropFirst()
        }
        do {
            for line in lines {
                try await store.recordCosignature(
                    of: latest.seq, witness: name, line: String(line), at: clock.now())
            }
        } catch {
            logger.warning("a cosignature could not be stored", metadata: ["store.error": "\(error)"])
            return
        }
        let wasRefusing = status.withLock { status in
            status.cosigned[name] = latest.size
            return status.refusals.removeValue(forKey: name) != nil
        }
        logger.log(
            level: wasRefusing ? .notice : .info, "checkpoint cosigned by a witness",
            metadata: ["witness.name": "\(name)", "log.size": "\(latest.size)"])
    }

    private func refuse(_ witness: WitnessEndpoint, _ reason: String) {
        let name = witness.key.name
        let first = status.withLock { status in
            defer { status.refusals[name] = reason }
            return status.refusals[name] != reason
        }
        if first {
            logger.critical(
                "a witness refused the log's checkpoint",
                metadata: ["witness.name": "\(name)", "witness.reason": "\(reason)"])
        }
    }

    private func post(_ body: [UInt8], to url: String) async throws -> (status: Int, body: [UInt8]) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        request.body = .bytes(body)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 64 * 1024)
        return (Int(response.status.code), Array(buffer: bytes))
    }
}
