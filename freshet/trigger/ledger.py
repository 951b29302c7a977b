"""A dry-run submitter: records run requests in SQLite instead of running them.

It keeps the rule every runner keeps (a run id that exists is not started again), atomically,
through SQLite's primary key, so several workers may share one ledger. Use it to check routing
and deduplication on real traffic before letting the trigger start pipelines
(`freshet trigger pull --record ledger.sqlite`); tests and the benchmark count submissions
with it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Literal

from freshet.runners.base import RunRequest, RunResult

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    data_uri TEXT,
    data_version TEXT,
    parameters TEXT NOT NULL,
    reason TEXT NOT NULL,
    source_message_id TEXT,
    submitted_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS calls (
    run_id TEXT NOT NULL,
    source_message_id TEXT,
    status TEXT NOT NULL,
    called_at REAL NOT NULL
);
"""


class Ledger:
    """Run requests recorded in one SQLite file; `submit` is a drop-in for `runners.submit`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL with NORMAL sync survives a crash of the process (not of the machine) and spares
        # an fsync per commit, which cost more than the rest of a handled message.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def submit(self, request: RunRequest) -> RunResult:
        """Records the run unless its id is already recorded.

        Returns:
            status "submitted" for a new run id, "already_exists" for a known one.

        Raises:
            ValueError: The request has no run id (a ledger only records idempotent runs).
        """
        if not request.run_id:
            raise ValueError("The ledger records only requests with a fixed run id.")
        now = time.time()
        status: Literal["submitted", "already_exists"]
        row = (
            request.run_id,
            request.pipeline,
            request.data_uri,
            request.data_version,
            json.dumps(request.parameters, sort_keys=True, default=str),
            request.reason,
            request.source_message_id,
            now,
        )
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # the run and the call in one commit
            try:
                try:
                    self._db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
                    status = "submitted"
                except sqlite3.IntegrityError:
                    status = "already_exists"
                self._db.execute(
                    "INSERT INTO calls VALUES (?, ?, ?, ?)",
                    (request.run_id, request.source_message_id, status, now),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return RunResult(run_id=request.run_id, status=status)

    def runs(self) -> list[dict[str, object]]:
        """Every recorded run, oldest first."""
        with self._lock:
            cursor = self._db.execute("SELECT * FROM runs ORDER BY submitted_at")
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def calls(self) -> list[tuple[str, str | None, str, float]]:
        """Every submit call: (run_id, source_message_id, status, called_at)."""
        with self._lock:
            return list(self._db.execute("SELECT * FROM calls ORDER BY called_at").fetchall())

    def close(self) -> None:
        """Closes the database."""
        with self._lock:
            self._db.close()
