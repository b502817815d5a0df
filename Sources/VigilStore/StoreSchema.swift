import GRDB

/// The store's schema, as migrations that never change once shipped.
///
/// Every table of the log is append-only: triggers refuse UPDATE and DELETE, and a trigger refuses an
/// insert whose position is not the next one, so the log cannot get a gap from a bug in the writer either.
enum StoreSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-event-log") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events (
                        position    INTEGER PRIMARY KEY,
                        event_id    BLOB    NOT NULL UNIQUE,
                        recorded_at INTEGER NOT NULL,
                        envelope    BLOB    NOT NULL,
                        leaf_hash   BLOB    NOT NULL,
                        chain_hash  BLOB    NOT NULL
                    );
                    CREATE TRIGGER events_gap_free BEFORE INSERT ON events
                    WHEN NEW.position IS NOT (SELECT COALESCE(MAX(position), 0) + 1 FROM events)
                    BEGIN SELECT RAISE(ABORT, 'event positions must be gap-free'); END;
                    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
                    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
                    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
                    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

                    -- The key events of the log, copied in the same transaction so that the registry loads
                    -- without parsing the whole log. The verifier never trusts this table: it re-derives it.
                    CREATE TABLE key_events (
                        position   INTEGER PRIMARY KEY,
                        key_id     BLOB    NOT NULL,
                        change     TEXT    NOT NULL CHECK (change IN ('registered', 'revoked')),
                        public_key BLOB,
                        role       TEXT,
                        name       TEXT
                    );
                    CREATE TRIGGER key_events_no_update BEFORE UPDATE ON key_events
                    BEGIN SELECT RAISE(ABORT, 'key events are append-only'); END;
                    CREATE TRIGGER key_events_no_delete BEFORE DELETE ON key_events
                    BEGIN SELECT RAISE(ABORT, 'key events are append-only'); END;

                    -- Changes to the configured trust anchors (admin roots, the daemon key), each taking effect
                    -- after the log had `log_size` entries. Lets an auditor verify with the anchors of the time.
                    CREATE TABLE trust_anchors (
                        seq         INTEGER PRIMARY KEY,
                        log_size    INTEGER NOT NULL,
                        public_key  BLOB    NOT NULL,
                        role        TEXT    NOT NULL CHECK (role IN ('admin', 'daemon')),
                        name        TEXT    NOT NULL,
                        change      TEXT    NOT NULL CHECK (change IN ('added', 'removed')),
                        recorded_at INTEGER NOT NULL
                    );
                    CREATE TRIGGER trust_anchors_no_update BEFORE UPDATE ON trust_anchors
                    BEGIN SELECT RAISE(ABORT, 'trust anchor changes are append-only'); END;
                    CREATE TRIGGER trust_anchors_no_delete BEFORE DELETE ON trust_anchors
                    BEGIN SELECT RAISE(ABORT, 'trust anchor changes are append-only'); END;

                    -- Heads of the log signed by the daemon's key: size, chain hash, time, DSSE envelope.
                    CREATE TABLE signed_heads (
                        seq        INTEGER PRIMARY KEY,
                        size       INTEGER NOT NULL,
                        chain_hash BLOB    NOT NULL,
                        issued_at  INTEGER NOT NULL,
                        envelope   BLOB    NOT NULL
                    );
                    CREATE TRIGGER signed_heads_no_update BEFORE UPDATE ON signed_heads
                    BEGIN SELECT RAISE(ABORT, 'signed heads are append-only'); END;
                    CREATE TRIGGER signed_heads_no_delete BEFORE DELETE ON signed_heads
                    BEGIN SELECT RAISE(ABORT, 'signed heads are append-only'); END;
                    """
            )
        }
        migrator.registerMigration("v2-merkle-tree") { db in
            try db.execute(
                sql: """
                    -- The log's Merkle tree above its leaves: the hash of every perfect subtree of 256^k leaves
                    -- (k >= 1), stored when its last entry is appended. Level is the tree level (8, 16, ...),
                    -- idx the subtree's first leaf divided by its width. These are the C2SP tiles' hashes.
                    CREATE TABLE tree_nodes (
                        level INTEGER NOT NULL,
                        idx   INTEGER NOT NULL,
                        hash  BLOB    NOT NULL,
                        PRIMARY KEY (level, idx)
                    ) WITHOUT ROWID;
                    CREATE TRIGGER tree_nodes_in_order BEFORE INSERT ON tree_nodes
                    WHEN NEW.idx IS NOT (SELECT COALESCE(MAX(idx) + 1, 0) FROM tree_nodes WHERE level = NEW.level)
                    BEGIN SELECT RAISE(ABORT, 'tree nodes are appended in order'); END;
                    CREATE TRIGGER tree_nodes_no_update BEFORE UPDATE ON tree_nodes
                    BEGIN SELECT RAISE(ABORT, 'the tree is append-only'); END;
                    CREATE TRIGGER tree_nodes_no_delete BEFORE DELETE ON tree_nodes
                    BEGIN SELECT RAISE(ABORT, 'the tree is append-only'); END;

                    -- Checkpoints (C2SP tlog-checkpoint) signed by the daemon's key as signed notes.
                    CREATE TABLE checkpoints (
                        seq       INTEGER PRIMARY KEY,
                        size      INTEGER NOT NULL,
                        root_hash BLOB    NOT NULL,
                        issued_at INTEGER NOT NULL,
                        note      BLOB    NOT NULL
                    );
                    CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
                    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
                    CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
                    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;

                    -- Witnesses' cosignatures (C2SP tlog-cosignature) of checkpoints: the signature line each
                    -- witness answered, served with the checkpoint it signs.
                    CREATE TABLE cosignatures (
                        seq            INTEGER PRIMARY KEY,
                        checkpoint_seq INTEGER NOT NULL REFERENCES checkpoints (seq),
                        witness        TEXT    NOT NULL,
                        line           TEXT    NOT NULL,
                        received_at    INTEGER NOT NULL,
                        UNIQUE (checkpoint_seq, witness)
                    );
                    CREATE TRIGGER cosignatures_no_update BEFORE UPDATE ON cosignatures
                    BEGIN SELECT RAISE(ABORT, 'cosignatures are append-only'); END;
                    CREATE TRIGGER cosignatures_no_delete BEFORE DELETE ON cosignatures
                    BEGIN SELECT RAISE(ABORT, 'cosignatures are append-only'); END;
                    """
            )
            try LogTree.backfill(db)
        }
        return migrator
    }

    /// Refuses a store that a newer release has migrated past what this one knows: this release would not
    /// understand what the newer one wrote, and must not write beside it. Older stores are migrated forward.
    static func refuseNewer(_ database: some DatabaseWriter, path: String) throws {
        let migrator = migrator
        // On the writer's connection: a reader opened on a new, empty file would keep its WAL from being folded
        // back into the database when the store closes.
        let (superseded, applied) = try database.writeWithoutTransaction { db in
            (try migrator.hasBeenSuperseded(db), try migrator.appliedIdentifiers(db))
        }
        guard superseded else { return }
        let known = Set(migrator.migrations)
        let unknown = applied.filter { !known.contains($0) }.sorted()
        throw StoreError(
            .newerVersion,
            "the store at \(path) was written by a newer release of Vigil (schema \(unknown.joined(separator: ", "))); "
                + "this one knows the schema up to \(migrator.migrations.last ?? "none"). Run the newer release, or "
                + "restore the backup taken before the upgrade (docs/operations.md, Upgrades)")
    }
}
