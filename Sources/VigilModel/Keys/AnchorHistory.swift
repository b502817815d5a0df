/// A change to the configured trust anchors, effective after the log had `logSize` entries.
package struct AnchorChange: Sendable, Equatable {
    package enum Kind: String, Sendable {
        case added
        case removed
    }

    package var logSize: Int64
    package var anchor: TrustAnchor
    package var kind: Kind

    package init(logSize: Int64, anchor: TrustAnchor, kind: Kind) {
        self.logSize = logSize
        self.anchor = anchor
        self.kind = kind
    }
}

/// Replays the key registry along the log: anchor changes and key events, each at its place.
///
/// Used by the writer at start-up and by the offline verifier, so both see the same registry at every
/// position. Call ``advance(to:)`` before checking the event at a position, then ``apply(_:at:)`` after.
package struct RegistryReplay: Sendable {
    package private(set) var registry = KeyRegistry()
    private let changes: [AnchorChange]
    private var nextChange = 0

    /// - Parameter anchorChanges: in the order they were recorded (their log sizes never decrease).
    package init(anchorChanges: [AnchorChange]) {
        self.changes = anchorChanges
    }

    /// Goes on from `registry`, the registry at some position, with the anchor changes that take effect after it.
    package init(continuing registry: KeyRegistry, anchorChanges: [AnchorChange]) {
        self.registry = registry
        self.changes = anchorChanges
    }

    /// Applies every anchor change that took effect before `position`.
    package mutating func advance(to position: Int64) {
        while nextChange < changes.count, changes[nextChange].logSize < position {
            let change = changes[nextChange]
            switch change.kind {
            case .added: registry.add(anchor: change.anchor)
            case .removed: registry.remove(anchor: change.anchor.keyID)
            }
            nextChange += 1
        }
    }

    package mutating func apply(_ payload: EventPayload, at position: Int64) {
        registry.apply(payload, at: position)
    }

    package mutating func apply(_ change: KeyChange, at position: Int64) {
        registry.apply(change, at: position)
    }

    /// The anchors in force after all of `changes` (in recorded order), by key id.
    package static func currentAnchors(_ changes: [AnchorChange]) -> [KeyID: TrustAnchor] {
        var anchors: [KeyID: TrustAnchor] = [:]
        for change in changes {
            switch change.kind {
            case .added: anchors[change.anchor.keyID] = change.anchor
            case .removed: anchors[change.anchor.keyID] = nil
            }
        }
        return anchors
    }
}
