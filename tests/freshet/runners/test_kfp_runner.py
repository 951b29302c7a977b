"""`freshet submit --runner kfp` against the KFP fake, driven by the unmodified kfp.Client."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

from typer.testing import CliRunner

from freshet.cli import app
from freshet.config import load_settings
from freshet.kfp.claims import Claims, GcsClaims
from freshet.runners import RunRequest
from freshet.runners.kfp import KfpRunner
from tests.fakes.gcs import storage_client, storage_emulator
from tests.fakes.kfp_fixtures import KfpEnv
from tests.fakes.kfp_server import kfp_server

cli = CliRunner()


def _runs_named(env: KfpEnv, run_id: str) -> list[dict[str, object]]:
    return [r.body for r in env.fake.runs.values() if r.body.get("display_name") == run_id]


def test_submit_wait_runs_the_pipeline_to_success_out_of_process(kfp_env: KfpEnv) -> None:
    """As a person types it: the console script; kfp.Client's prints stay off stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "freshet", "submit", str(kfp_env.templates["plain"]),
         "--runner", "kfp", "--run-id", "plain-w1", "--param", "x=5", "--wait"],
        capture_output=True, text=True, env=os.environ.copy(), timeout=180, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    [run] = _runs_named(kfp_env, "plain-w1")
    link = f"{kfp_env.url}/#/runs/details/{run['run_id']}"
    assert done.stdout.splitlines() == [
        f"Submitted run plain-w1: {link}",
        f"Run plain-w1 SUCCEEDED: {link}",
    ]
    states = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("plain-w1: ")]
    assert states[-1] == "SUCCEEDED" and set(states) <= {"PENDING", "RUNNING", "SUCCEEDED"}
    assert run["runtime_config"]["parameters"]["x"] == 5  # type: ignore[index]
    assert run["state"] == "SUCCEEDED"
    assert "Traceback" not in done.stderr


def test_submit_wait_exits_1_naming_the_failed_step(kfp_env: KfpEnv) -> None:
    result = cli.invoke(
        app, ["submit", str(kfp_env.templates["failing"]), "--runner", "kfp", "--wait"]
    )

    assert result.exit_code == 1, result.output
    assert re.search(r"Run failing-\S+ FAILED: http://", result.output)
    assert "error: Pipeline 'failing' finished with status FAILURE" in result.output
    assert "'explode'" in result.output


def test_the_same_run_id_twice_gives_one_run(kfp_env: KfpEnv) -> None:
    args = ["submit", str(kfp_env.templates["plain"]), "--runner", "kfp", "--run-id", "plain-2x"]
    first = cli.invoke(app, args)
    second = cli.invoke(app, args)

    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    [run] = _runs_named(kfp_env, "plain-2x")
    link = f"{kfp_env.url}/#/runs/details/{run['run_id']}"
    assert f"Submitted run plain-2x: {link}" in first.output
    assert f"Run plain-2x already submitted: {link}" in second.output
    kfp_env.fake.wait(str(run["run_id"]))


def test_20_concurrent_submissions_of_one_data_version_give_one_run(
    kfp_templates: dict[str, Path],
) -> None:
    """Twenty workers, each with its own client and claims, race through Cloud Storage."""
    with storage_emulator() as endpoint, kfp_server(execute=False) as (url, fake):
        client = storage_client(endpoint)
        client.create_bucket("kfp-root")
        settings = load_settings(
            runner="kfp",
            kfp={
                "host": url,
                "token": "fake-token",
                "pipeline_root": "gs://kfp-root/root",
            },
        )
        request = RunRequest(
            pipeline="plain",
            template=kfp_templates["plain"],
            run_id="plain-sha256-0123456789abcdef-v42",
            data_version="v42",
            reason="data-update",
        )
        results: list[str] = []
        errors: list[BaseException] = []
        start = threading.Barrier(20)

        def worker() -> None:
            try:
                claims = Claims(GcsClaims("gs://kfp-root/root/claims", storage_client(endpoint)))
                runner = KfpRunner(settings, claims=claims)
                start.wait()
                results.append(runner.submit(request).status)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        assert not errors, errors
        assert sorted(results) == ["already_exists"] * 19 + ["submitted"]
        assert len(fake.runs) == 1
        claim = json.loads(
            client.bucket("kfp-root")
            .blob("root/claims/plain-sha256-0123456789abcdef-v42")
            .download_as_bytes()
        )
        assert claim["state"] == "submitted"
        assert claim["kfp_run_id"] == next(iter(fake.runs))
        assert claim["meta"] == {
            "pipeline": "plain",
            "reason": "data-update",
            "data_version": "v42",
        }
