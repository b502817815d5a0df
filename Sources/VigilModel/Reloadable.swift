import Synchronization

/// A value that a configuration reload may replace while readers keep working.
///
/// Readers take the current value per request; a reload swaps it atomically.
public final class Reloadable<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>

    public init(_ value: Value) {
        storage = Mutex(value)
    }

    public var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
