/// Writes a JSON object whose keys are the cases of `Key`, in the order they are set: the encoding side of a
/// ``FieldReader`` over the same ``DeclaredFields``, so a body's encoder cannot write a field its reader refuses.
package struct FieldWriter<Key: DeclaredFields> {
    package private(set) var object: JSONObject

    /// An object with `pairs`, in order.
    ///
    /// - Precondition: the keys are unique.
    package init(_ pairs: KeyValuePairs<Key, JSONValue> = [:]) {
        object = JSONObject()
        for (key, value) in pairs {
            object[key.rawValue] = value
        }
    }

    /// The value of a field; setting one replaces it in place or appends it.
    package subscript(key: Key) -> JSONValue? {
        get { object[key.rawValue] }
        set { object[key.rawValue] = newValue }
    }
}
