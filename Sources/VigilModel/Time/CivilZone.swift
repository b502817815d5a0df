import Foundation

/// A place's civil time: an IANA time zone (daylight saving included) or a fixed offset from UTC.
///
/// Answers the two questions the deadlines ask: which local date a moment falls on, and when a local date
/// begins. A day is not always 24 hours: the day a zone moves its clocks forward has 23, the day it moves them
/// back 25, and both answers follow the zone's rules for that date.
package struct CivilZone: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    /// The IANA name (`Europe/Oslo`), or `UTC+01:00` for a fixed offset.
    package let identifier: String
    private let calendar: Calendar

    /// A zone of the time-zone database; nil for a name it does not know.
    package init?(identifier: String) {
        // Foundation also accepts abbreviations such as "EST"; only region names and UTC are taken.
        guard identifier == "UTC" || identifier.contains("/"), let zone = TimeZone(identifier: identifier) else {
            return nil
        }
        self.init(identifier: identifier, zone: zone)
    }

    /// A zone that is always `minutes` ahead of UTC (behind when negative).
    package init(utcOffsetMinutes minutes: Int) {
        let sign = minutes < 0 ? "-" : "+"
        let hours = Timestamp.pad(abs(minutes) / 60, 2)
        let rest = Timestamp.pad(abs(minutes) % 60, 2)
        let identifier = minutes == 0 ? "UTC" : "UTC\(sign)\(hours):\(rest)"
        self.init(identifier: identifier, zone: TimeZone(secondsFromGMT: minutes * 60) ?? TimeZone(identifier: "UTC")!)
    }

    private init(identifier: String, zone: TimeZone) {
        self.identifier = identifier
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        self.calendar = calendar
    }

    package static let utc = CivilZone(utcOffsetMinutes: 0)

    package static func == (lhs: CivilZone, rhs: CivilZone) -> Bool { lhs.identifier == rhs.identifier }

    package var description: String { identifier }

    /// Its name only: the calendar inside is Foundation's business.
    package var customMirror: Mirror { Mirror(self, children: ["identifier": identifier]) }

    /// The local date of a moment.
    package func date(of time: Timestamp) -> CalendarDate {
        let parts = calendar.dateComponents([.year, .month, .day], from: time.date)
        return CalendarDate(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1)
            ?? CalendarDate(daysSinceEpoch: 0)
    }

    /// The moment a local date begins: its midnight, or the first moment after it when the clocks skip midnight.
    package func start(of date: CalendarDate) -> Timestamp {
        let (year, month, day) = date.components
        // Noon exists on every date in every zone; the calendar finds that day's first moment from there.
        guard let noon = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: 12)) else {
            return Timestamp(microsecondsSinceEpoch: date.daysSinceEpoch * 86_400_000_000)
        }
        return Timestamp(calendar.startOfDay(for: noon))
    }

    /// Whether a local date falls on a Saturday or a Sunday.
    package func isWeekend(_ date: CalendarDate) -> Bool {
        // 1970-01-01 was a Thursday: day 0 is weekday 3 counting Monday as 0.
        let weekday = (date.daysSinceEpoch + 3).floorModulo(7)
        return weekday >= 5
    }

    /// The end of the business day after the one containing `time` (weekends skipped): the deadline of a report
    /// due "within one business day".
    package func endOfNextBusinessDay(after time: Timestamp) -> Timestamp {
        var date = CalendarDate(daysSinceEpoch: self.date(of: time).daysSinceEpoch + 1)
        while isWeekend(date) { date = CalendarDate(daysSinceEpoch: date.daysSinceEpoch + 1) }
        return start(of: CalendarDate(daysSinceEpoch: date.daysSinceEpoch + 1))
    }
}

extension Timestamp {
    init(_ date: Date) {
        self.init(microsecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1_000_000).rounded()))
    }

    var date: Date { Date(timeIntervalSince1970: Double(microsecondsSinceEpoch) / 1_000_000) }
}

extension Int64 {
    func floorModulo(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
