import GRDB
public import VigilModel

/// An envelope that passed decoding, validation and signature verification, ready for the writer.
///
/// The writer still checks the signers' standing (registered, unrevoked, role) at the exact position the
/// event takes, since a revocation may commit between verification and append.
///
/// Only code that has verified the signatures makes one: its initialiser is behind the `Verification` SPI, which
/// VigilIngest imports (clients' events, verified on every core) and the alert engine (the daemon's own alerts,
/// signed in the process with the daemon's key). Tests and the benchmark's fixtures import it to build logs.
/// `VerificationBoundaryTests` fails if any other source file does.
public struct VerifiedEvent: Sendable {
    /// The envelope's bytes exactly as received; these are stored and hashed.
    public let envelopeBytes: [UInt8]
    public let envelope: Envelope
    public let payload: EventPayload

    @_spi(Verification)
    public init(envelopeBytes: [UInt8], envelope: Envelope, payload: EventPayload) {
        self.envelopeBytes = envelopeBytes
        self.envelope = envelope
        self.payload = payload
    }
}

/// What became of one event handed to the writer.
public enum AppendOutcome: Sendable, Equatable {
    /// Stored at `position`, durable on disk.
    case stored(position: Int64, chainHash: [UInt8], recordedAt: Timestamp)
    /// The same bytes were already stored at `position`; nothing was written.
    case duplicate(position: Int64, chainHash: [UInt8])
    /// Not stored.
    case refused(IngestError)

    public var position: Int64? {
        switch self {
        case .stored(let position, _, _), .duplicate(let position, _): position
        case .refused: nil
        }
    }
}

/// The size of the log and the chain hash of its last entry.
public struct LogHead: Sendable, Equatable {
    public var size: Int64
    public var chainHash: [UInt8]
    /// The recordedAt of the last entry, in Unix microseconds (0 for an empty log).
    public var lastRecordedAt: Int64

    public init(size: Int64, chainHash: [UInt8], lastRecordedAt: Int64) {
        self.size = size
        self.chainHash = chainHash
        self.lastRecordedAt = lastRecordedAt
    }

    public static let empty = LogHead(size: 0, chainHash: ChainHash.zero, lastRecordedAt: 0)
}

/// One entry of the log as stored.
public struct StoredEntry: Sendable, Equatable {
    public var position: Int64
    public var eventID: EventID
    /// Unix microseconds, stamped by the writer.
    public var recordedAt: Int64
    /// The exact envelope bytes received.
    public var envelope: [UInt8]
    public var leafHash: [UInt8]
    public var chainHash: [UInt8]

    public init(
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
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
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

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// Wraps an error met while `doing` something: a StoreError passes through; SQLite errors keep their
    /// result code and message (never the statement's arguments, which may be user data).
    public init(_ error: any Error, while doing: String) {
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
