"""Run history: every run, its steps and every data update seen, in `<root>/history.sqlite`.

The local runner records each run from its summary; the data updates the trigger sees and
the alerts delivered share the database (`freshet.data_updates`).
`runs/<id>/summary.json` stays the source of truth: a summary the database missed (a crash
between the two writes, a root copied from elsewhere) is imported the next time runs are read.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from freshet.errors import BadInput
from freshet.summary import RunSummary

DB_NAME = "history.sqlite"
STATUSES = ("succeeded", "failed")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    status TEXT NOT NULL,
    decision TEXT,
    reason TEXT NOT NULL,
    data_uri TEXT,
    data_version TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    seconds REAL NOT NULL,
    failed_step TEXT,
    error TEXT,
    summary_path TEXT,
    summary TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_pipeline ON runs (pipeline, started_at);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    seconds REAL NOT NULL,
    cached INTEGER NOT NULL,
    PRIMARY KEY (run_id, position)
);
CREATE TABLE IF NOT EXISTS data_updates (
    pipeline TEXT NOT NULL,
    data_version TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (pipeline, data_version)
);
CREATE TABLE IF NOT EXISTS alerts_sent (
    key TEXT PRIMARY KEY,
    sent_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class RunRow:
    """One line of `freshet runs list`."""

    run_id: str
    pipeline: str
    status: str
    decision: str | None
    reason: str
    data_version: str | None
    started_at: datetime
    finished_at: datetime
    seconds: float
    failed_step: str | None
    error: str | None


def db_path(root: str | Path) -> Path:
    """Where the history of a local root lives."""
    return Path(root) / DB_NAME


# Databases this process has already created the schema in.
_READY: set[Path] = set()


@contextmanager
def connect(root: str | Path) -> Iterator[sqlite3.Connection]:
    """An open connection to the history of `root` (created on first use), committed on exit."""
    path = db_path(root)
    fresh = path not in _READY or not path.exists()
    if fresh:
        path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=10.0)) as db:
        db.row_factory = sqlite3.Row
        # WAL with synchronous=NORMAL: a commit survives the process crashing, and costs no
        # fsync (the trigger records every data update it sees; see bench/trigger.py).
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        if fresh:
            db.execute("PRAGMA journal_mode=WAL")  # stored in the file: once is enough
            db.executescript(_SCHEMA)
            _READY.add(path)
        with db:
            yield db


def parse_time(value: str) -> datetime:
    """An ISO-8601 timestamp as an aware UTC datetime (naive values are taken as UTC)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def failed_step(summary: RunSummary) -> str | None:
    """The first step that failed, if any."""
    return next((s.name for s in summary.steps if s.status == "failed"), None)


def record_run(root: str | Path, summary: RunSummary, summary_path: Path | None = None) -> None:
    """Records (or re-records) a finished run from its summary.

    Args:
        root: The local root.
        summary: The run's summary as the runner wrote it.
        summary_path: Where that summary lies.
    """
    started = parse_time(summary.started_at)
    finished = started + timedelta(seconds=summary.seconds)
    with connect(root) as db:
        _insert(db, summary, finished, summary_path)


def _insert(
    db: sqlite3.Connection, summary: RunSummary, finished: datetime, summary_path: Path | None
) -> None:
    db.execute("DELETE FROM runs WHERE run_id = ?", (summary.run_id,))
    db.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            summary.run_id,
            summary.pipeline,
            summary.status,
            summary.decision,
            summary.reason,
            summary.data_uri,
            summary.data_version,
            parse_time(summary.started_at).isoformat(),
            finished.isoformat(),
            summary.seconds,
            failed_step(summary),
            summary.error,
            str(summary_path) if summary_path else None,
            summary.model_dump_json(),
            datetime.now(UTC).isoformat(),
        ),
    )
    db.executemany(
        "INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?)",
        [
            (summary.run_id, i, s.name, s.status, s.seconds, int(s.cached))
            for i, s in enumerate(summary.steps)
        ],
    )


