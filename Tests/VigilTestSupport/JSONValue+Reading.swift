package import VigilModel

/// Reading JSON answers in tests: `value["alerts"]?[0]?["rule"]`.
extension JSONValue {
    package subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    package subscript(index: Int) -> JSONValue? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    /// A string's text or a number as written; nil for anything else.
    package var literal: String? {
        switch self {
        case .string(let text): text
        case .number(let number): number.literal
        default: nil
        }
    }
}
