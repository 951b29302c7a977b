"""The figure cache: a report of an evaluation seen before reuses its PNGs, without matplotlib."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import freshet.report.figure_cache as figure_cache
from freshet.report import figure_cache_path, report_path, write_report
from freshet.report.figure_cache import FigureCache, figure_key
from freshet.report.figures import counts_png
from tests.freshet.ops_fixtures import make_summary, register_champion, write_summary

REPO = Path(__file__).resolve().parents[3]
PNG_URI = re.compile(r'src="(data:image/png;base64,[^"]+)"')
# One report in a fresh interpreter, as after a local run; prints what it imported.
WRITE = """
import json, sys
from freshet.report import write_report
summary = json.loads(open(sys.argv[1]).read())
write_report(summary, sys.argv[2], figure_cache=sys.argv[3] or None)
print(json.dumps({"matplotlib": "matplotlib" in sys.modules}))
"""


def _write_in_fresh_interpreter(summary: Path, out: Path, cache: Path | None) -> bool:
    """Writes a report in a new interpreter; whether it imported matplotlib."""
    result = subprocess.run(
        [sys.executable, "-c", WRITE, str(summary), str(out), str(cache or "")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return bool(json.loads(result.stdout.strip().splitlines()[-1])["matplotlib"])


def test_the_second_report_of_an_evaluation_reuses_its_pngs_without_matplotlib(
    tmp_path: Path,
) -> None:
    version = register_champion(tmp_path, "training-old", accuracy=0.95)
    summary = make_summary(tmp_path, "training-new", accuracy=0.97, champion_version=version)
    data = summary.model_dump()
    data["breakdowns"] = {"prediction_distribution": {"7": 30.0, "1": 20.0}}
    first = tmp_path / "first.json"
    first.write_text(json.dumps(data))
    # The warm re-run: same evaluation, other run id, other step times (the SVG changes).
    data["run_id"] = "training-newer"
    data["steps"][2].update(seconds=0.1, cached=True)
    second = tmp_path / "second.json"
    second.write_text(json.dumps(data))
    cache = figure_cache_path(tmp_path)

    assert _write_in_fresh_interpreter(first, tmp_path / "1.html", cache) is True
    assert len(list(cache.glob("*.png.b64"))) == 3  # matrix, per class, breakdown bars
    assert _write_in_fresh_interpreter(second, tmp_path / "2.html", cache) is False
    assert _write_in_fresh_interpreter(second, tmp_path / "3.html", None) is True  # no cache

    drawn = PNG_URI.findall((tmp_path / "1.html").read_text())
    reused = PNG_URI.findall((tmp_path / "2.html").read_text())
    assert len(drawn) == 3
    assert reused == drawn
    assert PNG_URI.findall((tmp_path / "3.html").read_text()) == drawn  # drawing is repeatable
    assert "1.5 s · cached" not in (tmp_path / "1.html").read_text()
    assert "0.1 s · cached" in (tmp_path / "2.html").read_text()


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"\xff\xfe not text",
        b"not a data uri",
        b"data:image/png;base64,!!!not base64!!!",
        b"data:image/png;base64," + base64.b64encode(b"GIF89a whole but not a png"),
        "truncated",
    ],
)
def test_a_damaged_entry_is_drawn_again_and_replaced(tmp_path: Path, damage: bytes | str) -> None:
    cache = FigureCache(tmp_path / "figures")
    inputs = {"title": "by class", "counts": {"cat": 7.0, "dog": 3.0}}
    whole = cache.figure(counts_png, **inputs)
    (entry,) = (tmp_path / "figures").iterdir()
    if damage == "truncated":  # a valid start, the end lost
        entry.write_text(whole[: len(whole) // 2])
    else:
        assert isinstance(damage, bytes)
        entry.write_bytes(damage)
    assert cache.figure(counts_png, **inputs) == whole
    assert entry.read_text() == whole


def test_keys_follow_name_inputs_order_and_version(monkeypatch: pytest.MonkeyPatch) -> None:
    base = figure_key("counts_png", {"title": "t", "counts": {"a": 1.0, "b": 2.0}})
    assert base == figure_key("counts_png", {"counts": {"a": 1.0, "b": 2.0}, "title": "t"})
    assert base != figure_key("per_class_png", {"title": "t", "counts": {"a": 1.0, "b": 2.0}})
    assert base != figure_key("counts_png", {"title": "t", "counts": {"a": 1.0, "b": 2.5}})
    # The bars are drawn in dict order: another order is another figure.
    assert base != figure_key("counts_png", {"title": "t", "counts": {"b": 2.0, "a": 1.0}})
    monkeypatch.setattr(figure_cache, "FIGURES_VERSION", figure_cache.FIGURES_VERSION + 1)
    assert base != figure_key("counts_png", {"title": "t", "counts": {"a": 1.0, "b": 2.0}})


def test_an_unwritable_cache_still_gives_the_figure(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    uri = FigureCache(blocker / "figures").figure(counts_png, title="t", counts={"a": 1.0})
    assert uri.startswith("data:image/png;base64,")
    html = write_report(
        make_summary(tmp_path, "training-x").model_dump(),
        tmp_path / "r.html",
        figure_cache=blocker / "figures",
    ).read_text()
    assert len(PNG_URI.findall(html)) == 2


def test_the_least_recently_used_entries_beyond_the_limit_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(figure_cache, "MAX_ENTRIES", 2)
    drawn: list[str] = []

    def tiny_png(name: str) -> str:
        drawn.append(name)
        return counts_png(title=name, counts={name: 1.0})

    cache = FigureCache(tmp_path)
    for name in ("a", "b", "a", "c", "a", "b"):  # the 2nd "a" is a hit: "b" is older; "c" evicts it
        cache.figure(tiny_png, name=name)
        time.sleep(0.05)  # past the file system's clock granularity: distinct mtimes
        if name == "c":
            assert len(list(tmp_path.glob("*.png.b64"))) == 2
    assert drawn == ["a", "b", "c", "b"]


def test_a_local_runs_report_keeps_its_figures_under_the_roots_cache(tmp_path: Path) -> None:
    from freshet.after_run import after_local_run
    from freshet.ops_settings import OpsSettings

    summary = make_summary(tmp_path, "training-1")
    after_local_run(tmp_path, summary, write_summary(tmp_path, summary), OpsSettings())
    html = report_path(tmp_path, "training-1").read_text()
    entries = sorted(p.read_text() for p in (tmp_path / "cache" / "report-figures").iterdir())
    assert entries == sorted(PNG_URI.findall(html)) and len(entries) == 2
