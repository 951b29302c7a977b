from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from freshet.errors import BadInput
from freshet.history import (
    db_path,
    get_run,
    list_runs,
    record_run,
)
from tests.freshet.ops_fixtures import at, make_summary, write_summary
from tests.integration.helpers import freshet


@pytest.fixture
def root(tmp_path: Path) -> Path:
    runs = [
        make_summary(tmp_path, "training-1", started=at(0)),
        make_summary(tmp_path, "training-2", started=at(1), status="failed", failed_step="train"),
        make_summary(tmp_path, "training-3", started=at(2)),
        make_summary(tmp_path, "other-1", started=at(3), pipeline="other"),
    ]
    for summary in runs:
        record_run(tmp_path, summary, write_summary(tmp_path, summary))
    return tmp_path


def test_runs_are_listed_newest_first(root: Path) -> None:
    assert [r.run_id for r in list_runs(root)] == [
        "other-1",
        "training-3",
        "training-2",
        "training-1",
    ]


def test_filters_by_pipeline_and_status(root: Path) -> None:
    assert [r.run_id for r in list_runs(root, pipeline="training", status="succeeded")] == [
        "training-3",
        "training-1",
    ]
    [failed] = list_runs(root, status="failed")
    assert failed.failed_step == "train"
    assert "out of memory" in (failed.error or "")
    assert [r.run_id for r in list_runs(root, limit=1)] == ["other-1"]


def test_steps_are_stored_with_status_and_duration(root: Path) -> None:
    with sqlite3.connect(db_path(root)) as db:
        rows = db.execute(
            "SELECT name, status, seconds FROM steps WHERE run_id = 'training-2' ORDER BY position"
        ).fetchall()
    assert rows[2] == ("train", "failed", 1.5)
    assert rows[-1] == ("register", "skipped", 1.5)


def test_show_by_id_or_unique_prefix_keeps_every_field(root: Path) -> None:
    assert get_run(root, "training-2")["steps"][2]["status"] == "failed"
    assert get_run(root, "other")["run_id"] == "other-1"
    with pytest.raises(BadInput, match="ambiguous"):
        get_run(root, "training-")
    with pytest.raises(BadInput, match="No run 'nope'"):
        get_run(root, "nope")


def test_recording_twice_keeps_one_row(root: Path) -> None:
    summary = make_summary(root, "training-1", started=at(0), status="failed", failed_step="gate")
    record_run(root, summary)
    [row] = [r for r in list_runs(root) if r.run_id == "training-1"]
    assert row.status == "failed"
    assert len(list_runs(root)) == 4


def test_summaries_missing_from_the_history_are_imported(root: Path) -> None:
    late = make_summary(root, "training-4", started=at(5))
    write_summary(root, late)  # written, never recorded (a crash in between)
    assert list_runs(root)[0].run_id == "training-4"
    (root / "runs" / "broken").mkdir()
    (root / "runs" / "broken" / "summary.json").write_text("{not json")
    assert len(list_runs(root)) == 5


def test_bad_filters_are_refused(root: Path) -> None:
    with pytest.raises(BadInput, match="Unknown run status 'done'"):
        list_runs(root, status="done")
    with pytest.raises(BadInput, match="at least 1: 0"):
        list_runs(root, limit=0)


def test_cli_lists_and_shows(root: Path) -> None:
    listed = freshet("runs", "list", "--root", str(root), "--pipeline", "training")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    order = [next(i for i, line in enumerate(lines) if rid in line) for rid in ("-3", "-2", "-1")]
    assert order == sorted(order)
    assert "other-1" not in listed.stdout
    as_json = freshet("runs", "list", "--root", str(root), "--status", "failed", "--json")
    assert [r["run_id"] for r in json.loads(as_json.stdout)] == ["training-2"]
    shown = freshet("runs", "show", "training-2", "--root", str(root))
    assert shown.returncode == 0, shown.stderr
    assert "train" in shown.stdout and "out of memory" in shown.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("runs", "list", "--status", "done"), "Unknown run status 'done'"),
        (("runs", "list", "--limit", "0"), "at least 1: 0"),
        (("runs", "show", "nope"), "No run 'nope'"),
        (("report", "nope"), "No run 'nope'"),
    ],
)
def test_cli_bad_input_is_one_sentence_and_exit_2(
    root: Path, args: tuple[str, ...], message: str
) -> None:
    result = freshet(*args, "--root", str(root))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (root / "runs" / "nope").exists()
