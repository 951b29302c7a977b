"""Issue 17's first acceptance: `freshet submit training --runner kfp --wait` against the fake
runs the shipped training pipeline (its kfp-target template) to success and prints its metrics.

Out of process, as a person types it; the fake executes the run with kfp.local, its steps
reaching the pipeline root (`gs://`) through the Cloud Storage emulator. The fake plays
upstream Kubeflow Pipelines (the most common backend): no artifact API, each task's output
files put under the pipeline root where upstream's launcher puts them, and freshet finds the
metrics there. (The artifact API of Data Science Pipelines is tested in
tests/freshet/kfp/test_kfp_artifacts.py.) About a minute.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.gcs import storage_client, storage_emulator
from tests.fakes.kfp_server import kfp_server


def test_submit_training_wait_runs_to_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        storage_emulator() as endpoint,
        kfp_server(artifact_api=False, storage_endpoint=endpoint) as (url, fake),
    ):
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", endpoint)  # the fake's steps inherit it
        storage_client(endpoint).create_bucket("kfp-root")
        env = {
            **os.environ,
            "FRESHET_KFP__HOST": url,
            "FRESHET_KFP__TOKEN": "fake-token",
            "FRESHET_KFP__PIPELINE_ROOT": "gs://kfp-root/root",
            "FRESHET_KFP__POLL_SECONDS": "0.5",
            "FRESHET_ROOT": str(tmp_path / "root"),
            "FRESHET_BUILD_DIR": str(tmp_path / "build"),
            "HOME": str(tmp_path),
        }
        done = subprocess.run(
            [sys.executable, "-m", "freshet", "submit", "training", "--runner", "kfp",
             "--data", "sample://digits", "--param", "epochs=2", "--run-id", "training-kfp-1",
             "--wait"],
            capture_output=True, text=True, env=env, timeout=600, check=False,
        )  # fmt: skip

        assert done.returncode == 0, done.stderr[-3000:]
        [run] = fake.runs.values()
        link = f"{url}/#/runs/details/{run.body['run_id']}"
        submitted, finished, metrics, gate = done.stdout.splitlines()
        assert submitted == f"Submitted run training-kfp-1: {link}"
        assert finished == f"Run training-kfp-1 SUCCEEDED: {link}"
        # The metrics printed are the evaluate task's `evaluation` file, and the gate's
        # decision its `report` file, read from the pipeline root (the artifact API is 404).
        tasks = {t["display_name"]: t for t in run.body["run_details"]["task_details"]}
        store = storage_client(endpoint).bucket("kfp-root")
        prefix = f"root/training/{run.body['run_id']}"

        def artifact(task: str, output: str) -> Any:
            [artifact_id] = tasks[task]["outputs"][output]["artifact_ids"]
            uri = fake.artifacts[artifact_id].body["uri"]
            assert re.fullmatch(f"gs://kfp-root/{prefix}/{task}/[0-9a-f-]{{36}}/{output}", uri)
            stored = store.blob(uri.removeprefix("gs://kfp-root/")).download_as_bytes()
            assert stored == fake.artifacts[artifact_id].path.read_bytes()
            return json.loads(stored)

        evaluation, report = artifact("evaluate", "evaluation"), artifact("gate", "report")
        expected = {**evaluation["metrics"], "test_rows": evaluation["test_rows"]}
        assert metrics.startswith(f"metrics: {report['metric']}=")  # the gate's metric first
        printed = dict(pair.split("=") for pair in metrics.removeprefix("metrics: ").split(", "))
        assert set(printed) == set(expected)
        assert all(abs(float(printed[k]) - v) < 5e-5 for k, v in expected.items()), metrics
        reasons = "; ".join(r.rstrip(".") for r in report["reasons"])
        assert gate == f"gate: {report['decision']} ({reasons})"
        assert (tmp_path / "build" / "kfp" / "training.yaml").exists()  # the kfp target ran
        tasks = {t["display_name"]: t["state"] for t in run.body["run_details"]["task_details"]}
        assert tasks and set(tasks.values()) == {"SUCCEEDED"}
        parameters = run.body["runtime_config"]["parameters"]
        assert parameters["registry_uri"] == "gs://kfp-root/root/registry"
        assert parameters["data_uri"] == "sample://digits"
        claim = storage_client(endpoint).bucket("kfp-root").blob("root/claims/training-kfp-1")
        assert claim.exists()
