import Synchronization

/// A value that a configuration reload may replace while readers keep working.
///
/// Readers take the current value per request; a reload swaps it atomically.
package final class Reloadable<Value: Sendable>: Sendable, CustomReflectable {
    private let storage: Mutex<Value>

    package init(_ value: Value) {
        storage = Mutex(value)
    }

    package var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }

    /// The current value, read under the lock. Reflecting the lock itself reads its storage unguarded (and a
    /// service's description reflects what it holds), which crashes once the value holds a reference.
    package var customMirror: Mirror { Mirror(self, children: ["value": value]) }
}
