/// The days after a session on which a mood check is expected, and when each day ends.
///
/// One type for the participant's follow-up grid and the `missed_follow_up` rule, so that what the grid
/// shows as missing is exactly what the rule raises, whatever the settings are after a reload. A session's
/// day 0 is its start date in the participant's time zone (the clinic's when the enrolment names none); day
/// `d` ends at the local midnight that closes day 0 + `d`, daylight-saving changes included.
package struct FollowUpSchedule: Sendable, Equatable {
    /// Days 1 to this are checked.
    package var days: Int
    package var zone: CivilZone

    package init(days: Int, zone: CivilZone) {
        self.days = days
        self.zone = zone
    }

    /// Where a day of the grid stands at a given time.
    package enum Status: String, Sendable, Codable, CaseIterable {
        /// A mood check for the day is recorded.
        case checked
        /// The day is over with no mood check.
        case missing
        /// The day is today.
        case due
        /// The day is still to come.
        case upcoming
    }

    /// The date of day `day` after a session that started at `start`.
    package func date(of day: Int, sessionStart start: Timestamp) -> CalendarDate {
        CalendarDate(daysSinceEpoch: zone.date(of: start).daysSinceEpoch + Int64(day))
    }

    /// The instant day `day` after the session is over: the local midnight at its end.
    package func end(of day: Int, sessionStart start: Timestamp) -> Timestamp {
        zone.start(of: date(of: day + 1, sessionStart: start))
    }

    /// The status of day `day` at `now`.
    package func status(of day: Int, sessionStart start: Timestamp, checked: Bool, now: Timestamp) -> Status {
        if checked { return .checked }
        let date = date(of: day, sessionStart: start)
        let today = zone.date(of: now)
        return date < today ? .missing : date == today ? .due : .upcoming
    }
}

extension RuleSettings {
    /// The follow-up schedule of a participant: in their own time zone when the enrolment names one the
    /// time-zone database knows, else in the clinic's.
    package func followUp(participantZone: String?) -> FollowUpSchedule {
        FollowUpSchedule(days: followUpDays, zone: participantZone.flatMap(CivilZone.init(identifier:)) ?? timeZone)
    }
}
