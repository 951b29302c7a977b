"""`freshet runs list|show|cancel --remote` on Kubeflow Pipelines, against the fake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from typer.testing import CliRunner

from freshet.cli import app
from tests.fakes.kfp_fixtures import KfpEnv

cli = CliRunner()


def test_runs_list_and_show_remote_in_the_local_shape(kfp_env: KfpEnv) -> None:
    submitted = cli.invoke(
        app,
        ["submit", str(kfp_env.templates["failing"]), "--runner", "kfp",
         "--run-id", "failing-listed", "--param", "x=4", "--wait"],
    )  # fmt: skip
    assert submitted.exit_code == 1, submitted.output

    listed = cli.invoke(app, ["runs", "list", "--remote", "--runner", "kfp", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["run_id"]: row for row in json.loads(listed.stdout)}  # stdout is pure JSON
    row = rows["failing-listed"]
    assert (row["pipeline"], row["status"], row["reason"]) == ("failing", "failed", "manual")
    assert row["failed_step"] == "explode"

    shown = cli.invoke(
        app, ["runs", "show", "failing-listed", "--remote", "--runner", "kfp", "--json"]
    )
    assert shown.exit_code == 0, shown.output
    run = json.loads(shown.stdout)
    assert sorted((s["name"], s["status"]) for s in run["steps"]) == [
        ("add", "succeeded"),
        ("explode", "failed"),
    ]
    assert run["parameters"] == {"x": 4}
    assert run["failed_step"] == "explode"
    assert "finished with status FAILURE" in run["error"]
    assert not {"metrics", "notes", "decision"} & set(run)  # no evaluate or gate task ran
    assert run["console_url"] == f"{kfp_env.url}/#/runs/details/{run['kfp_run_id']}"


def test_show_of_an_unknown_run_is_one_sentence(kfp_env: KfpEnv) -> None:
    result = cli.invoke(app, ["runs", "show", "nope-123", "--remote", "--runner", "kfp"])

    assert result.exit_code == 2
    assert f"error: No run 'nope-123' on Kubeflow Pipelines at {kfp_env.url}." in result.output


def test_cancel_ends_a_followed_run(kfp_env: KfpEnv) -> None:
    """kfp's own wait_for_run_completion loops on CANCELED (kubeflow/pipelines#14473)."""
    follower = subprocess.Popen(
        [sys.executable, "-m", "freshet", "submit", str(kfp_env.templates["sleepy"]),
         "--runner", "kfp", "--run-id", "sleepy-cancelled", "--wait"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = [
                r for r in kfp_env.fake.runs.values()
                if r.body["display_name"] == "sleepy-cancelled" and r.process is not None
            ]  # fmt: skip
            if runs:
                break
            time.sleep(0.1)
        cancelled = cli.invoke(
            app, ["runs", "cancel", "sleepy-cancelled", "--remote", "--runner", "kfp"]
        )
        assert cancelled.exit_code == 0, cancelled.output
        assert "Cancel requested for run sleepy-cancelled on Kubeflow Pipelines" in (
            cancelled.output
        )
        out, err = follower.communicate(timeout=30)
    finally:
        follower.kill()
    assert follower.returncode == 1, err
    assert "Run sleepy-cancelled CANCELLED: http://" in out
    [run] = [r for r in kfp_env.fake.runs.values() if r.body["display_name"] == "sleepy-cancelled"]
    assert run.body["state"] == "CANCELED"


def test_cancel_needs_remote(kfp_env: KfpEnv) -> None:
    result = cli.invoke(app, ["runs", "cancel", "x"])
    assert result.exit_code == 2
    assert "Only remote runs can be cancelled" in result.output
