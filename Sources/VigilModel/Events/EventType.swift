/// The role a key holds, which decides what it may sign.
package enum Role: String, Sendable, CaseIterable, Hashable {
    case admin
    case pharmacist
    case clinician
    case device
    case safetyOfficer = "safety_officer"
    /// The daemon's own key, which signs alerts and log heads. Never registered through `key.registered`.
    case daemon

    /// The roles a `key.registered` event may grant.
    package static let registrable: [Role] = [.admin, .pharmacist, .clinician, .device, .safetyOfficer]
}

/// The event types of catalogue v1 (docs/protocol.md §2, "Catalogue").
package enum EventType: String, Sendable, CaseIterable, Hashable {
    case keyRegistered = "key.registered"
    case keyRevoked = "key.revoked"
    case participantEnrolled = "participant.enrolled"
    case participantMedicationChanged = "participant.medication_changed"
    case sessionStarted = "session.started"
    case sessionEnded = "session.ended"
    case inventoryReceived = "inventory.received"
    case doseDispensed = "dose.dispensed"
    case doseWasted = "dose.wasted"
    case inventoryDestroyed = "inventory.destroyed"
    case inventoryCounted = "inventory.counted"
    case inventoryLossReported = "inventory.loss_reported"
    case inventoryLossReportFiled = "inventory.loss_report_filed"
    case vitalsRecorded = "vitals.recorded"
    case adverseEventReported = "adverse_event.reported"
    case adverseEventUpdated = "adverse_event.updated"
    case adverseEventSubmitted = "adverse_event.submitted"
    case moodCheckCompleted = "mood_check.completed"
    case alertRaised = "alert.raised"
    case alertAcknowledged = "alert.acknowledged"
    case alertResolved = "alert.resolved"

    /// The roles whose keys may author (sign first) an event of this type.
    package var authorRoles: Set<Role> {
        switch self {
        case .keyRegistered, .keyRevoked: [.admin]
        case .participantEnrolled, .participantMedicationChanged, .sessionStarted, .sessionEnded: [.clinician]
        case .inventoryReceived, .doseDispensed, .doseWasted, .inventoryDestroyed, .inventoryCounted,
            .inventoryLossReported:
            [.pharmacist]
        case .inventoryLossReportFiled: [.pharmacist, .safetyOfficer]
        case .vitalsRecorded: [.clinician, .device]
        case .adverseEventReported: [.clinician]
        case .adverseEventUpdated: [.clinician, .safetyOfficer]
        case .adverseEventSubmitted: [.safetyOfficer]
        case .moodCheckCompleted: [.clinician]
        case .alertRaised: [.daemon]
        case .alertAcknowledged, .alertResolved: [.safetyOfficer]
        }
    }

    /// How many witness signatures the record calls for (DEA Form 41: two for destruction; policy: one for
    /// waste, counts and losses). Fewer are stored, and the alert engine flags them. A dispense takes an optional
    /// witness, required only where the clinic's policy says so (`rules.dispenseWitnessRequired`).
    package var requiredWitnesses: Int {
        switch self {
        case .doseWasted, .inventoryCounted, .inventoryLossReported: 1
        case .inventoryDestroyed: 2
        default: 0
        }
    }

    /// Whether witness signatures are meaningful for this type at all.
    package var takesWitnesses: Bool { requiredWitnesses > 0 || self == .doseDispensed }

    /// The roles whose keys may witness an event.
    package static let witnessRoles: Set<Role> = [.pharmacist, .clinician]

    /// Whether the payload must name a participant.
    package var requiresParticipant: Bool {
        switch self {
        case .participantEnrolled, .participantMedicationChanged, .sessionStarted, .sessionEnded, .doseDispensed,
            .vitalsRecorded, .adverseEventReported, .adverseEventUpdated, .adverseEventSubmitted, .moodCheckCompleted:
            true
        default:
            false
        }
    }

    /// Whether the payload must name a session.
    package var requiresSession: Bool {
        switch self {
        case .sessionStarted, .sessionEnded, .doseDispensed, .vitalsRecorded, .moodCheckCompleted: true
        default: false
        }
    }
}
