/// Closed vocabularies used by the event catalogue. Raw values are the wire form.

package enum DoseKind: String, Sendable, CaseIterable, Hashable {
    case initial
    case supplemental
}

/// What happened to controlled substance reported lost (DEA Form 106).
package enum LossKind: String, Sendable, CaseIterable, Hashable {
    case theft
    case loss
    case damage
}

package enum MedicationAction: String, Sendable, CaseIterable, Hashable {
    case started
    case stopped
}

/// ICH E2A seriousness criteria.
package enum SeriousnessCriterion: String, Sendable, CaseIterable, Hashable {
    case death
    case lifeThreatening = "life_threatening"
    case hospitalization
    case disability
    case congenitalAnomaly = "congenital_anomaly"
    case medicallyImportant = "medically_important"
}

/// Outcome of an adverse event (after FHIR R4 AdverseEvent.outcome).
package enum AdverseEventOutcome: String, Sendable, CaseIterable, Hashable {
    case resolved
    case recovering
    case ongoing
    case resolvedWithSequelae = "resolved_with_sequelae"
    case fatal
    case unknown
}

/// Alert severities, lowest first.
package enum AlertSeverity: String, Sendable, CaseIterable, Hashable, Comparable {
    case info
    case warn
    case urgent
    case critical

    private var rank: Int {
        switch self {
        case .info: 0
        case .warn: 1
        case .urgent: 2
        case .critical: 3
        }
    }

    package static func < (lhs: AlertSeverity, rhs: AlertSeverity) -> Bool { lhs.rank < rhs.rank }
}

/// The safety rules of docs/safety-rules.md, by their stable ids.
package enum AlertRule: String, Sendable, CaseIterable, Hashable {
    case doseRegimen = "dose_regimen"
    case supplementalTiming = "supplemental_timing"
    case doseCount = "dose_count"
    case sessionSpacing = "session_spacing"
    case hypertension
    case tachycardia
    case temperature
    case serotonergicComedication = "serotonergic_comedication"
    case seriousAdverseEvent = "serious_adverse_event"
    case expeditedReportDue = "expedited_report_due"
    case cssrsHighRisk = "cssrs_high_risk"
    case phq9
    case missedFollowUp = "missed_follow_up"
    case lowMood = "low_mood"
    case countDiscrepancy = "count_discrepancy"
    case missingWitness = "missing_witness"
    case inventoryNegative = "inventory_negative"
    case lossReportDue = "loss_report_due"
    case inventoryOverdue = "inventory_overdue"
    case integrityFailure = "integrity_failure"
}
