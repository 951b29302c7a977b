"""A preflight that opted in is asked once per key: same inputs, context, data and code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from freshet.errors import BadInput
from freshet.preflight import run_preflights
from freshet.preflight_cache import PreflightCache
from tests.freshet import preflight_checks
from tests.freshet.test_preflight import single
from tests.freshet.tiny_pipelines import CHECKS


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    preflight_checks.CALLS.clear()


def called() -> list[str]:
    return [name for name, _, _ in preflight_checks.CALLS]


def ask(spec: dict[str, Any], cache: PreflightCache, x: int = 4) -> dict[str, Any]:
    return run_preflights(spec, {"x": x}, "local", cache=cache)


def test_a_result_is_reused_while_the_data_and_inputs_are_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = single(f"{CHECKS}:versioned", tmp_path)
    cache = PreflightCache(tmp_path / "kept")
    monkeypatch.setenv("PREFLIGHT_DATA_VERSION", "d1")
    first = ask(spec, cache)
    again = ask(spec, cache)
    assert called() == ["versioned"]
    assert first == again and again["data_version"] == "d1-4"
    assert len(list((tmp_path / "kept").glob("*.json"))) == 1

    ask(spec, cache, x=5)  # other inputs
    monkeypatch.setenv("PREFLIGHT_DATA_VERSION", "d2")  # new data behind the same URI
    assert ask(spec, cache)["data_version"] == "d2-4"
    assert called() == ["versioned"] * 3
    monkeypatch.delenv("PREFLIGHT_DATA_VERSION")  # the preflight cannot tell: asked each time
    ask(spec, cache)
    ask(spec, cache)
    assert called() == ["versioned"] * 5
    assert len(list((tmp_path / "kept").glob("*.json"))) == 3


def test_a_refusal_is_not_kept_and_nothing_is_kept_without_opting_in(tmp_path: Path) -> None:
    cache = PreflightCache(tmp_path / "kept")
    refusing = single(f"{CHECKS}:refuse_kept", tmp_path)
    for _ in range(2):
        with pytest.raises(BadInput, match="^x must not be negative: -1.$"):
            ask(refusing, cache, x=-1)
    ask(refusing, cache)
    ask(refusing, cache)
    assert called() == ["refuse_kept"] * 3
    plain = single(f"{CHECKS}:tie", tmp_path)
    ask(plain, cache)
    ask(plain, cache)
    assert called()[-2:] == ["tie", "tie"]
    assert len(list((tmp_path / "kept").glob("*.json"))) == 1  # refuse_kept with x=4


def test_an_unreadable_entry_is_asked_again_and_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFLIGHT_DATA_VERSION", "d1")
    spec = single(f"{CHECKS}:versioned", tmp_path)
    cache = PreflightCache(tmp_path / "kept")
    ask(spec, cache)
    [entry] = (tmp_path / "kept").glob("*.json")
    entry.write_text("{not json")
    assert ask(spec, cache)["data_version"] == "d1-4"
    assert called() == ["versioned"] * 2
    ask(spec, cache)
    assert called() == ["versioned"] * 2  # the rewritten entry serves again


def test_the_key_follows_the_preflights_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "mychecks.py"
    source = (
        "from freshet.preflight_cache import cached_on, inputs_only\n"
        "@cached_on(inputs_only)\n"
        "def check(inputs, context):\n"
        "    return {'seen': VERSION}\n"
        "VERSION = 1\n"
    )
    module.write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    cache = PreflightCache(tmp_path / "kept")
    context = {"notes": [], "runner": "local"}
    key = cache.key("mychecks:check", {"x": 4}, context)
    assert key is not None and key == cache.key("mychecks:check", {"x": 4}, context)
    assert cache.key("mychecks:check", {"x": 5}, context) != key
    assert cache.key("mychecks:check", {"x": 4}, {**context, "task": "regression"}) != key
    module.write_text(source.replace("VERSION = 1", "VERSION = 2"))  # an edited check
    assert cache.key("mychecks:check", {"x": 4}, context) != key
    assert cache.key(f"{CHECKS}:tie", {"x": 4}, context) is None  # not opted in
