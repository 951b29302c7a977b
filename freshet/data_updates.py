"""Data updates and delivered alerts, in the history database: what freshness is measured by.

The trigger records each data update it sees (the first sighting of a version counts);
`freshet sla check` compares the latest one with the runs that cover it, and remembers each
alert it delivered so that a breach is alerted once.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from freshet.history import RunRow, connect, db_path, import_summaries, parse_time, run_row


@dataclass(frozen=True)
class DataUpdate:
    """A data version a pipeline was told about, and when it was first seen."""

    pipeline: str
    data_version: str
    seen_at: datetime


def record_data_update(
    root: str | Path, pipeline: str, data_version: str, seen_at: datetime | None = None
) -> bool:
    """Notes that new data for `pipeline` was seen; the first sighting of a version counts.

    Called by the trigger for every data update it routes to a pipeline (redeliveries of
    the same version keep the first time).

    Args:
        root: The local root.
        pipeline: The pipeline the data feeds.
        data_version: The version the trigger derived (generation, content hash...).
        seen_at: When it was seen [default: now].

    Returns:
        True when this version was new.
    """
    with connect(root) as db:
        return _insert_data_update(db, pipeline, data_version, seen_at)


def _insert_data_update(
    db: sqlite3.Connection, pipeline: str, data_version: str, seen_at: datetime | None
) -> bool:
    moment = (seen_at or datetime.now(UTC)).astimezone(UTC)
    cursor = db.execute(
        "INSERT OR IGNORE INTO data_updates VALUES (?, ?, ?)",
        (pipeline, data_version, moment.isoformat()),
    )
    return cursor.rowcount == 1


class DataUpdateRecorder:
    """`record_data_update` for a long-running process (the trigger): a connection per thread.

    Opening and closing a SQLite connection per message cost the trigger more than the rest
    of its work on a message (`bench/trigger.py`); a kept connection commits in microseconds.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = root
        self._local = threading.local()

    def record(self, pipeline: str, data_version: str, seen_at: datetime | None = None) -> bool:
        """See `record_data_update`."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            with connect(self.root):
                pass  # creates the database and its schema
            db = sqlite3.connect(db_path(self.root), timeout=10.0, check_same_thread=True)
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        with db:
            return _insert_data_update(db, pipeline, data_version, seen_at)


def latest_data_update(root: str | Path, pipeline: str) -> DataUpdate | None:
    """The most recently first-seen data version of a pipeline."""
    with connect(root) as db:
        row = db.execute(
            "SELECT * FROM data_updates WHERE pipeline = ? ORDER BY seen_at DESC LIMIT 1",
            (pipeline,),
        ).fetchone()
    if row is None:
        return None
    return DataUpdate(row["pipeline"], row["data_version"], parse_time(row["seen_at"]))


def first_success_since(root: str | Path, update: DataUpdate) -> RunRow | None:
    """The first successful run of the pipeline that covers a data update.

    A run covers it when it ran on that data version or started after the update was seen
    (it read data at least that new).
    """
    import_summaries(root)
    with connect(root) as db:
        row = db.execute(
            "SELECT * FROM runs WHERE pipeline = ? AND status = 'succeeded' "
            "AND (data_version = ? OR started_at >= ?) ORDER BY finished_at LIMIT 1",
            (update.pipeline, update.data_version, update.seen_at.isoformat()),
        ).fetchone()
    return run_row(row) if row else None


def alert_sent(root: str | Path, key: str) -> bool:
    """Whether an alert with this key was delivered already (one alert per breach)."""
    with connect(root) as db:
        return db.execute("SELECT 1 FROM alerts_sent WHERE key = ?", (key,)).fetchone() is not None


def mark_alert_sent(root: str | Path, key: str) -> None:
    """Remembers that the alert with this key was delivered."""
    with connect(root) as db:
        db.execute(
            "INSERT OR IGNORE INTO alerts_sent VALUES (?, ?)", (key, datetime.now(UTC).isoformat())
        )
