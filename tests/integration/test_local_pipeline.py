"""The whole training pipeline, run locally from its compiled YAML by the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.datasets import load_digits

from tests.integration.helpers import freshet, steps_by_name, summary_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("work")


@pytest.fixture(scope="module")
def cold(workdir: Path) -> dict[str, Any]:
    result = freshet("run", "--root", str(workdir / "root"), cwd=workdir)
    assert result.returncode == 0, result.stderr + result.stdout
    return summary_of(workdir / "root", result.stdout)


def test_cold_run_trains_a_good_champion(cold: dict[str, Any], workdir: Path) -> None:
    assert cold["status"] == "succeeded"
    assert cold["decision"] == "passed"
    assert cold["metrics"]["accuracy"] >= 0.95
    assert {"f1_macro", "log_loss"} <= set(cold["metrics"])
    assert cold["data_version"].startswith("sha256-")
    steps = steps_by_name(cold)
    assert list(steps)[:5] == ["data-version", "fetch", "train", "evaluate", "gate"]
    assert all(s["status"] == "succeeded" and not s["cached"] for s in steps.values())
    for name in ("dataset", "model"):
        assert Path(cold["artifacts"][name]).exists()
    assert (Path(cold["artifacts"]["model"]) / "model.pt").exists()
    assert cold["champion"]["version"] == 1 and cold["champion"]["promoted_by_this_run"]
    # `freshet run` executed the compiled YAML, which the user can load and inspect
    assert Path(workdir / cold["template"]["path"]).exists()
    assert json.loads((workdir / "root/registry/model/aliases/champion.json").read_text()) == {
        "version": 1
    }


def test_rerun_unchanged_serves_fetch_and_train_from_cache(
    cold: dict[str, Any], workdir: Path
) -> None:
    result = freshet("run", "--root", str(workdir / "root"), cwd=workdir)
    assert result.returncode == 0, result.stderr
    warm = summary_of(workdir / "root", result.stdout)
    steps = steps_by_name(warm)
    assert steps["fetch"]["cached"] and steps["train"]["cached"] and steps["evaluate"]["cached"]
    assert not steps["data-version"]["cached"] and not steps["gate"]["cached"]
    assert warm["metrics"] == cold["metrics"]
    assert warm["run_id"] != cold["run_id"]
    assert warm["champion"]["version"] == 1 and not warm["champion"]["promoted_by_this_run"]
    # the candidate is the champion's very model: nothing to package, verify or register
    assert warm["decision"] == "unchanged"
    assert "is champion v1 itself" in warm["gate"]["reasons"][0]
    assert all(steps[name]["status"] == "skipped" for name in ("package", "verify", "register"))
    # the preflights' results were kept by the first run and reused (nothing new kept)
    kept = sorted((workdir / "root/cache/preflight").glob("*.json"))
    assert len(kept) == 3  # fetch, train and gate opted in


def test_changed_data_at_same_path_reruns_fetch(workdir: Path) -> None:
    frame = load_digits(as_frame=True).frame.rename(columns={"target": "label"})
    data = workdir / "mydata.csv"
    frame.iloc[:900].to_csv(data, index=False)
    root = str(workdir / "csvroot")
    args = (
        "run",
        "--root",
        root,
        "--data",
        str(data),
        "-p",
        "epochs=5",
        "-p",
        "gate_threshold=0.5",
    )
    first = freshet(*args, cwd=workdir)
    assert first.returncode == 0, first.stderr
    again = freshet(*args, cwd=workdir)
    frame.iloc[:1000].to_csv(data, index=False)
    changed = freshet(*args, cwd=workdir)
    assert changed.returncode == 0, changed.stderr
    s1, s2, s3 = (summary_of(Path(root), r.stdout) for r in (first, again, changed))
    assert steps_by_name(s2)["fetch"]["cached"]
    assert s3["data_version"] != s1["data_version"]
    assert not steps_by_name(s3)["fetch"]["cached"] and not steps_by_name(s3)["train"]["cached"]
    assert (
        sum(
            pd.read_parquet(Path(s3["artifacts"]["dataset"]) / f"{s}.parquet").shape[0]
            for s in ("train", "validation", "test")
        )
        == 1000
    )


def test_rejected_model_is_a_success_that_keeps_the_champion(
    cold: dict[str, Any], workdir: Path
) -> None:
    root = workdir / "root"
    result = freshet(
        "run", "--root", str(root), "-p", "gate_threshold=0.9999", "-p", "epochs=2", cwd=workdir
    )
    assert result.returncode == 0, result.stderr
    summary = summary_of(root, result.stdout)
    assert summary["decision"] == "rejected"
    assert "below the floor" in summary["gate"]["reasons"][0]
    assert steps_by_name(summary)["register"]["status"] == "skipped"
    assert summary["champion"]["version"] == 1 and not summary["champion"]["promoted_by_this_run"]


def test_fixed_run_id_runs_once(cold: dict[str, Any], workdir: Path) -> None:
    root = str(workdir / "root")
    first = freshet("run", "--root", root, "--run-id", "training-fixed-1", cwd=workdir)
    assert first.returncode == 0, first.stderr
    second = freshet("run", "--root", root, "--run-id", "training-fixed-1", cwd=workdir)
    assert second.returncode == 0
    assert "already exists" in second.stdout


def test_failing_step_exits_1_with_the_reason(cold: dict[str, Any], workdir: Path) -> None:
    root = workdir / "broken"
    alias = root / "registry/model/aliases/champion.json"
    alias.parent.mkdir(parents=True)
    alias.write_text("not json")
    result = freshet("run", "--root", str(root), "-p", "epochs=2", cwd=workdir)
    assert result.returncode == 1
    summary = summary_of(root, result.stdout)
    assert summary["status"] == "failed"
    assert steps_by_name(summary)["gate"]["status"] == "failed"
    assert "is corrupt" in summary["error"]
    assert "Traceback" not in result.stderr


def test_registry_in_cloud_storage(gcs_client: Any, gcs_endpoint: str, tmp_path: Path) -> None:
    # What a Vertex run does (its steps share no disk): the gate reads the champion from, and
    # register writes it to, the registry in Cloud Storage.
    gcs_client.create_bucket("freshet-registry")
    env = {"STORAGE_EMULATOR_HOST": gcs_endpoint, "GOOGLE_CLOUD_PROJECT": "freshet-test"}
    registry = ["-p", "registry_uri=gs://freshet-registry/registry", "-p", "gate_threshold=0.5"]
    root = str(tmp_path / "root")

    first = freshet("run", "--root", root, *registry, cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    promoted = summary_of(tmp_path / "root", first.stdout)
    assert promoted["decision"] == "passed"
    assert promoted["champion"]["version"] == 1 and promoted["champion"]["promoted_by_this_run"]
    alias = gcs_client.bucket("freshet-registry").blob("registry/model/aliases/champion.json")
    assert json.loads(alias.download_as_bytes()) == {"version": 1}

    worse = freshet(
        "run",
        "--root",
        root,
        *registry,
        "-p",
        "epochs=1",
        "-p",
        "hidden_units=4",
        cwd=tmp_path,
        env=env,
    )
    assert worse.returncode == 0, worse.stderr
    rejected = summary_of(tmp_path / "root", worse.stdout)
    assert rejected["decision"] == "rejected"
    assert "from champion v1 accuracy" in rejected["gate"]["reasons"][-1]
    assert rejected["champion"]["version"] == 1
    report = Path(rejected["artifacts"]["report"]).read_text()
    assert "Compared with the champion the gate judged this run against (v1)" in report


def test_a_run_that_fails_after_the_gate_keeps_its_metrics_and_decision(
    cold: dict[str, Any], workdir: Path
) -> None:
    # kfp.local returns no outputs for a failed run; the summary reads what the finished
    # steps wrote, so the failure alert and report still say how good the model was.
    root = workdir / "verify-fails"
    result = freshet(
        "run", "--root", str(root), "-p", "epochs=2", "-p", "gate_threshold=0.5",
        "-p", "serve_command=false", cwd=workdir,
    )  # fmt: skip
    assert result.returncode == 1
    summary = summary_of(root, result.stdout)
    assert summary["status"] == "failed"
    assert steps_by_name(summary)["verify"]["status"] == "failed"
    assert summary["decision"] == "passed"
    assert summary["metrics"]["accuracy"] >= 0.5
    assert summary["gate"]["decision"] == "passed"
    assert Path(summary["artifacts"]["model"]).joinpath("model.pt").exists()
    assert summary["champion"] is None  # register never ran
