from __future__ import annotations

import json
from pathlib import Path

import pytest

from freshet.data_updates import record_data_update
from freshet.errors import ConfigError
from freshet.history import record_run
from freshet.ops_settings import OpsSettings
from freshet.sla import check, evaluate
from tests.fakes.webhook import webhook_receiver
from tests.freshet.ops_fixtures import at, make_summary, write_summary
from tests.integration.helpers import freshet


def ops(url: str | None = None) -> OpsSettings:
    return OpsSettings(
        webhook_url=url,
        webhook_timeout_s=0.5,
        webhook_deadline_s=1.0,
        freshness_hours={"training": 6},
    )


def record(root: Path, run_id: str, hours: float, **kwargs: object) -> None:
    summary = make_summary(root, run_id, started=at(hours), **kwargs)  # type: ignore[arg-type]
    record_run(root, summary, write_summary(root, summary))


def test_no_data_update_is_not_a_breach(tmp_path: Path) -> None:
    [item] = evaluate(tmp_path, ops(), now=at(100))
    assert item.state == "no_data"


def test_within_the_deadline_it_is_waiting(tmp_path: Path) -> None:
    record_data_update(tmp_path, "training", "sha256-new", at(0))
    [item] = evaluate(tmp_path, ops(), now=at(5))
    assert item.state == "waiting"
    assert "due within 1 h" in item.message()


def test_a_successful_run_on_the_new_data_makes_it_fresh(tmp_path: Path) -> None:
    record_data_update(tmp_path, "training", "sha256-new", at(0))
    record(tmp_path, "training-ok", 1, data_version="sha256-new")
    [item] = evaluate(tmp_path, ops(), now=at(30))
    assert item.state == "fresh"
    assert item.covered_by is not None and item.covered_by.run_id == "training-ok"


def test_runs_before_the_update_or_failed_runs_do_not_count(tmp_path: Path) -> None:
    record(tmp_path, "training-old", -5, data_version="sha256-old")
    record_data_update(tmp_path, "training", "sha256-new", at(0))
    record(tmp_path, "training-crash", 1, status="failed", failed_step="train")
    [item] = evaluate(tmp_path, ops(), now=at(7))
    assert item.state == "breached"
    message = item.message()
    assert "sha256-new" in message and "passed 1 h ago" in message
    assert "training-crash failed in step 'train'" in message


def test_a_breach_is_alerted_once(tmp_path: Path) -> None:
    record_data_update(tmp_path, "training", "sha256-new", at(0))
    record(tmp_path, "training-crash", 1, status="failed", failed_step="train")
    with webhook_receiver() as hook:
        check(tmp_path, ops(hook.url), now=at(7))
        check(tmp_path, ops(hook.url), now=at(8))
    [body] = hook.received
    assert "stale" in body["text"] and "training-crash" in body["text"]
    assert "train" in body["text"]


def test_an_undelivered_breach_alert_is_tried_again(tmp_path: Path) -> None:
    record_data_update(tmp_path, "training", "sha256-new", at(0))
    with webhook_receiver(status=500, fail_first=0) as down:
        check(tmp_path, ops(down.url), now=at(7))
    with webhook_receiver() as up:
        check(tmp_path, ops(up.url), now=at(8))
    assert len(up.received) == 1


def test_no_deadline_configured_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No freshness deadlines"):
        evaluate(tmp_path, OpsSettings())


def test_cli_exits_1_with_a_clear_message_and_posts_the_alert(tmp_path: Path) -> None:
    record_data_update(tmp_path, "training", "sha256-new", at(0))
    with webhook_receiver() as hook:
        env = {
            "FRESHET_OPS__WEBHOOK_URL": hook.url,
            "FRESHET_OPS__FRESHNESS_HOURS": json.dumps({"training": 6}),
            "FRESHET_LOG_FORMAT": "json",
        }
        result = freshet("sla", "check", "--root", str(tmp_path), env=env, cwd=tmp_path)
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stderr.splitlines()]  # JSON lines only
    errors = [r["message"] for r in records if r["severity"] == "ERROR"]
    assert len(errors) == 1, errors
    assert errors[0].startswith("training: SLA breached: data version sha256-new"), errors
    assert "Traceback" not in result.stderr
    assert len(hook.received) == 1


def test_cli_is_quiet_and_exits_0_when_fresh(tmp_path: Path) -> None:
    result = freshet(
        "sla",
        "check",
        "--root",
        str(tmp_path),
        env={"FRESHET_OPS__FRESHNESS_HOURS": json.dumps({"training": 6})},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "no data update recorded yet" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "No freshness deadlines are configured"),
        ({"FRESHET_OPS__FRESHNESS_HOURS": '{"training": -1}'}, "must be positive hours: -1"),
        ({"FRESHET_OPS__WEBHOOK_URL": "slack"}, "must be an http:// or https:// URL"),
    ],
)
def test_cli_bad_settings_exit_2(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = freshet("sla", "check", "--root", str(tmp_path), env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