def import_summaries(root: str | Path) -> int:
    """Records every `runs/*/summary.json` under `root` the history does not hold yet.

    Returns:
        How many runs were imported (unreadable summaries are skipped).
    """
    runs_dir = Path(root) / "runs"
    if not runs_dir.is_dir():
        return 0
    with connect(root) as db:
        known = {row[0] for row in db.execute("SELECT run_id FROM runs")}
        count = 0
        for path in sorted(runs_dir.glob("*/summary.json")):
            if path.parent.name in known:
                continue
            try:
                summary = RunSummary.model_validate_json(path.read_text())
            except (OSError, ValueError):
                continue
            started = parse_time(summary.started_at)
            _insert(db, summary, started + timedelta(seconds=summary.seconds), path)
            count += 1
    return count


def run_row(row: sqlite3.Row) -> RunRow:
    """A row of the `runs` table as a `RunRow`."""
    return RunRow(
        run_id=row["run_id"],
        pipeline=row["pipeline"],
        status=row["status"],
        decision=row["decision"],
        reason=row["reason"],
        data_version=row["data_version"],
        started_at=parse_time(row["started_at"]),
        finished_at=parse_time(row["finished_at"]),
        seconds=row["seconds"],
        failed_step=row["failed_step"],
        error=row["error"],
    )


def check_listing(status: str | None, limit: int) -> None:
    """Checks the options of a run listing.

    Raises:
        BadInput: `status` is not one of "succeeded", "failed"; `limit` is below 1.
    """
    if status is not None and status not in STATUSES:
        raise BadInput(f"Unknown run status '{status}'; use one of: {', '.join(STATUSES)}.")
    if limit < 1:
        raise BadInput(f"The limit must be at least 1: {limit}.")


def list_runs(
    root: str | Path,
    *,
    pipeline: str | None = None,
    status: str | None = None,
    limit: int = 20,
) -> list[RunRow]:
    """Runs newest first, optionally only one pipeline's or one status.

    Raises:
        BadInput: `status` is not one of "succeeded", "failed"; `limit` is below 1.
    """
    check_listing(status, limit)
    import_summaries(root)
    clauses, args = [], []
    if pipeline is not None:
        clauses.append("pipeline = ?")
        args.append(pipeline)
    if status is not None:
        clauses.append("status = ?")
        args.append(status)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    with connect(root) as db:
        rows = db.execute(
            f"SELECT * FROM runs {where} ORDER BY started_at DESC, run_id DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
    return [run_row(r) for r in rows]


def get_run(root: str | Path, run_id: str) -> dict[str, Any]:
    """The full summary of one run, by id or by an unambiguous id prefix.

    Returns:
        The summary as the runner wrote it (fields other engineers add included).

    Raises:
        BadInput: No run, or more than one run, matches.
    """
    import_summaries(root)
    with connect(root) as db:
        rows = db.execute(
            "SELECT run_id, summary FROM runs WHERE run_id = ? OR run_id LIKE ? ESCAPE '\\' "
            "ORDER BY run_id LIMIT 6",
            (run_id, _escape_like(run_id) + "%"),
        ).fetchall()
    exact = [r for r in rows if r["run_id"] == run_id]
    if exact:
        rows = exact
    if not rows:
        raise BadInput(f"No run '{run_id}' in the history under '{root}'.")
    if len(rows) > 1:
        names = ", ".join(r["run_id"] for r in rows[:5])
        raise BadInput(f"Run id '{run_id}' is ambiguous: it starts {names}.")
    summary: dict[str, Any] = json.loads(rows[0]["summary"])
    return summary


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def previous_run(root: str | Path, run_id: str) -> RunRow | None:
    """The run of the same pipeline that started just before `run_id`, if any."""
    with connect(root) as db:
        row = db.execute(
            "SELECT b.* FROM runs a JOIN runs b ON a.pipeline = b.pipeline "
            "AND b.started_at < a.started_at WHERE a.run_id = ? "
            "ORDER BY b.started_at DESC LIMIT 1",
            (run_id,),
        ).fetchone()
    return run_row(row) if row else None


def latest_success(root: str | Path, pipeline: str) -> RunRow | None:
    """The most recent successful run of a pipeline."""
    rows = list_runs(root, pipeline=pipeline, status="succeeded", limit=1)
    return rows[0] if rows else None
