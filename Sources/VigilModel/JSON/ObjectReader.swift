/// The name of a field a JSON object may carry.
///
/// A plain `String` for objects whose keys are listed where they are read (proof bundles, backup manifests), or a
/// case of a ``DeclaredFields`` enum, which lists an event body's fields once for its reader and its encoder.
package protocol FieldName: Sendable {
    var fieldName: String { get }
}

extension String: FieldName {
    package var fieldName: String { self }
}

/// The fields of one kind of object, declared once as the cases of a string enum: a ``FieldReader`` over them
/// refuses every other key and reads only these, and a ``FieldWriter`` writes only these.
package protocol DeclaredFields: FieldName, RawRepresentable<String>, CaseIterable, Hashable {}

extension DeclaredFields {
    package var fieldName: String { rawValue }
}

/// The fields of an object that carries none (`session.ended`'s data).
package enum NoFields: DeclaredFields {
    package init?(rawValue: String) { nil }
    package var rawValue: String { switch self {} }
    package static var allCases: [NoFields] { [] }
}

/// A reader over string keys listed where it is made.
package typealias ObjectReader = FieldReader<String>

/// Reads the fields of a JSON object into typed values, naming the field in every error.
///
/// Every reader first knows the keys it accepts: the cases of `Key` (``init(_:path:)``), or a set given when it is
/// made (``init(_:path:allowed:)``); any other key is refused, so a typo such as `hartRate` fails loudly instead of
/// being dropped. An explicit `null` is refused too: an absent field is written by omitting it.
package struct FieldReader<Key: FieldName>: Sendable {
    package let object: JSONObject
    package let path: String

    package init(_ value: JSONValue, path: String, allowed: Set<String>) throws(FieldError) where Key == String {
        // Objects and the allowed sets are small: comparing keys beats hashing them.
        try self.init(value, path: path, accepting: { key in allowed.contains(where: { $0 == key }) })
    }

    package init(_ value: JSONValue, path: String) throws(FieldError) where Key: DeclaredFields {
        try self.init(value, path: path, accepting: { Key(rawValue: $0) != nil })
    }

    private init(_ value: JSONValue, path: String, accepting: (String) -> Bool) throws(FieldError) {
        guard case .object(let object) = value else {
            throw FieldError(path: path, reason: "must be an object, not \(value.kindName)")
        }
        for member in object.members where !accepting(member.key) {
            throw FieldError(path: Self.join(path, member.key), reason: "unknown field")
        }
        self.object = object
        self.path = path
    }

    static func join(_ path: String, _ key: String) -> String {
        let printable = key.count > 64 ? String(key.prefix(64)) + "..." : key
        return path.isEmpty ? printable : path + "." + printable
    }

    package func fieldPath(_ key: Key) -> String {
        Self.join(path, key.fieldName)
    }

    package func contains(_ key: Key) -> Bool {
        object[key.fieldName] != nil
    }

    package func optional(_ key: Key) throws(FieldError) -> JSONValue? {
        guard let value = object[key.fieldName] else { return nil }
        if case .null = value {
            throw FieldError(path: fieldPath(key), reason: "must not be null (omit the field instead)")
        }
        return value
    }

    package func required(_ key: Key) throws(FieldError) -> JSONValue {
        guard let value = try optional(key) else { throw FieldError(path: fieldPath(key), reason: "is required") }
        return value
    }

    // MARK: Strings

    /// A non-blank string of at most `maxLength` characters.
    package func string(_ key: Key, maxLength: Int = 200) throws(FieldError) -> String {
        try Self.string(try required(key), path: fieldPath(key), maxLength: maxLength)
    }

    package func optionalString(_ key: Key, maxLength: Int = 200) throws(FieldError) -> String? {
        guard let value = try optional(key) else { return nil }
        return try Self.string(value, path: fieldPath(key), maxLength: maxLength)
    }

    package static func string(
        _ value: JSONValue, path: @autoclosure () -> String, maxLength: Int
    ) throws(FieldError) -> String {
        guard case .string(let text) = value else {
            throw FieldError(path: path(), reason: "must be a string, not \(value.kindName)")
        }
        guard text.contains(where: { !$0.isWhitespace }) else {
            throw FieldError(path: path(), reason: "must not be empty")
        }
        guard text.count <= maxLength else {
            throw FieldError(path: path(), reason: "must be at most \(maxLength) characters")
        }
        return text
    }

    /// A code such as a participant, session, lot or adverse-event id: 1-64 characters of letters, digits,
    /// `-`, `_`, `.` and `/`, starting with a letter or digit.
    package func code(_ key: Key) throws(FieldError) -> String {
        try Self.code(try required(key), path: fieldPath(key))
    }

    package func optionalCode(_ key: Key) throws(FieldError) -> String? {
        guard let value = try optional(key) else { return nil }
        return try Self.code(value, path: fieldPath(key))
    }

    package static func code(_ value: JSONValue, path: @autoclosure () -> String) throws(FieldError) -> String {
        guard case .string(let text) = value else {
            throw FieldError(path: path(), reason: "must be a string, not \(value.kindName)")
        }
        guard (1...64).contains(text.utf8.count) else {
            throw FieldError(path: path(), reason: "must be 1 to 64 characters")
        }
        var copy = text
        let valid = copy.withUTF8 { utf8 in
            for (offset, byte) in utf8.enumerated() {
                let alphanumeric =
                    (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                let punctuation =
                    byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: "/")
                guard alphanumeric || (offset > 0 && punctuation) else { return false }
            }
            return true
        }
        guard valid else {
            throw FieldError(
                path: path(), reason: "must use letters, digits, '-', '_', '.' or '/' and start with a letter or digit")
        }
        return text
    }

    package func enumeration<E: RawRepresentable & CaseIterable>(
        _ key: Key, _ type: E.Type = E.self
    ) throws(FieldError) -> E where E.RawValue == String {
        try Self.enumeration(try required(key), path: fieldPath(key))
    }

    package func optionalEnumeration<E: RawRepresentable & CaseIterable>(
        _ key: Key, _ type: E.Type = E.self
    ) throws(FieldError) -> E? where E.RawValue == String {
        guard let value = try optional(key) else { return nil }
        return try Self.enumeration(value, path: fieldPath(key))
    }

    package static func enumeration<E: RawRepresentable & CaseIterable>(
        _ value: JSONValue, path: @autoclosure () -> String
    ) throws(FieldError) -> E where E.RawValue == String {
        guard case .string(let text) = value else {
            throw FieldError(path: path(), reason: "must be a string, not \(value.kindName)")
        }
        guard let parsed = E(rawValue: text) else {
            let choices = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw FieldError(path: path(), reason: "must be one of \(choices)")
        }
        return parsed
    }

    // MARK: Booleans and numbers

    package func bool(_ key: Key) throws(FieldError) -> Bool {
        try Self.bool(try required(key), path: fieldPath(key))
    }

    package func optionalBool(_ key: Key) throws(FieldError) -> Bool? {
        guard let value = try optional(key) else { return nil }
        return try Self.bool(value, path: fieldPath(key))
    }

    static func bool(_ value: JSONValue, path: @autoclosure () -> String) throws(FieldError) -> Bool {
        guard case .bool(let flag) = value else {
            throw FieldError(path: path(), reason: "must be true or false, not \(value.kindName)")
        }
        return flag
    }

    package func integer(_ key: Key, in range: ClosedRange<Int>) throws(FieldError) -> Int {
        try Self.integer(try required(key), path: fieldPath(key), in: range)
    }

    package func optionalInteger(_ key: Key, in range: ClosedRange<Int>) throws(FieldError) -> Int? {
        guard let value = try optional(key) else { return nil }
        return try Self.integer(value, path: fieldPath(key), in: range)
    }

    package static func integer(
        _ value: JSONValue, path: @autoclosure () -> String, in range: ClosedRange<Int>
    ) throws(FieldError) -> Int {
        guard case .number(let number) = value else {
            throw FieldError(path: path(), reason: "must be a whole number, not \(value.kindName)")
        }
        guard let integer = number.integerValue else {
            throw FieldError(path: path(), reason: "must be a whole number")
        }
        guard integer >= Int64(range.lowerBound), integer <= Int64(range.upperBound) else {
            throw FieldError(path: path(), reason: "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return Int(integer)
    }

    /// A finite number within `range`; `unit` completes the error message ("mmHg", "C").
    package func optionalNumber(
        _ key: Key, in range: ClosedRange<Double>, unit: String
    ) throws(FieldError) -> Double? {
        guard let value = try optional(key) else { return nil }
        guard case .number(let number) = value else {
            throw FieldError(path: fieldPath(key), reason: "must be a number, not \(value.kindName)")
        }
        let double = number.doubleValue
        guard double.isFinite, range.contains(double) else {
            throw FieldError(
                path: fieldPath(key),
                reason: "must be between \(JSONNumber(range.lowerBound)) and \(JSONNumber(range.upperBound)) \(unit)"
            )
        }
        return double
    }

    /// A quantity in milligrams with at most three decimals, greater than zero (or at least zero when
    /// `allowZero`) and at most `maximum`.
    package func milligrams(
        _ key: Key, maximum: Milligrams, allowZero: Bool = false
    ) throws(FieldError) -> Milligrams {
        let value = try required(key)
        guard case .number(let number) = value else {
            throw FieldError(path: fieldPath(key), reason: "must be a number of milligrams, not \(value.kindName)")
        }
        guard let micrograms = JSONNumber.scaledInteger(number.literal, decimalPlaces: 3) else {
            throw FieldError(path: fieldPath(key), reason: "must be a number of milligrams with at most 3 decimals")
        }
        let quantity = Milligrams(micrograms: micrograms)
        if allowZero {
            guard micrograms >= 0 else { throw FieldError(path: fieldPath(key), reason: "must not be negative") }
        } else {
            guard micrograms > 0 else { throw FieldError(path: fieldPath(key), reason: "must be greater than 0 mg") }
        }
        guard quantity <= maximum else {
            throw FieldError(path: fieldPath(key), reason: "must be at most \(maximum) mg")
        }
        return quantity
    }

    // MARK: Identifiers and times

    package func uuid(_ key: Key) throws(FieldError) -> EventID {
        try Self.uuid(try required(key), path: fieldPath(key))
    }

    package static func uuid(_ value: JSONValue, path: @autoclosure () -> String) throws(FieldError) -> EventID {
        guard case .string(let text) = value, let id = EventID(text) else {
            throw FieldError(path: path(), reason: "must be a UUID (8-4-4-4-12 hexadecimal digits)")
        }
        return id
    }

    package func timestamp(_ key: Key) throws(FieldError) -> Timestamp {
        try Self.timestamp(try required(key), path: fieldPath(key))
    }

    package static func timestamp(_ value: JSONValue, path: @autoclosure () -> String) throws(FieldError) -> Timestamp {
        guard case .string(let text) = value, let time = Timestamp(rfc3339: text) else {
            throw FieldError(
                path: path(), reason: "must be an RFC 3339 date-time with a zone, such as 2026-11-21T10:15:00Z")
        }
        return time
    }

    package func date(_ key: Key) throws(FieldError) -> CalendarDate {
        let value = try required(key)
        guard case .string(let text) = value, let date = CalendarDate(iso8601: text) else {
            throw FieldError(path: fieldPath(key), reason: "must be a date such as 2026-11-21")
        }
        return date
    }

    // MARK: Containers

    package func array(_ key: Key, maxCount: Int) throws(FieldError) -> [JSONValue] {
        let value = try required(key)
        guard case .array(let elements) = value else {
            throw FieldError(path: fieldPath(key), reason: "must be an array, not \(value.kindName)")
        }
        guard elements.count <= maxCount else {
            throw FieldError(path: fieldPath(key), reason: "must have at most \(maxCount) elements")
        }
        return elements
    }

    /// The object at `key`, whose own fields are the cases of `Fields`.
    package func object<Fields: DeclaredFields>(
        _ key: Key, fields: Fields.Type
    ) throws(FieldError) -> FieldReader<Fields> {
        try FieldReader<Fields>(try required(key), path: fieldPath(key))
    }

    /// The object at `key`, which may carry the keys in `allowed`.
    package func object(_ key: Key, allowed: Set<String>) throws(FieldError) -> ObjectReader {
        try ObjectReader(try required(key), path: fieldPath(key), allowed: allowed)
    }
}

/// A quantity of substance in milligrams, kept exactly as whole micrograms so that ledger sums balance.
package struct Milligrams: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var micrograms: Int64

    package init(micrograms: Int64) {
        self.micrograms = micrograms
    }

    package init(_ milligrams: Int) {
        self.micrograms = Int64(milligrams) * 1000
    }

    package static func < (lhs: Milligrams, rhs: Milligrams) -> Bool { lhs.micrograms < rhs.micrograms }
    package static func + (lhs: Milligrams, rhs: Milligrams) -> Milligrams {
        Milligrams(micrograms: lhs.micrograms + rhs.micrograms)
    }
    package static func - (lhs: Milligrams, rhs: Milligrams) -> Milligrams {
        Milligrams(micrograms: lhs.micrograms - rhs.micrograms)
    }
    package static let zero = Milligrams(micrograms: 0)

    /// The JSON number: `120`, `40.5`, `0.125`.
    package var jsonNumber: JSONNumber {
        let whole = micrograms / 1000
        var fraction = abs(micrograms % 1000)
        if fraction == 0 { return JSONNumber(whole) }
        var digits = 3
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let sign = micrograms < 0 && whole == 0 ? "-" : ""
        return JSONNumber(uncheckedLiteral: sign + String(whole) + "." + Timestamp.pad(Int(fraction), digits))
    }

    package var description: String { jsonNumber.literal }
}
