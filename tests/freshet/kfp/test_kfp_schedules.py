"""`freshet schedule ... --runner kfp`: KFP recurring runs, 5-field cron in, 6-field out."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from freshet.cli import app
from freshet.errors import BadInput
from freshet.kfp.schedules import to_kfp_cron
from tests.fakes.kfp_fixtures import KfpEnv

cli = CliRunner()


@pytest.mark.parametrize(
    ("cron", "kfp"),
    [("0 3 * * *", "0 0 3 * * *"), ("*/15 8-18 * * MON-FRI", "0 */15 8-18 * * MON-FRI")],
)
def test_five_field_cron_becomes_kfps_six_fields(cron: str, kfp: str) -> None:
    assert to_kfp_cron(cron) == kfp


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("0 0 3 * * *", "it has 6 fields, not 5"),
        ("61 3 * * *", "'61' is not a valid minute (0-59)"),
        ("0 3 * *", "it has 4 fields, not 5"),
    ],
)
def test_a_malformed_cron_is_one_sentence(cron: str, problem: str) -> None:
    with pytest.raises(BadInput, match="^Cron expression .* is not valid: " + re.escape(problem)):
        to_kfp_cron(cron)


def test_schedule_create_list_pause_resume_delete(kfp_env: KfpEnv) -> None:
    plain = str(kfp_env.templates["plain"])
    created = cli.invoke(
        app,
        ["schedule", "create", plain, "--runner", "kfp", "--cron", "0 3 * * *",
         "--name", "plain-nightly", "--param", "x=7"],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    [recurring] = [
        r for r in kfp_env.fake.recurring.values() if r["display_name"] == "plain-nightly"
    ]
    assert recurring["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * *"
    assert recurring["runtime_config"]["parameters"] == {"x": 7}
    assert recurring["max_concurrency"] == 1
    assert recurring["no_catchup"] is True
    assert "Created schedule plain-nightly (id " in created.output
    assert ": 0 0 3 * * *, ENABLED" in created.output

    listed = cli.invoke(app, ["schedule", "list", "--runner", "kfp"])
    assert listed.exit_code == 0 and "plain-nightly" in listed.output

    paused = cli.invoke(app, ["schedule", "pause", "plain-nightly", "--runner", "kfp"])
    assert paused.exit_code == 0, paused.output
    assert recurring["status"] == "DISABLED"
    resumed = cli.invoke(app, ["schedule", "resume", "plain-nightly", "--runner", "kfp"])
    assert resumed.exit_code == 0 and recurring["status"] == "ENABLED"
    deleted = cli.invoke(
        app, ["schedule", "delete", recurring["recurring_run_id"], "--runner", "kfp"]
    )
    assert deleted.exit_code == 0, deleted.output
    assert "Deleted schedule plain-nightly" in deleted.output
    assert recurring["recurring_run_id"] not in kfp_env.fake.recurring


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cron", "0 0 3 * * *"], "Cron expression '0 0 3 * * *' is not valid"),
        (["--cron", "0 3 * * *", "--time-zone", "Europe/Berlin"], "runs schedules in UTC"),
        (["--cron", "0 3 * * *", "--max-runs", "3"], "have no run-count limit"),
    ],
)
def test_bad_schedules_are_refused_before_any_call(
    kfp_env: KfpEnv, extra: list[str], message: str
) -> None:
    seen = len(kfp_env.fake.requests)
    result = cli.invoke(
        app, ["schedule", "create", str(kfp_env.templates["plain"]), "--runner", "kfp", *extra]
    )
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert len(kfp_env.fake.requests) == seen


def test_an_unknown_schedule_is_one_sentence(kfp_env: KfpEnv) -> None:
    result = cli.invoke(app, ["schedule", "pause", "nope", "--runner", "kfp"])
    assert result.exit_code == 2
    assert "error: No schedule 'nope' in experiment 'freshet'" in result.output
