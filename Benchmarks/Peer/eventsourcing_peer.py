"""The peer of issue 7: the Python `eventsourcing` library on SQLite, storing Vigil's events.

Each event is a vitals reading with the same fields and values as vigil-bench's envelopes (participant,
session, systolic, diastolic, heart rate, temperature, occurredAt), appended to a per-session aggregate
(an event-sourced stream with optimistic concurrency, which is what Vigil's single log gives for free).
Durability matches Vigil's: WAL with synchronous=FULL, asserted on every connection. The peer verifies no
signatures and keeps no hash chain. Modes, as vigil-bench's:

  single  each event saved in its own transaction as it arrives (one fsync per event)
  batch   BATCH events saved per call, in one transaction

Prints one JSON object per mode: {"mode", "events", "seconds", "eventsPerSecond"}.
    python eventsourcing_peer.py --folder DIR [--single 20000] [--batch 200000] [--batch-size 500]
"""

import argparse
import json
import os
import sqlite3
import time
import uuid
from datetime import datetime, timezone

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.sqlite import SQLiteConnectionPool

_create_connection = SQLiteConnectionPool._create_connection


def _durable_connection(self):
    """The library's connection, with Vigil's durability set and checked."""
    connection = _create_connection(self)
    raw = connection._sqlite_conn
    raw.execute("PRAGMA synchronous = FULL")
    assert raw.execute("PRAGMA synchronous").fetchone()[0] == 2, "synchronous must be FULL"
    return connection


SQLiteConnectionPool._create_connection = _durable_connection


class Session(Aggregate):
    """A dosing session's stream of vital signs."""

    @event("Started")
    def __init__(self, participant: str, session: str):
        self.participant = participant
        self.session = session
        self.readings = 0

    @event("VitalsRecorded")
    def record_vitals(
        self, event_id: str, occurred_at: str, systolic: float, diastolic: float, heart_rate: float,
        temperature_c: float,
    ):
        self.readings += 1


class Clinic(Application):
    # Every event is saved and read back from the database, never served from a cache.
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite"}


def readings(count, sessions):
    """The same mix as vigil-bench: vitals varying by index across many sessions."""
    now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    for index in range(count):
        yield index % len(sessions), dict(
            event_id=str(uuid.uuid4()), occurred_at=now, systolic=110 + index % 30, diastolic=70 + index % 15,
            heart_rate=60 + index % 40, temperature_c=36.6,
        )


def run(folder, mode, count, batch_size):
    path = os.path.join(folder, f"peer-{mode}.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    app = Clinic(env={"SQLITE_DBNAME": path})
    sessions = [Session(participant=f"P-{1000 + n}", session=f"P-{1000 + n}-S1") for n in range(64)]
    app.save(*sessions)
    started = time.perf_counter()
    if mode == "single":
        for which, reading in readings(count, sessions):
            sessions[which].record_vitals(**reading)
            app.save(sessions[which])
    else:
        touched = {}
        for index, (which, reading) in enumerate(readings(count, sessions), start=1):
            sessions[which].record_vitals(**reading)
            touched[which] = sessions[which]
            if index % batch_size == 0 or index == count:
                app.save(*touched.values())
                touched = {}
    seconds = time.perf_counter() - started
    # Everything is there: the stored events read back (one per reading, plus each session's start).
    stored = sqlite3.connect(path).execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]
    assert stored == count + len(sessions), f"stored {stored}, expected {count + len(sessions)}"
    return {"mode": mode, "events": count, "seconds": seconds, "eventsPerSecond": count / seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", required=True)
    parser.add_argument("--single", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=200000)
    parser.add_argument("--batch-size", type=int, default=500)
    arguments = parser.parse_args()
    for mode, count in (("single", arguments.single), ("batch", arguments.batch)):
        if count > 0:
            print(json.dumps(run(arguments.folder, mode, count, arguments.batch_size)), flush=True)


if __name__ == "__main__":
    main()
