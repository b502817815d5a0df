package import Logging
package import VigilModel

/// The database the log lives in: what ``EventStore`` asks of it, the same on SQLite (``SQLiteLog``) and on
/// PostgreSQL (`PostgresLog`, in VigilPostgres).
///
/// Every backend keeps the same tables with the same bytes (docs/protocol.md §4): an entry, its hashes, the signed
/// heads and the checkpoints read back identical whichever database holds them, so `vigilctl verify` and the
/// proofs do not depend on where the log was written. The contract tests (`LogBackendContractTests`) run the same
/// cases against both.
package protocol LogBackend: Sendable {
    /// The database as logs and messages name it (a path, or a URL without its password).
    var location: String { get }

    /// The SQLite file that holds the log, when one does (the file lock, backups and the companion files use it).
    var file: String? { get }

    /// Reads the head, replays the key registry from the anchor history and the key events, rebuilds the right
    /// edge of the Merkle tree, and records how the configured trust anchors changed since the last start.
    func loadState(anchors: [TrustAnchor], now: Int64, logger: Logger) async throws -> WriterState

    /// Stores one group of appends in one durable transaction, continuing from the head the database holds.
    ///
    /// `state` is what this process last knew; when another process appended since (several nodes on one
    /// database), the backend reads the newer head first. Returns the state after the group and each event's
    /// outcome. Throws when the group was not stored; a backend that cannot tell whether its commit went through
    /// reads back what it wrote before it answers, and throws only when nothing of the group was stored.
    func commit(
        _ requests: [[VerifiedEvent]], from state: WriterState, recordedAt: Int64
    ) async throws -> (WriterState, [[AppendOutcome]])

    /// The writer's state at the head the database holds now, when that is beyond `known` (another node appended
    /// since); nil when it is not. A database only this process writes (an SQLite file, under its lock) answers nil.
    func newerState(than known: WriterState) async throws -> WriterState?

    /// Whether this process runs the work that must run once for the log (alert appends, deadlines, checkpoint
    /// signing, witnesses, webhooks): asked again every second or so, it takes the lead when no process holds
    /// it and answers false once the lead is lost (the database gone away). An SQLite file has one process and
    /// always answers true.
    func lead() async -> Bool

    /// Gives the lead up at once, for another process to take (at shutdown, or when this one cannot do the
    /// leader's work). A later ``lead()`` may take it again.
    func resign() async

    /// What a refused append tells its client when a commit failed with `error`.
    func unavailableMessage(for error: any Error) -> String

    /// A short, data-free name of `error` for the logs (a result code, an SQLSTATE).
    func errorCode(of error: any Error) -> String

    /// Entries after `position`, in order, at most `limit` of them.
    func entries(after position: Int64, limit: Int) async throws -> [StoredEntry]

    /// The entries at these positions that the log has, in the order given.
    func entries(at positions: [Int64]) async throws -> [StoredEntry]

    /// The log position of the event with this id, if the log has one.
    func position(of eventID: EventID) async throws -> Int64?

    /// Whether the log holds an event with this id, answered on the calling thread: for checks made inside
    /// another database's transaction, never from a task of the cooperative pool.
    func containsBlocking(eventID: EventID) throws -> Bool

    /// Every change of the configured trust anchors, in the order recorded.
    func anchorHistory() async throws -> [AnchorChange]

    /// Runs `body` over the log's Merkle tree as stored (perfect subtrees of the first entries).
    func readTree<T: Sendable>(_ body: @escaping @Sendable (StoredNodes) throws -> T) async throws -> T

    /// `count` consecutive stored hashes of a stored tree `level` (a multiple of ``LogTree/tileHeight``) from
    /// `first`; level 0 is the entries' leaf hashes.
    func storedHashes(level: Int, first: UInt64, count: Int) async throws -> [[UInt8]]

    /// The head the daemon signed last, with its envelope's bytes.
    func latestSignedHead() async throws -> (head: SignedHead, envelope: [UInt8])?

    /// The checkpoint recorded last.
    func latestCheckpoint() async throws -> EventStore.CheckpointRecord?

    /// The newest checkpoint of at least `position` entries that a witness cosigned.
    func newestCosignedCheckpoint(covering position: Int64) async throws -> EventStore.CheckpointRecord?

    /// Records a signed head and a checkpoint (either may be nil) in one transaction.
    func record(signedHead: (head: SignedHead, envelope: [UInt8])?, checkpoint: NewCheckpoint?) async throws

    /// The witnesses' cosignature lines of a checkpoint, in the order received.
    func cosignatureLines(of checkpoint: Int64) async throws -> [UInt8]

    /// Records a witness's cosignature line of a checkpoint; a second one by the same witness is not added.
    func recordCosignature(of checkpoint: Int64, witness: String, line: String, at time: Timestamp) async throws

    /// The largest checkpoint size each witness cosigned, by witness name.
    func cosignedSizes() async throws -> [String: Int64]

    /// The entry that registered `key` last before `position`, if one did.
    func lastRegistration(of key: KeyID, before position: Int64) async throws -> StoredEntry?

    /// Verifies the log as stored (``LogVerifier``), on a thread of its own; with a share, paced to that share
    /// of one core at a lower priority.
    func verify(_ options: LogVerifier.Options) async -> Result<VerificationReport, StoreError>

    /// Closes the database; called once no append is under way.
    func close() async
}

/// A checkpoint about to be recorded: its size, its root hash, when it was issued and the signed note's bytes.
package struct NewCheckpoint: Sendable {
    package var size: Int64
    package var rootHash: [UInt8]
    package var issuedAt: Int64
    package var note: [UInt8]

    package init(size: Int64, rootHash: [UInt8], issuedAt: Int64, note: [UInt8]) {
        self.size = size
        self.rootHash = rootHash
        self.issuedAt = issuedAt
        self.note = note
    }
}

/// What the writer knows between commits: the head of the log, the key registry at the head, and the right
/// edge of the log's Merkle tree.
package struct WriterState: Sendable {
    package var head: LogHead
    package var registry: KeyRegistry
    package var tree: MerkleFrontier
    /// How many recorded anchor changes the registry was built from: a backend that brings a state up to a newer
    /// head by what was appended since can tell that no anchor change was recorded in between.
    package var anchorChanges: Int

    package init(head: LogHead, registry: KeyRegistry, tree: MerkleFrontier, anchorChanges: Int = 0) {
        self.head = head
        self.registry = registry
        self.tree = tree
        self.anchorChanges = anchorChanges
    }
}
