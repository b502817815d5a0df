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
        return migrator
    }
}
