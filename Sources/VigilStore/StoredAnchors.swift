package import Logging
package import VigilModel

/// The trust anchors and key events as every backend keeps them in its rows.
package enum StoredAnchors {
    /// What changed between the anchors `recorded` (the history in the store) and those `configured` now:
    /// removals first, then additions, each in key id order, effective from `logSize`.
    package static func changes(recorded: [AnchorChange], configured: [TrustAnchor], logSize: Int64) -> [AnchorChange] {
        let current = RegistryReplay.currentAnchors(recorded)
        let wanted = Dictionary(configured.map { ($0.keyID, $0) }, uniquingKeysWith: { first, _ in first })
        var changes: [AnchorChange] = []
        for (id, anchor) in current.sorted(by: { $0.key < $1.key }) where wanted[id] != anchor {
            changes.append(AnchorChange(logSize: logSize, anchor: anchor, kind: .removed))
        }
        for (id, anchor) in wanted.sorted(by: { $0.key < $1.key }) where current[id] != anchor {
            changes.append(AnchorChange(logSize: logSize, anchor: anchor, kind: .added))
        }
        return changes
    }

    /// Applies a change just recorded to the registry at the head, and logs it.
    package static func apply(_ change: AnchorChange, to registry: inout KeyRegistry, logger: Logger) {
        switch change.kind {
        case .added: registry.add(anchor: change.anchor)
        case .removed: registry.remove(anchor: change.anchor.keyID)
        }
        logger.notice(
            "trust anchor \(change.kind.rawValue)",
            metadata: [
                "key.id": "\(change.anchor.keyID.hex)", "key.role": "\(change.anchor.role.rawValue)",
                "store.size": "\(change.logSize)",
            ]
        )
    }

    /// A row of `trust_anchors` as the change it records.
    package static func change(
        logSize: Int64, publicKey: [UInt8], role: String, name: String, kind: String
    ) throws(StoreError) -> AnchorChange {
        guard let role = Role(rawValue: role), let kind = AnchorChange.Kind(rawValue: kind) else {
            throw StoreError(.corrupt, "the trust anchor history holds an unknown role or change")
        }
        return AnchorChange(
            logSize: logSize, anchor: TrustAnchor(publicKey: publicKey, role: role, name: name), kind: kind)
    }

    /// A row of `key_events` as the change it records.
    package static func keyChange(
        position: Int64, keyID: [UInt8], change: String, publicKey: [UInt8]?, role: String?, name: String?
    ) throws(StoreError) -> KeyChange {
        if change == "revoked" {
            guard keyID.count == 32, let id = KeyID(hex: Hex.encode(keyID)) else {
                throw StoreError(.corrupt, "a key event at position \(position) names a malformed key id")
            }
            return .revoked(id)
        }
        guard let publicKey, let role = role.flatMap(Role.init(rawValue:)), let name else {
            throw StoreError(.corrupt, "a key registration at position \(position) is incomplete")
        }
        return .registered(KeyRegistered(publicKey: publicKey, name: name, role: role))
    }
}
