/// An instant, as whole microseconds since 1970-01-01T00:00:00Z.
///
/// Parsed from RFC 3339 date-times that carry a zone (`Z` or `±hh:mm`); fractions beyond microseconds are
/// truncated. Printed in UTC with microseconds, so that printing and parsing round-trip exactly.
package struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var microsecondsSinceEpoch: Int64

    package init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    package static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    package func adding(microseconds: Int64) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: microsecondsSinceEpoch + microseconds)
    }

    package func adding(seconds: Int64) -> Timestamp {
        adding(microseconds: seconds * 1_000_000)
    }

    package var description: String { rfc3339 }

    /// Parses an RFC 3339 `date-time`, for example `2026-11-21T10:15:00Z` or `2026-11-21T11:15:00.5+01:00`.
    ///
    /// `T` and `Z` may be lower case (RFC 3339 section 5.6). A leap second (`:60`) is read as the last
    /// microsecond of that minute. Returns nil for anything else, including a date-time without a zone.
    package init?(rfc3339 text: String) {
        guard text.utf8.count >= 20, text.utf8.count <= 64 else { return nil }
        // A fixed-size copy on the stack, not an array on the heap: this runs for every event decoded.
        var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        let parsed: Timestamp?? = withUnsafeMutableBytes(of: &storage) { raw in
            let buffer = raw.bindMemory(to: UInt8.self)
            let count = text.utf8.count
            _ = UnsafeMutableBufferPointer(rebasing: buffer[0..<count]).initialize(from: text.utf8)
            return Timestamp.parse(UnsafeMutableBufferPointer(rebasing: buffer[0..<count]))
        }
        guard let parsed, let parsed else { return nil }
        self = parsed
    }

    private static func parse(_ utf8: UnsafeMutableBufferPointer<UInt8>) -> Timestamp? {
        // Normalise the case-insensitive letters.
        if utf8[10] == UInt8(ascii: "t") { utf8[10] = UInt8(ascii: "T") }
        if utf8.last == UInt8(ascii: "z") { utf8[utf8.count - 1] = UInt8(ascii: "Z") }
        guard let date = CalendarDate.parse(UnsafeBufferPointer(rebasing: utf8[0..<10])),
            utf8[10] == UInt8(ascii: "T"),
            let hour = Self.twoDigits(utf8, 11), utf8[13] == UInt8(ascii: ":"),
            let minute = Self.twoDigits(utf8, 14), utf8[16] == UInt8(ascii: ":"),
            let second = Self.twoDigits(utf8, 17),
            hour < 24, minute < 60, second <= 60
        else { return nil }
        var index = 19
        var micros: Int64 = 0
        if utf8[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < utf8.count, let digit = Self.digit(utf8[index]) {
                if digits < 6 { micros = micros * 10 + Int64(digit) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 6) { micros *= 10 }
        }
        guard index < utf8.count else { return nil }
        var offsetSeconds: Int64 = 0
        switch utf8[index] {
        case UInt8(ascii: "Z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign: Int64 = utf8[index] == UInt8(ascii: "+") ? 1 : -1
            guard utf8.count == index + 6,
                let offsetHour = Self.twoDigits(utf8, index + 1), utf8[index + 3] == UInt8(ascii: ":"),
                let offsetMinute = Self.twoDigits(utf8, index + 4),
                offsetHour < 24, offsetMinute < 60
            else { return nil }
            offsetSeconds = sign * Int64(offsetHour * 3600 + offsetMinute * 60)
            index += 6
        default:
            return nil
        }
        guard index == utf8.count else { return nil }
        var seconds = date.daysSinceEpoch * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59))
        if second == 60 { micros = 999_999 }
        seconds -= offsetSeconds
        return Timestamp(microsecondsSinceEpoch: seconds * 1_000_000 + micros)
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC.
    package var rfc3339: String {
        let micros = microsecondsSinceEpoch.modulo(1_000_000)
        let seconds = (microsecondsSinceEpoch - micros) / 1_000_000
        let secondOfDay = seconds.modulo(86_400)
        let (year, month, day) = CalendarDate(daysSinceEpoch: (seconds - secondOfDay) / 86_400).components
        return String(unsafeUninitializedCapacity: 27) { buffer in
            var at = 0
            func put(_ value: Int, _ width: Int) {
                var value = value
                for index in stride(from: width - 1, through: 0, by: -1) {
                    buffer[at + index] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
                at += width
            }
            func put(_ byte: Character) {
                buffer[at] = byte.asciiValue!
                at += 1
            }
            put(year, 4)
            put("-")
            put(month, 2)
            put("-")
            put(day, 2)
            put("T")
            put(Int(secondOfDay / 3600), 2)
            put(":")
            put(Int(secondOfDay % 3600 / 60), 2)
            put(":")
            put(Int(secondOfDay % 60), 2)
            put(".")
            put(Int(micros), 6)
            put("Z")
            return at
        }
    }

    static func digit(_ byte: UInt8) -> Int? {
        byte >= 0x30 && byte <= 0x39 ? Int(byte - 0x30) : nil
    }

    /// Two decimal digits at offset `at` of zero-based bytes.
    static func twoDigits<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, _ at: Int) -> Int?
    where Bytes.Index == Int {
        guard at + 1 < bytes.count, let high = digit(bytes[at]), let low = digit(bytes[at + 1]) else { return nil }
        return high * 10 + low
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

/// A calendar date without a time or zone (`YYYY-MM-DD`, proleptic Gregorian), such as an adverse event's onset.
package struct CalendarDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var daysSinceEpoch: Int64

    package init(daysSinceEpoch: Int64) {
        self.daysSinceEpoch = daysSinceEpoch
    }

    package init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
            day >= 1, day <= CalendarDate.daysInMonth(year: year, month: month)
        else { return nil }
        self.daysSinceEpoch = CalendarDate.daysFromCivil(year: Int64(year), month: Int64(month), day: Int64(day))
    }

    /// Parses `YYYY-MM-DD`, refusing impossible dates such as 2026-02-30.
    package init?(iso8601 text: String) {
        guard let date = CalendarDate.parse(Array(text.utf8)), text.utf8.count == 10 else { return nil }
        self = date
    }

    /// `YYYY-MM-DD` in zero-based bytes.
    static func parse<Bytes: RandomAccessCollection<UInt8>>(_ b: Bytes) -> CalendarDate? where Bytes.Index == Int {
        guard b.count == 10 else { return nil }
        guard b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return nil }
        var year = 0
        for i in 0..<4 {
            guard let d = Timestamp.digit(b[i]) else { return nil }
            year = year * 10 + d
        }
        guard let month = Timestamp.twoDigits(b, 5), let day = Timestamp.twoDigits(b, 8) else { return nil }
        return CalendarDate(year: year, month: month, day: day)
    }

    package static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        lhs.daysSinceEpoch < rhs.daysSinceEpoch
    }

    package var components: (year: Int, month: Int, day: Int) {
        CalendarDate.civilFromDays(daysSinceEpoch)
    }

    package var iso8601: String {
        let (year, month, day) = components
        return Timestamp.pad(year, 4) + "-" + Timestamp.pad(month, 2) + "-" + Timestamp.pad(day, 2)
    }

    package var description: String { iso8601 }

    static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Howard Hinnant's days_from_civil.
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Howard Hinnant's civil_from_days.
    static func civilFromDays(_ days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }
}

