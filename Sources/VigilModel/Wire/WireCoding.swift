import Foundation

// The JSON forms of the model's values, for the typed read models that the HTTP API, vigilctl and the tests
// share (one encoding each): times as RFC 3339 strings, dates as YYYY-MM-DD, ids as their printed form,
// quantities as exact decimal numbers of milligrams.

extension Timestamp: Codable {
    package init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = Timestamp(rfc3339: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 time with a zone"))
        }
        self = parsed
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rfc3339)
    }
}

extension CalendarDate: Codable {
    package init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = CalendarDate(iso8601: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a date (YYYY-MM-DD)"))
        }
        self = parsed
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso8601)
    }
}

extension EventID: Codable {
    package init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = EventID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a UUID"))
        }
        self = parsed
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension KeyID: Codable {
    package init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = KeyID(hex: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a key id (64 hexadecimal digits)"))
        }
        self = parsed
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

extension Milligrams: Codable {
    /// Decodes a JSON number of milligrams with at most three decimals (whole micrograms), exactly.
    package init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(Decimal.self)
        guard let literal = Optional(NSDecimalNumber(decimal: value).stringValue),
            let micrograms = JSONNumber.scaledInteger(literal, decimalPlaces: 3)
        else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a quantity in whole micrograms"))
        }
        self.init(micrograms: micrograms)
    }

    /// Encodes the exact decimal (`120`, `40.5`, `0.125`), never a binary fraction.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Decimal(string: jsonNumber.literal) ?? 0)
    }
}

extension Role: Codable {}
extension DoseKind: Codable {}

extension LossKind: Codable {}
extension SeriousnessCriterion: Codable {}
extension AdverseEventOutcome: Codable {}
extension AlertSeverity: Codable {}
extension AlertRule: Codable {}
