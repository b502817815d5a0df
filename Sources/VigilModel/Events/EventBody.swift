/// The `data` of one event type: decoded strictly from JSON, encoded back in a fixed field order.
///
/// Its fields are declared once, as the cases of `Field`: the reader can ask only for those, the encoder can
/// write only those (``FieldWriter``), and any other key in `data` is refused before the body is read.
package protocol EventBody: Sendable, Equatable {
    associatedtype Field: DeclaredFields
    static var eventType: EventType { get }
    init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError)
    var json: JSONObject { get }
}
