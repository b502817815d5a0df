import Foundation
import VigilHTTP
import VigilIngest
import VigilModel
import VigilProjections
import VigilStore

extension HealthReport {
    /// The daemon's checks: the writer (stalled or not), the log, this node's part on a shared database, failed
    /// commits, the read models, the views' comparison with a replay, the integrity of the log, and the witnesses.
    static func daemon(
        store: EventStore, projections: ProjectionRunner.Status?, views: ViewCheckService.Status? = nil,
        integrity: IntegrityService.Status? = nil, witnesses: WitnessService.Status? = nil, clock: any WallClock,
        stallSeconds: Double, gate: WriteGate? = nil, leadership: Leadership? = nil
    ) -> HealthReport {
        let head = store.head
        let (writerOK, detail) = Daemon.writer(store: store, clock: clock, stallSeconds: stallSeconds)
        var checks = [Check("writer", ok: writerOK, detail), Check("log", ok: true, "\(head.size) entries")]
        if let leadership {
            // Either is healthy: a follower serves ingest and reads; the leader also does the work run once.
            checks.append(
                Check(
                    "node", ok: true,
                    leadership.isLeading
                        ? "leads: appends alerts, runs deadlines, signs checkpoints, sends webhooks"
                        : "follows: another node holds the lead"))
        }
        if let failure = store.lastCommitFailure {
            // Degraded, not wedged: the watchdog (which follows only `writerHealthy`'s stall test) must not
            // restart a daemon whose disk is full; it recovers by itself once space is freed.
            checks.append(Check("commits", ok: false, failure))
        }
        if let projections {
            let projectionsOK = projections.failure == nil
            let state = projections.failure ?? (projections.caughtUp ? "following" : "catching up")
            checks.append(
                Check("projections", ok: projectionsOK, "\(state); at position \(projections.position) of \(head.size)")
            )
        }
        if let views {
            checks.append(Check("views", ok: views.mismatch == nil, views.mismatch ?? views.summary))
        }
        if let gate {
            let refusal = gate.refusal
            let verified =
                integrity.map { status in
                    status.passes == 0
                        ? "verified at start"
                        : String(
                            format: "verified to position %lld (last check %.1f s)", status.verifiedSize,
                            status.lastPassSeconds)
                } ?? "verified"
            checks.append(Check("integrity", ok: refusal == nil, refusal?.message ?? verified))
        }
        if let witnesses {
            let refusals = witnesses.refusals.sorted { $0.key < $1.key }
            let detail =
                refusals.isEmpty
                ? witnesses.cosigned.sorted { $0.key < $1.key }.map { "\($0.key) cosigned \($0.value)" }
                    .joined(separator: "; ")
                : refusals.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
            checks.append(
                Check("witnesses", ok: refusals.isEmpty, detail.isEmpty ? "no checkpoint cosigned yet" : detail))
        }
        return HealthReport(checks: checks)
    }
}
