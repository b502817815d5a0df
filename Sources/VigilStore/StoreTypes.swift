import GRDB
package import VigilModel

/// An envelope that passed decoding, validation and signature verification, ready for the writer.
///
/// The writer still checks the signers' standing (registered, unrevoked, role) at the exact position the
/// event takes, since a revocation may commit between verification and append.
///
/// Only code that has verified the signatures makes one: the initialiser asks for a ``VerifierSeal``, which only
/// modules importing the `Verification` SPI can make: VigilIngest (clients' events, verified on every core) and
/// the alert engine (the daemon's own alerts, signed in the process with the daemon's key). Tests and the
/// benchmark's fixtures import it to build logs. `VerificationBoundaryTests` fails if any other source file does.
package struct VerifiedEvent: Sendable {
    /// The envelope's bytes exactly as received; these are stored and hashed.
    package let envelopeBytes: [UInt8]
    package let envelope: Envelope
    package let payload: EventPayload

    package init(envelopeBytes: [UInt8], envelope: Envelope, payload: EventPayload, sealedBy _: VerifierSeal) {
        self.envelopeBytes = envelopeBytes
        self.envelope = envelope
        self.payload = payload
    }
}

/// What a verifier hands over with each ``VerifiedEvent`` it makes, so the compiler keeps every other module
/// from making one: the rest of Vigil shares `package` declarations, but this type's only initialiser is behind
/// the `Verification` SPI (which needs a public declaration, hence the one public type here).
public struct VerifierSeal: Sendable {
    @_spi(Verification)
    public init() {}
}

/// What became of one event handed to the writer.
package enum AppendOutcome: Sendable, Equatable {
    /// Stored at `position`, durable on disk.
    case stored(position: Int64, chainHash: [UInt8], recordedAt: Timestamp)
    /// The same bytes were already stored at `position`; nothing was written.
    case duplicate(position: Int64, chainHash: [UInt8])
    /// Not stored.
    case refused(IngestError)

    package var position: Int64? {
        switch self {
        case .stored(let position, _, _), .duplicate(let position, _): position
        case .refused: nil
        }
    }
}

/// The size of the log and the chain hash of its last entry.
package struct LogHead: Sendable, Equatable {
    package var size: Int64
    package var chainHash: [UInt8]
    /// The recordedAt of the last entry, in Unix microseconds (0 for an empty log).
    package var lastRecordedAt: Int64

    package init(size: Int64, chainHash: [UInt8], lastRecordedAt: Int64) {
        self.size = size
        self.chainHash = chainHash
        self.lastRecordedAt = lastRecordedAt
    }

    package static let empty = LogHead(size: 0, chainHash: ChainHash.zero, lastRecordedAt: 0)
}

/// One entry of the log as stored.
package struct StoredEntry: Sendable, Equatable {
    package var position: Int64
    package var eventID: EventID
    /// Unix microseconds, stamped by the writer.
    package var recordedAt: Int64
    /// The exact envelope bytes received.
    package var envelope: [UInt8]
    package var leafHash: [UInt8]
    package var chainHash: [UInt8]

    package init(
        position: Int64, eventID: EventID, recordedAt: Int64, envelope: [UInt8], leafHash: [UInt8], chainHash: [UInt8]
    ) {
        self.position = position
        self.eventID = eventID
        self.recordedAt = recordedAt
        self.envelope = envelope
        self.leafHash = leafHash
        self.chainHash = chainHash
    }
}

/// A failure of the store itself (as opposed to a refused event).
package struct StoreError: Error, Sendable, CustomStringConvertible {
    package enum Code: String, Sendable {
        /// The database could not be opened, migrated or read.
        case io
        /// The file is not a Vigil store, or its contents contradict themselves.
        case corrupt
        /// The store is closed or closing.
        case closed
        /// A size or position past the log's end, or sizes in the wrong order.
        case outOfRange
        /// The store was written by a newer release of Vigil, whose schema this one does not know.
        case newerVersion
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(code.rawValue): \(message)" }

    /// Wraps an error met while `doing` something: a StoreError passes through; SQLite errors keep their
    /// result code and message (never the statement's arguments, which may be user data).
    package init(_ error: any Error, while doing: String) {
        switch error {
        case let error as StoreError:
            self = error
        case let error as DatabaseError:
            let code = error.extendedResultCode.rawValue
            self.init(.io, "\(doing): SQLite error \(code) (\(error.message ?? "no message"))")
        default:
            self.init(.io, "\(doing): \(error)")
        }
    }
}
