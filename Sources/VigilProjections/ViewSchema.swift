/// The tables of the read models' file.
///
/// The views are derived data: the log is the record, and any version of these tables can be rebuilt from it.
/// So the schema is not migrated: a file whose `user_version` is not ``version`` is emptied and rebuilt.
///
/// Views of record (what a rebuild must reproduce, compared by ``ViewDigest``) are grouped by projection.
/// Beside them: the checkpoint, the deadline queue of the alert scheduler (derived from the views and the
/// rule settings) and the alert outbox (alerts decided but not yet in the log).
enum ViewSchema {
    /// Changes whenever a table or what a view holds changes.
    static let version = 4

    /// The tables of each projection, with their primary keys (the order digests and comparisons read them in).
    static let projections: [(projection: Projection, tables: [(name: String, key: String)])] = [
        (.signers, [("signers", "key_id")]),
        (.inventory, [("lots", "lot"), ("losses", "loss_id"), ("lot_movements", "lot, position")]),
        (
            .participants,
            [
                ("participants", "code"), ("medications", "participant, name"),
                ("participant_sessions", "participant, session"), ("mood_checks", "session, position"),
                ("timeline", "participant, position"),
            ]
        ),
        (
            .sessions,
            [
                ("sessions", "id"), ("doses", "session, at, position"), ("vitals", "session, at, position"),
                ("session_adverse_events", "session, ae_id"),
            ]
        ),
        (.adverseEvents, [("adverse_events", "participant, ae_id")]),
        (.alerts, [("alerts", "alert_id")]),
    ]

