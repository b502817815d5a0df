import Dispatch
import Foundation
import GRDB
import Synchronization
import VigilModel

// Signatures: verified on every core while the next chunk is read, or paced on one thread; and the key
// registry's copy compared with what the log says.

extension LogVerifier.Run {
    /// Starts verifying signatures on every core, without waiting; ``finishVerifying()`` collects. A paced
    /// check verifies them here and now, on its own thread.
    mutating func startVerifying(_ pending: [LogVerifier.PendingSignature], messages: [[UInt8]]) {
        guard !pending.isEmpty else { return }
        if options.share != nil {
            signaturesChecked += Int64(pending.count)
            if let bad = pending.first(where: { !$0.key.isValidSignature($0.signature, for: messages[$0.message]) }) {
                fail(bad.position, "a signature does not verify")
            }
            return
        }
        // Slices small enough that the cores finish together, large enough to cost nothing to queue.
        let slice = 256
        let workers = (pending.count + slice - 1) / slice
        let group = DispatchGroup()
        let verdict = LogVerifier.SignatureVerdict()
        for worker in 0..<workers {
            let start = worker * slice
            let end = min(start + slice, pending.count)
            guard start < end else { continue }
            DispatchQueue.global().async(group: group) {
                for index in start..<end {
                    let item = pending[index]
                    if !item.key.isValidSignature(item.signature, for: messages[item.message]) {
                        verdict.firstBad.withLock { $0 = min($0, item.position) }
                        return
                    }
                }
            }
        }
        signaturesChecked += Int64(pending.count)
        inFlight = (group, verdict)
    }

    /// Waits for the signatures under way, and records the first that does not verify.
    mutating func finishVerifying() {
        guard let (group, verdict) = inFlight else { return }
        group.wait()
        inFlight = nil
        let bad = verdict.firstBad.withLock { $0 }
        if bad != .max { fail(bad, "a signature does not verify") }
    }

    /// The key_events table is a copy the writer loads at start; it must match what the log says.
    mutating func compareKeyEvents() throws {
        var seen: Set<Int64> = []
        for (position, stored) in try log.keyEvents() {
            seen.insert(position)
            if options.checkSignatures, stored != derivedKeyChanges[position] {
                fail(position, "the key_events table disagrees with the key event in the log")
            }
        }
        if options.checkSignatures {
            for position in derivedKeyChanges.keys where !seen.contains(position) {
                fail(position, "the key event at this position is missing from the key_events table")
            }
        }
    }
}
