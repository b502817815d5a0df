import Foundation
import Logging
import VigilModel
import VigilProjections
import VigilStore

/// Offline costs over a stored log: projection rebuild (replay) and verification, hashes only and in full.
enum ReplayScenario {
    struct Results {
        var events: Int
        var replayPerSecond: Double
        var hashesPerSecond: Double
        var signaturesPerSecond: Double
    }

    static func run(events count: Int) async throws -> Results {
        say("\n== replay and verify: \(count) stored events")
        let folder = NSTemporaryDirectory() + "vigil-bench-replay-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let storePath = folder + "/vigil.sqlite"
        let started = ContinuousClock.now
        let written = try await ClinicLog.write(count, to: storePath, admin: SigningKey(), daemon: SigningKey())
        // VIGIL_BENCH_KEEP=DIR keeps a copy of the generated store, to profile rebuild and verify on their own.
        if let keep = ProcessInfo.processInfo.environment["VIGIL_BENCH_KEEP"] {
            try? FileManager.default.removeItem(atPath: keep + "/vigil.sqlite")
            try FileManager.default.copyItem(atPath: storePath, toPath: keep + "/vigil.sqlite")
        }
        say(String(format: "wrote %lld events in %.1f s", written, (ContinuousClock.now - started) / .seconds(1)))

        let rebuild = try await ProjectionRebuild.run(
            storePath: storePath, projectionsPath: folder + "/vigil.projections.sqlite")
        say(String(format: "projection rebuild: %.0f events/s (%.2f s)", rebuild.eventsPerSecond, rebuild.seconds))
        var clock = ContinuousClock.now
        let hashes = try LogVerifier.verify(path: storePath, options: .init(checkSignatures: false))
        let hashSeconds = (ContinuousClock.now - clock) / .seconds(1)
        say(
            String(
                format: "verify, hashes only: %.0f entries/s (%.2f s)", Double(hashes.entriesChecked) / hashSeconds,
                hashSeconds))
        clock = ContinuousClock.now
        let full = try LogVerifier.verify(path: storePath)
        let fullSeconds = (ContinuousClock.now - clock) / .seconds(1)
        precondition(full.isValid, "the generated log must verify")
        say(
            String(
                format: "verify, with signatures: %.0f entries/s, %.0f signatures/s (%.2f s)",
                Double(full.entriesChecked) / fullSeconds, Double(full.signaturesChecked) / fullSeconds, fullSeconds))
        // Proofs from the store, as `GET /v1/proofs/...` builds them (without HTTP): one at a time, random.
        let store = try EventStore.open(path: storePath, anchors: [], logger: Logger(label: "vigil-bench"))
        let size = store.head.size
        for (name, proof) in [
            ("inclusion", { try await store.inclusionProof(position: .random(in: 1...size), size: size) }),
            ("consistency", { try await store.consistencyProof(from: .random(in: 1...size), to: size) }),
        ] as [(String, () async throws -> [[UInt8]])] {
            clock = ContinuousClock.now
            for _ in 0..<2000 { _ = try await proof() }
            say(
                String(
                    format: "%@ proof at size %lld: %.1f us each", name, size,
                    (ContinuousClock.now - clock) / .microseconds(1) / 2000))
        }
        await store.close()
        return Results(
            events: Int(written), replayPerSecond: rebuild.eventsPerSecond,
            hashesPerSecond: Double(hashes.entriesChecked) / hashSeconds,
            signaturesPerSecond: Double(full.signaturesChecked) / fullSeconds
        )
    }
}
