/// The days after a session on which a mood check is expected, and when each day ends.
///
/// One type for the participant's follow-up grid and the `missed_follow_up` rule, so that what the grid
/// shows as missing is exactly what the rule raises, whatever the settings are after a reload. A session's
/// day 0 is its start date at the clinic's offset from UTC; day `d` ends at the clinic's midnight that closes
/// day 0 + `d`.
public struct FollowUpSchedule: Sendable, Equatable {
    /// Days 1 to this are checked.
    public var days: Int
    public var utcOffsetMinutes: Int

    public init(days: Int, utcOffsetMinutes: Int) {
        self.days = days
        self.utcOffsetMinutes = utcOffsetMinutes
    }

    /// Where a day of the grid stands at a given time.
    public enum Status: String, Sendable, Codable, CaseIterable {
        /// A mood check for the day is recorded.
        case checked
        /// The day is over with no mood check.
        case missing
        /// The day is today.
        case due
        /// The day is still to come.
        case upcoming
    }

    static let day: Int64 = 86_400_000_000

    private var offset: Int64 { Int64(utcOffsetMinutes) * 60_000_000 }

    /// The clinic's date of a time, as days since 1970-01-01.
    public func dayNumber(of time: Timestamp) -> Int64 {
        (time.microsecondsSinceEpoch + offset).floorDivided(by: Self.day)
    }

    /// The date of day `day` after a session that started at `start`.
    public func date(of day: Int, sessionStart start: Timestamp) -> CalendarDate {
        CalendarDate(daysSinceEpoch: dayNumber(of: start) + Int64(day))
    }

    /// The instant day `day` after the session is over: the clinic's midnight at its end.
    public func end(of day: Int, sessionStart start: Timestamp) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: (dayNumber(of: start) + Int64(day) + 1) * Self.day - offset)
    }

    /// The status of day `day` at `now`.
    public func status(of day: Int, sessionStart start: Timestamp, checked: Bool, now: Timestamp) -> Status {
        if checked { return .checked }
        let date = dayNumber(of: start) + Int64(day)
        let today = dayNumber(of: now)
        return date < today ? .missing : date == today ? .due : .upcoming
    }
}

extension RuleSettings {
    /// The follow-up schedule these settings describe.
    public var followUp: FollowUpSchedule {
        FollowUpSchedule(days: followUpDays, utcOffsetMinutes: utcOffsetMinutes)
    }
}
