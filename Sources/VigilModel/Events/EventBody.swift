/// The `data` of one event type: decoded strictly from JSON, encoded back in a fixed field order.
package protocol EventBody: Sendable, Equatable {
    static var eventType: EventType { get }
    /// Every field `data` may carry; any other is refused.
    static var fields: Set<String> { get }
    init(reading data: ObjectReader, context: ValidationContext) throws(FieldError)
    var json: JSONObject { get }
}