extension Int64 {
    /// The quotient rounded toward negative infinity (days before 1970 belong to the earlier day).
    package func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    /// The mathematical modulo (never negative for a positive divisor).
    func modulo(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}

extension Timestamp {
    /// An RFC 3339 time, or a date (`YYYY-MM-DD`, UTC) read as its first microsecond, or its last with
    /// `endOfDay`: the ends of a range that includes both.
    package init?(dateOrTime text: String, endOfDay: Bool = false) {
        if let time = Timestamp(rfc3339: text) {
            self = time
            return
        }
        guard let date = CalendarDate(iso8601: text) else { return nil }
        let start = date.daysSinceEpoch * 86_400_000_000
        self.init(microsecondsSinceEpoch: endOfDay ? start + 86_399_999_999 : start)
    }

    /// The range from `from` to `to`, both included, each an RFC 3339 time or a date (from its first
    /// microsecond to the last of `to`); nil when either does not read or `from` comes after `to`.
    package static func range(from: String?, to: String?) -> ClosedRange<Timestamp>? {
        guard let first = from.flatMap({ Timestamp(dateOrTime: $0) }),
            let last = to.flatMap({ Timestamp(dateOrTime: $0, endOfDay: true) }), first <= last
        else { return nil }
        return first...last
    }
}
