import Testing
import VigilModel
import VigilTestSupport

@Suite struct KeyRegistryTests {
    let keys = TestKeys()

    func registry() -> KeyRegistry {
        var registry = KeyRegistry(anchors: keys.anchors)
        for (index, entry) in keys.registrable.enumerated() {
            registry.apply(
                Fixtures.registration(of: entry.key, role: entry.role, name: entry.name), at: Int64(index + 1))
        }
        return registry
    }

    func envelope(_ payload: EventPayload, _ author: SigningKey, _ witnesses: [SigningKey] = []) -> Envelope {
        Envelope.sign(payload: payload.jsonBytes, author: author, witnesses: witnesses)
    }

    func code(_ body: () throws -> Void) -> IngestError.Code? {
        do {
            try body()
            return nil
        } catch let error as IngestError {
            return error.code
        } catch {
            return nil
        }
    }

    @Test func authorsNeedARoleThatMayAuthorTheType() {
        let registry = registry()
        let vitals = Fixtures.vitals()
        #expect(code { try registry.authorize(envelope(vitals, keys.clinician), payload: vitals) } == nil)
        #expect(code { try registry.authorize(envelope(vitals, keys.device), payload: vitals) } == nil)
        #expect(code { try registry.authorize(envelope(vitals, keys.pharmacist), payload: vitals) } == .forbiddenType)
        #expect(code { try registry.authorize(envelope(vitals, keys.admin), payload: vitals) } == .forbiddenType)
        let registration = Fixtures.registration(of: SigningKey(), role: .clinician, name: "New")
        #expect(
            code { try registry.authorize(envelope(registration, keys.officer), payload: registration) }
                == .forbiddenType)
        #expect(code { try registry.authorize(envelope(registration, keys.admin), payload: registration) } == nil)
    }

    @Test func unknownAndRevokedKeysAreRefused() {
        var registry = registry()
        let vitals = Fixtures.vitals()
        #expect(code { try registry.authorize(envelope(vitals, SigningKey()), payload: vitals) } == .unknownKey)
        registry.apply(Fixtures.revocation(of: keys.clinician), at: 100)
        #expect(code { try registry.authorize(envelope(vitals, keys.clinician), payload: vitals) } == .revokedKey)
        #expect(registry[keys.clinician.id]?.revokedAt == 100)
    }

    @Test func witnessesMustBePharmacistsOrCliniciansInGoodStanding() {
        var registry = registry()
        let waste = Fixtures.wasted()
        #expect(
            code { try registry.authorize(envelope(waste, keys.pharmacist, [keys.clinician]), payload: waste) } == nil)
        #expect(
            code { try registry.authorize(envelope(waste, keys.pharmacist, [keys.pharmacist2]), payload: waste) } == nil
        )
        // A missing witness is stored; the alert engine flags it.
        #expect(code { try registry.authorize(envelope(waste, keys.pharmacist), payload: waste) } == nil)
        #expect(
            code { try registry.authorize(envelope(waste, keys.pharmacist, [keys.device]), payload: waste) }
                == .forbiddenType)
        #expect(
            code { try registry.authorize(envelope(waste, keys.pharmacist, [SigningKey()]), payload: waste) }
                == .unknownKey)
        registry.apply(Fixtures.revocation(of: keys.clinician), at: 100)
        #expect(
            code { try registry.authorize(envelope(waste, keys.pharmacist, [keys.clinician]), payload: waste) }
                == .revokedKey)
        let vitals = Fixtures.vitals()
        #expect(
            code { try registry.authorize(envelope(vitals, keys.clinician2, [keys.pharmacist]), payload: vitals) }
                == .forbiddenType)
    }

    @Test func keyEventsMustMakeSense() {
        var registry = registry()
        let again = Fixtures.registration(of: keys.clinician, role: .admin, name: "Promoted")
        #expect(code { try registry.authorize(envelope(again, keys.admin), payload: again) } == .invalidEvent)
        let stranger = Fixtures.revocation(of: SigningKey())
        #expect(code { try registry.authorize(envelope(stranger, keys.admin), payload: stranger) } == .invalidEvent)
        let revoke = Fixtures.revocation(of: keys.device)
        #expect(code { try registry.authorize(envelope(revoke, keys.admin), payload: revoke) } == nil)
        registry.apply(revoke, at: 50)
        #expect(code { try registry.authorize(envelope(revoke, keys.admin), payload: revoke) } == .invalidEvent)
    }

    @Test func revokedAnchorsStayRevokedWhenConfiguredAgain() {
        var registry = KeyRegistry(anchors: keys.anchors)
        registry.apply(Fixtures.revocation(of: keys.admin), at: 3)
        registry.remove(anchor: keys.admin.id)
        registry.add(anchor: keys.anchors[0])
        #expect(registry[keys.admin.id]?.revokedAt == 3)
    }

    @Test func replayAppliesAnchorChangesAtTheirPlace() {
        let other = SigningKey()
        let changes = [
            AnchorChange(logSize: 0, anchor: keys.anchors[0], kind: .added),
            AnchorChange(
                logSize: 5, anchor: TrustAnchor(publicKey: other.publicKey, role: .admin, name: "Second"), kind: .added),
            AnchorChange(logSize: 8, anchor: keys.anchors[0], kind: .removed),
        ]
        var replay = RegistryReplay(anchorChanges: changes)
        replay.advance(to: 5)
        #expect(replay.registry[other.id] == nil)
        replay.advance(to: 6)
        #expect(replay.registry[other.id] != nil)
        #expect(replay.registry[keys.admin.id] != nil)
        replay.advance(to: 9)
        #expect(replay.registry[keys.admin.id] == nil)
        #expect(RegistryReplay.currentAnchors(changes).keys.sorted() == [other.id])
    }
}
