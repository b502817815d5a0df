public import VigilModel

/// Reading JSON answers in tests: `value["alerts"]?[0]?["rule"]`.
extension JSONValue {
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public subscript(index: Int) -> JSONValue? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    /// A string's text or a number as written; nil for anything else.
    public var literal: String? {
        switch self {
        case .string(let text): text
        case .number(let number): number.literal
        default: nil
        }
    }
}
