"""`freshet compile --target kfp` and per-target lint: one source, two engines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kfp import compiler
from typer.testing import CliRunner

from freshet.cli import app
from tests.fakes.kfp_fixtures import KfpEnv
from tests.freshet.kfp.kfp_pipelines import kubernetes_reference

cli = CliRunner()
GPU_SPOT = {
    "FRESHET_TRAIN_RESOURCES__ACCELERATOR_TYPE": "NVIDIA_L4",
    "FRESHET_TRAIN_RESOURCES__ACCELERATOR_COUNT": "1",
    "FRESHET_TRAIN_RESOURCES__SPOT": "true",
    "FRESHET_TRAIN_RESOURCES__MACHINE_TYPE": "g2-standard-8",
    "FRESHET_OPS__WEBHOOK_URL": "k8s://alerts-webhook/url",
}


def documents(path: Path) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(path.read_text()))


def kfp_kubernetes_reference(tmp: Path) -> dict[str, Any]:
    """The executor config kfp-kubernetes compiles for the reference pipeline's one task."""
    reference = kubernetes_reference()
    compiler.Compiler().compile(reference, str(tmp / "reference.yaml"))
    platform = documents(tmp / "reference.yaml")[1]
    executors: dict[str, Any] = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    return dict(executors["exec-train"])


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The training pipeline compiled for both targets with GPU, Spot and a k8s:// webhook."""
    tmp = tmp_path_factory.mktemp("compiled")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        for name, value in GPU_SPOT.items():
            mp.setenv(name, value)
        out = {}
        for target in ("kfp", "vertex"):
            result = cli.invoke(app, ["compile", "training", "--target", target])
            assert result.exit_code == 0, result.output
            out[target] = tmp / result.output.strip()
    return out


def test_compile_writes_one_file_per_target(compiled: dict[str, Path]) -> None:
    assert compiled["kfp"].parts[-3:] == ("pipelines", "kfp", "training.yaml")
    assert compiled["vertex"].parts[-3:] == ("pipelines", "vertex", "training.yaml")


def test_the_kfp_target_is_what_kfp_kubernetes_compiles(
    compiled: dict[str, Path], tmp_path: Path
) -> None:
    spec, platform = documents(compiled["kfp"])
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    reference = kfp_kubernetes_reference(tmp_path)
    train = executors["exec-train"]
    assert train["nodeSelector"] == reference["nodeSelector"]
    assert train["tolerations"] == reference["tolerations"]
    assert executors["exec-notify"]["secretAsEnv"] == reference["secretAsEnv"]
    assert set(executors) == {"exec-train", "exec-notify"}  # nothing else gets GPU/Spot/secret
    resources = spec["deploymentSpec"]["executors"]["exec-train"]["container"]["resources"]
    assert resources["accelerator"]["resourceType"] == "nvidia.com/gpu"
    assert resources["accelerator"]["resourceCount"] == "1"
    # Spot on GKE keeps the train task's retries: a reclaimed pod's retry resumes.
    [train_task] = [
        t for c in spec["components"].values() for n, t in c.get("dag", {}).get("tasks", {}).items()
        if n == "train"
    ]  # fmt: skip
    assert train_task["retryPolicy"]["maxRetryCount"] == 2


def test_the_vertex_target_keeps_vertex_forms(compiled: dict[str, Path]) -> None:
    [spec] = documents(compiled["vertex"])
    assert "exec-train" not in spec["deploymentSpec"]["executors"] or "nvidia.com/gpu" not in (
        str(spec["deploymentSpec"]["executors"]["exec-train"])
    )
    assert "g2-standard-8" in compiled["vertex"].read_text()  # the Spot CustomJob's machine


def test_each_template_lints_clean_for_its_own_target(compiled: dict[str, Path]) -> None:
    for target, path in compiled.items():
        result = cli.invoke(app, ["lint", str(path), "--target", target])
        assert result.exit_code == 0, (target, result.output)
        assert "no violations" in result.output


def test_lint_flags_the_other_targets_forms(compiled: dict[str, Path]) -> None:
    from freshet.lint.engine import lint_files

    on_vertex = lint_files([compiled["kfp"]], strict=False, target="vertex")
    assert {(f.task, f.rule) for f in on_vertex} == {("train", "vertex-accelerator-names")}
    on_kfp = lint_files([compiled["vertex"]], strict=False, target="kfp")
    assert ("train", "kfp-no-custom-jobs") in {(f.task, f.rule) for f in on_kfp}
    # A file under kfp/ is linted as a kfp template unless told otherwise.
    assert lint_files([compiled["kfp"]], strict=False) == []
    failed = cli.invoke(app, ["lint", str(compiled["kfp"]), "--target", "vertex"])
    assert failed.exit_code == 1


def test_a_gpu_template_for_kfp_really_runs_on_the_fake(
    kfp_env: KfpEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiled with its platform spec, read by the unmodified kfp.Client, run by kfp.local."""
    from freshet.compile import compile_for_target
    from freshet.config import load_settings

    pipelines = {"gpunap": "tests.freshet.kfp.kfp_pipelines:GPU_PIPELINE"}
    monkeypatch.setenv("FRESHET_PIPELINES", json.dumps(pipelines))
    monkeypatch.setenv("FRESHET_TRAIN_RESOURCES__ACCELERATOR_TYPE", "NVIDIA_L4")
    monkeypatch.setenv("FRESHET_TRAIN_RESOURCES__ACCELERATOR_COUNT", "1")
    template = compile_for_target("gpunap", load_settings(), "kfp", tmp_path)
    assert len(documents(template)) == 2
    lint = cli.invoke(app, ["lint", str(template), "--target", "kfp"])
    assert lint.exit_code == 0, lint.output

    run = cli.invoke(
        app, ["submit", str(template), "--runner", "kfp", "--run-id", "gpunap-1", "--wait"]
    )

    assert run.exit_code == 0, run.output
    [body] = [r.body for r in kfp_env.fake.runs.values() if r.body["display_name"] == "gpunap-1"]
    assert body["state"] == "SUCCEEDED"
    sent = body["pipeline_spec"]["platform_spec"]["platforms"]["kubernetes"]
    assert sent["deploymentSpec"]["executors"]["exec-train"]["nodeSelector"] == {
        "labels": {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    }


def test_an_unknown_target_is_refused() -> None:
    result = cli.invoke(app, ["compile", "training", "--target", "k8s"])
    assert result.exit_code == 2
    assert "Unknown compile target 'k8s': use vertex or kfp." in result.output
