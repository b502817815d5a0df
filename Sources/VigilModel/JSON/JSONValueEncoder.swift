/// Encodes `Encodable` values as JSON with the project's writer: keys sorted, absent optionals left out,
/// numbers as ``JSONNumber`` prints them (exact decimals for ``Milligrams``), no escaped slashes.
///
/// The read models are Codable so that they have one JSON form shared by the daemon and vigilctl; this is the
/// daemon's side of that form, about ten times faster than Foundation's `JSONEncoder` on Linux, which mattered
/// for lists of hundreds of alerts. vigilctl reads the same bytes back with `JSONDecoder`.
package enum JSONValueEncoder {
    package static func value(of value: some Encodable) throws -> JSONValue {
        let encoder = Encoding(codingPath: [])
        try value.encode(to: encoder)
        return encoder.result.finish()
    }

    package static func bytes(of value: some Encodable) throws -> [UInt8] {
        JSONWriter.bytes(try self.value(of: value))
    }

    /// A value being built: a finished value, or an object or array that containers may still add to.
    fileprivate enum Slot {
        case value(JSONValue)
        case object(ObjectBox)
        case array(ArrayBox)
        case empty

        func finish() -> JSONValue {
            switch self {
            case .value(let value): value
            case .object(let box): box.finish()
            case .array(let box): .array(box.elements.map { $0.finish() })
            case .empty: .object(JSONObject())
            }
        }
    }

    fileprivate final class ObjectBox {
        var members: [(key: String, slot: Slot)] = []

        func finish() -> JSONValue {
            let sorted = members.sorted { $0.key < $1.key }
            var unique: [JSONObject.Member] = []
            unique.reserveCapacity(sorted.count)
            for member in sorted where unique.last?.key != member.key {
                unique.append(JSONObject.Member(key: member.key, value: member.slot.finish()))
            }
            return .object(JSONObject(uniqueMembers: unique))
        }
    }

    fileprivate final class ArrayBox {
        var elements: [Slot] = []
    }

    /// A value with one JSON scalar form, taken without going through an encoder (the common case, fast).
    fileprivate static func encode(_ value: some Encodable, codingPath: [any CodingKey]) throws -> Slot {
        if let scalar = value as? any JSONScalar { return .value(scalar.jsonValue) }
        let encoder = Encoding(codingPath: codingPath)
        try value.encode(to: encoder)
        return encoder.result
    }

    private final class Encoding: Encoder {
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }
        var result: Slot = .empty

        init(codingPath: [any CodingKey]) {
            self.codingPath = codingPath
        }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            let box: ObjectBox
            if case .object(let existing) = result {
                box = existing
            } else {
                box = ObjectBox()
                result = .object(box)
            }
            return KeyedEncodingContainer(Keyed<Key>(box: box, codingPath: codingPath))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            let box: ArrayBox
            if case .array(let existing) = result {
                box = existing
            } else {
                box = ArrayBox()
                result = .array(box)
            }
            return Unkeyed(box: box, codingPath: codingPath)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer {
            Single(encoder: self)
        }
    }

    // Coding paths are not tracked (nothing here throws): building them would cost more than the encoding.

    private struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let box: ObjectBox
        let codingPath: [any CodingKey]

        mutating func encodeNil(forKey key: Key) throws { box.members.append((key.stringValue, .value(.null))) }
        mutating func encode(_ value: String, forKey key: Key) throws { add(.string(value), key) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { add(.bool(value), key) }
        mutating func encode(_ value: Int, forKey key: Key) throws { add(.number(JSONNumber(value)), key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { add(.number(JSONNumber(value)), key) }
        mutating func encode(_ value: Double, forKey key: Key) throws { add(.number(JSONNumber(value)), key) }

        private func add(_ value: JSONValue, _ key: Key) { box.members.append((key.stringValue, .value(value))) }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            box.members.append((key.stringValue, try JSONValueEncoder.encode(value, codingPath: codingPath)))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type, forKey key: Key
        ) -> KeyedEncodingContainer<NestedKey> {
            let nested = ObjectBox()
            box.members.append((key.stringValue, .object(nested)))
            return KeyedEncodingContainer(Keyed<NestedKey>(box: nested, codingPath: codingPath))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let nested = ArrayBox()
            box.members.append((key.stringValue, .array(nested)))
            return Unkeyed(box: nested, codingPath: codingPath)
        }

        mutating func superEncoder() -> any Encoder { Encoding(codingPath: codingPath) }
        mutating func superEncoder(forKey key: Key) -> any Encoder { Encoding(codingPath: codingPath) }
    }

    private struct Unkeyed: UnkeyedEncodingContainer {
        let box: ArrayBox
        let codingPath: [any CodingKey]
        var count: Int { box.elements.count }

        mutating func encodeNil() throws { box.elements.append(.value(.null)) }
        mutating func encode(_ value: String) throws { box.elements.append(.value(.string(value))) }
        mutating func encode(_ value: Int) throws { box.elements.append(.value(.number(JSONNumber(value)))) }
        mutating func encode(_ value: Double) throws { box.elements.append(.value(.number(JSONNumber(value)))) }

        mutating func encode<T: Encodable>(_ value: T) throws {
            box.elements.append(try JSONValueEncoder.encode(value, codingPath: codingPath))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type
        ) -> KeyedEncodingContainer<NestedKey> {
            let nested = ObjectBox()
            box.elements.append(.object(nested))
            return KeyedEncodingContainer(Keyed<NestedKey>(box: nested, codingPath: codingPath))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let nested = ArrayBox()
            box.elements.append(.array(nested))
            return Unkeyed(box: nested, codingPath: codingPath)
        }

        mutating func superEncoder() -> any Encoder { Encoding(codingPath: codingPath) }
    }

    private struct Single: SingleValueEncodingContainer {
        let encoder: Encoding
        var codingPath: [any CodingKey] { encoder.codingPath }

        mutating func encodeNil() throws { encoder.result = .value(.null) }
        mutating func encode(_ value: String) throws { encoder.result = .value(.string(value)) }
        mutating func encode(_ value: Bool) throws { encoder.result = .value(.bool(value)) }
        mutating func encode(_ value: Int) throws { encoder.result = .value(.number(JSONNumber(value))) }
        mutating func encode(_ value: Int64) throws { encoder.result = .value(.number(JSONNumber(value))) }
        mutating func encode(_ value: Double) throws { encoder.result = .value(.number(JSONNumber(value))) }

        mutating func encode<T: Encodable>(_ value: T) throws {
            encoder.result = try JSONValueEncoder.encode(value, codingPath: codingPath)
        }
    }
}

/// A value whose JSON form is one scalar, written without an encoder: ids, times, dates, quantities, the
/// closed vocabularies.
package protocol JSONScalar {
    var jsonValue: JSONValue { get }
}

extension Timestamp: JSONScalar {
    package var jsonValue: JSONValue { .string(rfc3339) }
}

extension CalendarDate: JSONScalar {
    package var jsonValue: JSONValue { .string(iso8601) }
}

extension EventID: JSONScalar {
    package var jsonValue: JSONValue { .string(description) }
}

extension KeyID: JSONScalar {
    package var jsonValue: JSONValue { .string(hex) }
}

extension Milligrams: JSONScalar {
    package var jsonValue: JSONValue { .number(jsonNumber) }
}

extension JSONScalar where Self: RawRepresentable, RawValue == String {
    package var jsonValue: JSONValue { .string(rawValue) }
}

extension String: JSONScalar {
    package var jsonValue: JSONValue { .string(self) }
}

extension Role: JSONScalar {}
extension DoseKind: JSONScalar {}
extension SeriousnessCriterion: JSONScalar {}
extension AdverseEventOutcome: JSONScalar {}
extension AlertSeverity: JSONScalar {}
extension AlertRule: JSONScalar {}
