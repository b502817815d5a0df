import Synchronization

/// A value that a configuration reload may replace while readers keep working.
///
/// Readers take the current value per request; a reload swaps it atomically.
public final class Reloadable<Value: Sendable>: Sendable, CustomReflectable {
    private let storage: Mutex<Value>

    public init(_ value: Value) {
        storage = Mutex(value)
    }

    public var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }

    /// The current value, read under the lock. Reflecting the lock itself reads its storage unguarded (and a
    /// service's description reflects what it holds), which crashes once the value holds a reference.
    public var customMirror: Mirror { Mirror(self, children: ["value": value]) }
}
