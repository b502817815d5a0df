/// A parsed JSON value.
///
/// Produced by ``JSONParser``, which is stricter than Foundation's `JSONDecoder`: duplicate object keys,
/// lone surrogates, control characters in strings and trailing bytes are all refused. Signed payloads must
/// mean one thing to every reader, so an object like `{"systolic": 120, "systolic": 210}` is an error here
/// rather than whichever value a given parser happens to keep.
package enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number, kept as its literal text so that decimal quantities convert exactly.
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The object, if this is one.
    package var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    /// A short name of the value's kind, for error messages.
    package var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A JSON number literal as it appeared in the text (already checked against the JSON grammar).
package struct JSONNumber: Sendable, Equatable, CustomStringConvertible {
    package let literal: String

    /// Creates a number from a literal the caller guarantees to follow the JSON grammar.
    package init(uncheckedLiteral literal: String) {
        self.literal = literal
    }

    package init(_ value: Int) {
        self.literal = String(value)
    }

    package init(_ value: Int64) {
        self.literal = String(value)
    }

    /// A finite double, printed in its shortest round-tripping form.
    package init(_ value: Double) {
        precondition(value.isFinite, "JSON numbers are finite")
        if value == value.rounded(), abs(value) < 1e15 {
            self.literal = String(Int64(value))
        } else {
            self.literal = "\(value)"
        }
    }

    package var doubleValue: Double {
        Self.fastDouble(literal) ?? Double(literal) ?? .nan
    }

    /// A plain decimal (`-12.5`, `120`) with at most 15 significant digits and 22 decimals, exactly as
    /// `Double(_:)` reads it: both the digits and the power of ten are exact doubles, so one division rounds
    /// correctly (Clinger's fast path). Nil for anything else (exponents, longer numbers).
    static func fastDouble(_ literal: String) -> Double? {
        var literal = literal
        return literal.withUTF8 { fastDouble(utf8: $0) }
    }

    private static func fastDouble(utf8 literal: UnsafeBufferPointer<UInt8>) -> Double? {
        var digits: Int64 = 0
        var count = 0
        var decimals = 0
        var seenPoint = false
        var negative = false
        for (offset, byte) in literal.enumerated() {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits = digits * 10 + Int64(byte - UInt8(ascii: "0"))
                if digits > 0 { count += 1 }
                if seenPoint { decimals += 1 }
                guard count <= 15, decimals <= 22 else { return nil }
            case UInt8(ascii: "."):
                guard !seenPoint else { return nil }
                seenPoint = true
            case UInt8(ascii: "-") where offset == 0:
                negative = true
            default:
                return nil
            }
        }
        let value = Double(digits) / Self.powersOfTen[decimals]
        return negative ? -value : value
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        (0..<exponent).reduce(1.0) { value, _ in value * 10 }
    }

    /// The value as an integer, if the literal denotes one exactly (`2`, `2.0` and `2e0` do; `2.5` does not).
    package var integerValue: Int64? {
        guard let scaled = JSONNumber.scaledInteger(literal, decimalPlaces: 0) else { return nil }
        return scaled
    }

    /// The value multiplied by 10^`decimalPlaces`, if that is an exact integer that fits in Int64.
    ///
    /// `scaledInteger("1.25", decimalPlaces: 3)` is 1250; `scaledInteger("1.2345", decimalPlaces: 3)` is nil.
    package static func scaledInteger(_ literal: String, decimalPlaces: Int) -> Int64? {
        var utf8 = Array(literal.utf8)[...]
        var negative = false
        if utf8.first == UInt8(ascii: "-") {
            negative = true
            utf8 = utf8.dropFirst()
        }
        var digits: [UInt8] = []
        var fractionLength = 0
        var seenPoint = false
        var exponent = 0
        var index = utf8.startIndex
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte >= 0x30 && byte <= 0x39 {
                digits.append(byte - 0x30)
                if seenPoint { fractionLength += 1 }
            } else if byte == UInt8(ascii: ".") {
                seenPoint = true
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                guard let parsed = Int(String(decoding: utf8[(index + 1)...], as: UTF8.self)),
                    abs(parsed) < 400
                else { return nil }
                exponent = parsed
                break
            } else {
                return nil
            }
            index += 1
        }
        // value = digits * 10^(exponent - fractionLength); scaled by 10^decimalPlaces.
        var shift = exponent - fractionLength + decimalPlaces
        while shift < 0 {
            guard let last = digits.last else { break }
            guard last == 0 else { return nil }
            digits.removeLast()
            shift += 1
        }
        if shift < 0 { return 0 }  // all digits were zeros
        var value: Int64 = 0
        for digit in digits {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(digit))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        for _ in 0..<shift where value != 0 {
            let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            value = times10
        }
        return negative ? -value : value
    }

    package var description: String { literal }
}

/// A JSON object: its members in the order they appeared, with keys known to be unique.
package struct JSONObject: Sendable, Equatable {
    package struct Member: Sendable, Equatable {
        package var key: String
        package var value: JSONValue

        package init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    package private(set) var members: [Member]

    package init() {
        self.members = []
    }

    /// Builds an object from members whose keys the caller guarantees to be unique.
    init(uniqueMembers: [Member]) {
        self.members = uniqueMembers
    }

    /// Creates an object from key-value pairs, in order.
    ///
    /// - Precondition: the keys are unique.
    package init(_ pairs: KeyValuePairs<String, JSONValue>) {
        self.members = []
        for (key, value) in pairs {
            self[key] = value
        }
    }

    package var keys: [String] { members.map(\.key) }
    package var count: Int { members.count }

    /// The value of a key; setting a value replaces the member in place or appends a new one.
    package subscript(key: String) -> JSONValue? {
        get {
            for member in members where member.key == key {
                return member.value
            }
            return nil
        }
        set {
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue {
                    members[index].value = newValue
                } else {
                    members.remove(at: index)
                }
            } else if let newValue {
                members.append(Member(key: key, value: newValue))
            }
        }
    }
}
