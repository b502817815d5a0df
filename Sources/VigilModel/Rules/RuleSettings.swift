/// The thresholds of the safety rules (docs/safety-rules.md), every one configurable under `rules.*`.
///
/// Defaults are the published figures: the phase 3 regimen (MAPP1/2), CTCAE grades, C-SSRS and PHQ-9 triage,
/// 21 CFR 312.32 clocks, DEA practice. Where a number is our own choice, the comment says so.
package struct RuleSettings: Sendable, Equatable {
    // dose_regimen (MAPP1/2)
    /// Initial doses of the regimen, mg.
    package var initialDosesMg: [Double] = [80, 120]
    /// The most a session may total, mg.
    package var maxSessionTotalMg: Double = 180
    // supplemental_timing (MAPP windows)
    package var supplementalMinMinutes: Double = 90
    package var supplementalMaxMinutes: Double = 150
    // dose_count (MAPP1/2)
    package var maxDosesPerSession = 2
    package var maxSessionsPerCourse = 3
    // session_spacing (phase 2/3)
    package var minDaysBetweenSessions: Double = 21
    // hypertension (CTCAE grade 3; exclusion criteria)
    package var hypertensionSystolic: Double = 160
    package var hypertensionDiastolic: Double = 100
    /// Before the first dose of a session, readings at or above these call for dosing caution.
    package var cautionSystolic: Double = 140
    package var cautionDiastolic: Double = 90
    // tachycardia (healthy-volunteer rates; escalation is our choice)
    package var tachycardiaWarnAbove: Double = 100
    package var tachycardiaUrgentAbove: Double = 120
    /// This many readings above the warning rate in one session are urgent.
    package var tachycardiaUrgentCount = 3
    // temperature (CTCAE fever grades)
    package var temperatureWarnAtC: Double = 38.0
    package var temperatureUrgentAboveC: Double = 39.0
    package var temperatureCriticalAboveC: Double = 40.0
    // expedited_report_due (312.32; reminder days are our choice)
    /// Reminder day for a report due on day 7 (fatal or life-threatening).
    package var reminderDayForSevenDayReports = 5
    /// Reminder day for a report due on day 15.
    package var reminderDayForFifteenDayReports = 12
    // phq9 (PHQ-9 scoring)
    package var phq9WarnTotal = 15
    // missed_follow_up (MAPS manual 2005)
    /// Follow-up days checked after each session: 1 to this.
    package var followUpDays = 7
    /// The clinic's time zone: a follow-up day ends at midnight there (unless the participant's enrolment names
    /// a zone of their own), and business days for DEA loss reports are counted there.
    package var timeZone = CivilZone.utc
    // low_mood (2025 study; threshold is our choice)
    /// Days 1 to this after a session are the low-mood window.
    package var lowMoodWindowDays = 3
    /// A drop of this many points (0-10 scale) below the participant's baseline is "clearly below".
    package var lowMoodDrop = 3
    // missing_witness (Form 41; policy)
    /// Whether a dispense needs a witness signature (clinic policy; DEA does not require one).
    package var dispenseWitnessRequired = false
    // count_discrepancy (DEA; cabinet practice)
    package var countToleranceMg: Double = 0
    // inventory_overdue (biennial inventory)
    package var inventoryOverdueDays = 730

    package init() {}

    /// When a theft or loss discovered at `discovered` must be reported to the DEA: by the end of the next
    /// business day in the clinic's zone (21 CFR 1301.76(b)). The reminder's message and the overdue deadline
    /// both use it.
    package func lossReportDue(discoveredAt discovered: Timestamp) -> Timestamp {
        timeZone.endOfNextBusinessDay(after: discovered)
    }

    package static let `default` = RuleSettings()
}
