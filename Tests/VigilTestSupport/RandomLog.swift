package import VigilModel
package import VigilStore

/// A random but valid log: the cast's registrations, then `count` events in all, of every type, by signers
/// of the right roles. Built on every core; the same seed gives the same log.
package func randomLog(keys: TestKeys, count: Int, seed: UInt64 = 7) async -> [VerifiedEvent] {
    let now = Timestamp(rfc3339: "2026-11-01T00:00:00Z")!
    let registrations = keys.verifiedRegistrations(at: now)
    let chunks = 16
    let perChunk = (count - registrations.count + chunks - 1) / chunks
    let parts = await Parallel.map(Array(0..<chunks), minimumChunk: 1) { chunk in
        randomEvents(
            keys: keys, count: min(perChunk, count - registrations.count - chunk * perChunk),
            seed: seed &+ UInt64(chunk), now: now)
    }
    return registrations + parts.flatMap { $0 }
}

package func randomEvents(keys: TestKeys, count: Int, seed: UInt64, now: Timestamp) -> [VerifiedEvent] {
    var rng = SplitMix(seed: seed)
    var events: [VerifiedEvent] = []
    events.reserveCapacity(max(0, count))
    let participants = (0..<200).map { "P-\(1000 + $0)" }
    while events.count < count {
        var payload = RandomEvents.payload(using: &rng, now: now)
        guard let author = keys.author(of: payload.type) else { continue }
        // Few participants, sessions and lots, so views accumulate many events each.
        let participant = participants.randomElement(using: &rng)!
        if payload.participant != nil { payload.participant = participant }
        if payload.session != nil { payload.session = participant + "-S\(Int.random(in: 1...3, using: &rng))" }
        switch payload.data {
        case .doseDispensed(var body):
            body.lot = "L-\(Int.random(in: 1...5, using: &rng))"
            payload.data = .doseDispensed(body)
        case .inventoryReceived(var body):
            body.lot = "L-\(Int.random(in: 1...5, using: &rng))"
            payload.data = .inventoryReceived(body)
        default:
            break
        }
        events.append(Fixtures.verified(payload, by: author, witnesses: keys.witnesses(of: payload.type)))
    }
    return events
}

package struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    package init(seed: UInt64) { state = seed }
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
