"""`trigger watch`: real file-system events through watchfiles."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from freshet.trigger.handler import Outcome, TriggerHandler
from freshet.trigger.ledger import Ledger
from freshet.trigger.watch import DirectoryWatcher
from tests.freshet.trigger.messages import wait_until

ROWS = "x1,x2,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(50))


def test_a_burst_of_writes_gives_one_run_and_same_content_none(
    tmp_path: Path, handler: TriggerHandler, ledger: Ledger
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    watcher = DirectoryWatcher(data, handler, parameters={"epochs": "2"}, settle_s=0.4)
    outcomes: list[Outcome] = []
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop, outcomes.append), daemon=True)
    thread.start()
    try:
        time.sleep(0.5)  # the watcher is up; an empty directory starts nothing
        for part in range(12):  # one burst: 12 files, each written in pieces
            path = data / f"part-{part:02d}.csv"
            with path.open("w") as out:
                for line in ROWS.splitlines(keepends=True)[:20]:
                    out.write(line)
                    out.flush()
            time.sleep(0.02)
        wait_until(lambda: len(outcomes) == 1, timeout=20, what="one run for the burst")
        time.sleep(1.0)  # nothing more may come from the same burst
        assert [o.status for o in outcomes] == ["submitted"]
        (data / "part-00.csv").write_text((data / "part-00.csv").read_text())  # same bytes
        wait_until(lambda: len(outcomes) == 2, timeout=20, what="the rewrite to settle")
        assert outcomes[1].status == "already_exists"
        (data / "part-99.csv").write_text(ROWS)
        wait_until(lambda: len(outcomes) == 3, timeout=20, what="the new file to settle")
        assert outcomes[2].status == "submitted"
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    runs = ledger.runs()
    assert len(runs) == 2
    assert {r["data_uri"] for r in runs} == {str(data.resolve())}
    assert all(str(r["data_version"]).startswith("sha256-") for r in runs)
    assert runs[0]["parameters"] == '{"epochs": "2"}'


def test_content_present_at_start_is_submitted_once(
    tmp_path: Path, handler: TriggerHandler, ledger: Ledger
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text(ROWS)
    watcher = DirectoryWatcher(data, handler, settle_s=0.2)
    first, second = watcher.trigger_once(), watcher.trigger_once()
    assert first is not None and second is not None
    assert (first.status, second.status) == ("submitted", "already_exists")
    assert len(ledger.runs()) == 1


def test_the_version_covers_names_and_bytes_of_every_visible_file(tmp_path: Path) -> None:
    from freshet.trigger.watch import directory_version

    data = tmp_path / "data"
    (data / "part").mkdir(parents=True)
    assert directory_version(data) is None
    (data / ".partial.tmp").write_text("half")
    assert directory_version(data) is None  # hidden files are not data
    (data / "part" / "a.json").write_text('{"x": 1}')  # any format: the watcher reads none
    first = directory_version(data)
    assert first is not None and first.startswith("sha256-")
    (data / ".partial.tmp").write_text("changed")
    assert directory_version(data) == first
    copy = tmp_path / "copy" / "part"
    copy.mkdir(parents=True)
    (copy / "a.json").write_text('{"x": 1}')
    assert directory_version(copy.parent) == first  # where it lies does not matter
    (copy / "a.json").rename(copy / "b.json")
    assert directory_version(copy.parent) != first  # the name does