    static let create = """
        CREATE TABLE signers (
            key_id BLOB PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
            registered_at INTEGER NOT NULL, revoked_at INTEGER
        ) WITHOUT ROWID;
        CREATE TABLE lots (
            lot TEXT PRIMARY KEY, substance TEXT,
            received INTEGER NOT NULL DEFAULT 0, dispensed INTEGER NOT NULL DEFAULT 0,
            wasted INTEGER NOT NULL DEFAULT 0, destroyed INTEGER NOT NULL DEFAULT 0, lost INTEGER NOT NULL DEFAULT 0,
            last_activity INTEGER, first_receipt_at INTEGER, first_receipt_event BLOB,
            count_counted INTEGER, count_expected INTEGER, count_at INTEGER, count_position INTEGER,
            count_witnessed INTEGER, count_event BLOB
        ) WITHOUT ROWID;
        CREATE TABLE losses (
            loss_id TEXT PRIMARY KEY, lot TEXT NOT NULL, quantity INTEGER NOT NULL, kind TEXT NOT NULL,
            discovered_at INTEGER NOT NULL, reported_position INTEGER NOT NULL, reported_event BLOB NOT NULL,
            reference TEXT, filed_at INTEGER, filed_position INTEGER
        ) WITHOUT ROWID;
        -- Every change of a lot's perpetual balance (and each physical count), in log order: the running balance.
        CREATE TABLE lot_movements (
            lot TEXT NOT NULL, position INTEGER NOT NULL, at INTEGER NOT NULL, change INTEGER NOT NULL,
            balance INTEGER NOT NULL, counted INTEGER, PRIMARY KEY (lot, position)
        ) WITHOUT ROWID;
        CREATE TABLE participants (code TEXT PRIMARY KEY, enrolled_at INTEGER, site TEXT, time_zone TEXT) WITHOUT ROWID;
        -- The log positions of every event that concerns a participant (their alerts and the handling included).
        CREATE TABLE timeline (participant TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (participant, position))
            WITHOUT ROWID;
        CREATE TABLE medications (
            participant TEXT NOT NULL, name TEXT NOT NULL, serotonergic INTEGER NOT NULL, since INTEGER NOT NULL,
            PRIMARY KEY (participant, name)
        ) WITHOUT ROWID;
        CREATE TABLE participant_sessions (
            participant TEXT NOT NULL, session TEXT NOT NULL, position INTEGER NOT NULL,
            PRIMARY KEY (participant, session)
        ) WITHOUT ROWID;
        CREATE TABLE mood_checks (
            session TEXT NOT NULL, position INTEGER NOT NULL, participant TEXT NOT NULL, day INTEGER NOT NULL,
            at INTEGER NOT NULL, phq9_total INTEGER, phq9_item9 INTEGER, cssrs_high_risk INTEGER, mood INTEGER,
            PRIMARY KEY (session, position)
        ) WITHOUT ROWID;
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY, participant TEXT NOT NULL, number INTEGER, started_at INTEGER,
            started_event BLOB, ended_at INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX sessions_started ON sessions (started_at) WHERE started_at IS NOT NULL;
        CREATE TABLE doses (
            session TEXT NOT NULL, at INTEGER NOT NULL, position INTEGER NOT NULL, event_id BLOB NOT NULL,
            dose INTEGER NOT NULL, kind TEXT NOT NULL, lot TEXT NOT NULL,
            PRIMARY KEY (session, at, position)
        ) WITHOUT ROWID;
        CREATE TABLE vitals (
            session TEXT NOT NULL, at INTEGER NOT NULL, position INTEGER NOT NULL, participant TEXT NOT NULL,
            systolic REAL, diastolic REAL, heart_rate REAL, temperature REAL, spo2 REAL,
            PRIMARY KEY (session, at, position)
        ) WITHOUT ROWID;
        CREATE TABLE session_adverse_events (
            session TEXT NOT NULL, ae_id TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (session, ae_id)
        ) WITHOUT ROWID;
        CREATE TABLE adverse_events (
            participant TEXT NOT NULL, ae_id TEXT NOT NULL, term TEXT NOT NULL, onset INTEGER NOT NULL,
            severity INTEGER NOT NULL, serious INTEGER NOT NULL, criteria TEXT NOT NULL,
            expected INTEGER NOT NULL, suspected INTEGER NOT NULL, aware_at INTEGER NOT NULL, session TEXT,
            outcome TEXT, submitted_at INTEGER, reference TEXT,
            reported_position INTEGER NOT NULL, reported_event BLOB NOT NULL, open INTEGER NOT NULL,
            PRIMARY KEY (participant, ae_id)
        ) WITHOUT ROWID;
        CREATE INDEX adverse_events_open ON adverse_events (participant, ae_id) WHERE open = 1;
        CREATE TABLE alerts (
            alert_id BLOB PRIMARY KEY, position INTEGER NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL,
            participant TEXT, session TEXT, causes BLOB NOT NULL, message TEXT NOT NULL, raised_at INTEGER NOT NULL,
            status TEXT NOT NULL,
            ack_key BLOB, ack_name TEXT, ack_at INTEGER, ack_note TEXT, ack_position INTEGER,
            resolve_key BLOB, resolve_name TEXT, resolve_at INTEGER, resolve_note TEXT, resolve_position INTEGER
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX alerts_position ON alerts (position);
        CREATE INDEX alerts_status ON alerts (status, position);
        CREATE INDEX alerts_participant ON alerts (participant, position) WHERE participant IS NOT NULL;
        CREATE INDEX alerts_unresolved ON alerts (session, rule) WHERE session IS NOT NULL AND status <> 'resolved';

        -- The scheduler's queue: the next deadline of each session's follow-up, adverse event, lot and loss report.
        CREATE TABLE deadlines (
            key TEXT PRIMARY KEY, kind TEXT NOT NULL, participant TEXT, subject TEXT NOT NULL, day INTEGER,
            due_at INTEGER NOT NULL, alert_id BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX deadlines_due ON deadlines (due_at);
        CREATE INDEX deadlines_alert ON deadlines (alert_id);

        -- Alerts decided in a flush and not yet projected from the log: appended by the daemon after the flush
        -- commits (stored = 1 once the log holds them), removed when their alert.raised is projected.
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY, alert_id BLOB NOT NULL UNIQUE, rule TEXT NOT NULL, severity TEXT NOT NULL,
            session TEXT, payload BLOB NOT NULL, stored INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX outbox_session ON outbox (session, rule) WHERE session IS NOT NULL;

        -- How far the views reflect the log (position), and how far the safety rules have run (evaluated).
        CREATE TABLE checkpoint (
            id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL, evaluated INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        INSERT INTO checkpoint (id, position, evaluated, updated_at) VALUES (1, 0, 0, 0);
        """
}

/// The read models, by the names their digests and reports use.
package enum Projection: String, Sendable, CaseIterable, Hashable, Codable {
    case signers
    case inventory
    case participants
    case sessions
    case adverseEvents = "adverse_events"
    case alerts
}
