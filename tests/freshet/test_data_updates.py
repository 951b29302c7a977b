"""Data updates: the first sighting of each version counts, from any thread."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from freshet.data_updates import DataUpdateRecorder, latest_data_update, record_data_update
from tests.freshet.ops_fixtures import at


def test_data_updates_keep_their_first_sighting(tmp_path: Path) -> None:
    assert record_data_update(tmp_path, "training", "v1", at(0)) is True
    assert record_data_update(tmp_path, "training", "v2", at(2)) is True
    assert record_data_update(tmp_path, "training", "v1", at(5)) is False  # redelivery
    latest = latest_data_update(tmp_path, "training")
    assert latest is not None and (latest.data_version, latest.seen_at) == ("v2", at(2))
    assert latest_data_update(tmp_path, "other") is None


def test_the_trigger_s_recorder_keeps_the_first_sighting_across_threads(tmp_path: Path) -> None:
    recorder = DataUpdateRecorder(tmp_path)
    first = datetime(2030, 1, 1, 3, 0, tzinfo=UTC)
    assert recorder.record("training", "gen-1", first) is True
    outcomes: list[bool] = []
    thread = threading.Thread(
        target=lambda: outcomes.append(recorder.record("training", "gen-1", datetime.now(UTC)))
    )
    thread.start()
    thread.join()
    assert outcomes == [False]  # a redelivery, on another thread's connection
    assert record_data_update(tmp_path, "training", "gen-1") is False
    seen = latest_data_update(tmp_path, "training")
    assert seen is not None and (seen.data_version, seen.seen_at) == ("gen-1", first)
