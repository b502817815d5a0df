import Synchronization
package import VigilModel

/// Whether clients may write: closed when the log failed an integrity check, until an administrator has
/// looked (a restart reopens it only if the check then passes). Reads go on either way.
package final class WriteGate: Sendable {
    private let hold = Mutex<IngestError?>(nil)

    package init() {}

    /// Why writes are refused, or nil when they are allowed.
    package var refusal: IngestError? { hold.withLock { $0 } }

    /// Refuses every client write from now on with `unavailable` and this message.
    package func close(because message: String) {
        hold.withLock { if $0 == nil { $0 = IngestError(.unavailable, message) } }
    }
}
