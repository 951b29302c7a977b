"""Metrics of a run on Kubeflow Pipelines, read from its evaluate task's `evaluation` artifact.

One run of a small pipeline shaped like training (an `evaluate` task inside a sub-pipeline)
goes through the fake; the tests then read it back as a Data Science Pipelines backend serves
it (signed download URL), as upstream KFP 2.x does (no artifact API: 404), and as an API that
gives only the artifact's `gs://` URI (read through the Cloud Storage emulator).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from freshet.cli import app
from freshet.config import load_settings
from freshet.kfp.artifacts import get_artifact
from freshet.kfp.client import KfpSession
from tests.fakes.gcs import storage_client, storage_emulator
from tests.fakes.kfp_fixtures import KfpEnv, kfp_settings_env
from tests.fakes.kfp_server import FakeKfp

cli = CliRunner()


@dataclass
class Scored:
    """The run: freshet's output of `submit --wait`, KFP's run id, the evaluation's file."""

    output: str
    exit_code: int
    kfp_run_id: str
    evaluation: Path
    artifact_id: str
    gate_report: Path


@pytest.fixture(scope="module")
def scored(
    kfp_fake: tuple[str, FakeKfp],
    kfp_templates: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scored]:
    """`freshet submit scored.yaml --runner kfp --wait`, once for the module."""
    url, fake = kfp_fake
    with pytest.MonkeyPatch.context() as mp:
        kfp_settings_env(mp, url, tmp_path_factory.mktemp("scored"))
        result = cli.invoke(
            app,
            ["submit", str(kfp_templates["scored"]), "--runner", "kfp", "--run-id", "scored-1",
             "--param", "right=7", "--param", "rows=9", "--wait"],
        )  # fmt: skip
    [run] = [r for r in fake.runs.values() if r.body["display_name"] == "scored-1"]
    tasks = {t["display_name"]: t for t in run.body["run_details"]["task_details"]}
    [artifact_id] = tasks["evaluate"]["outputs"]["evaluation"]["artifact_ids"]
    [report_id] = tasks["gate"]["outputs"]["report"]["artifact_ids"]
    yield Scored(
        output=result.output,
        exit_code=result.exit_code,
        kfp_run_id=run.body["run_id"],
        evaluation=fake.artifacts[artifact_id].path,
        artifact_id=artifact_id,
        gate_report=fake.artifacts[report_id].path,
    )


def _metrics_line(evaluation: Path) -> str:
    """The line freshet should print for an evaluation file, from the file's own values."""
    document = json.loads(evaluation.read_text())
    values = {**document["metrics"], "test_rows": document["test_rows"]}
    return "metrics: " + ", ".join(f"{k}={float(v):.4f}" for k, v in values.items())


def _gate_line(report: Path) -> str:
    document = json.loads(report.read_text())
    reasons = "; ".join(r.rstrip(".") for r in document["reasons"])
    return f"gate: {document['decision']} ({reasons})"


def test_submit_wait_prints_the_metrics_and_the_gate_decision(scored: Scored) -> None:
    assert scored.exit_code == 0, scored.output
    lines = scored.output.splitlines()
    finished = next(i for i, line in enumerate(lines) if line.startswith("Run scored-1 "))
    assert "SUCCEEDED" in lines[finished]
    assert lines[finished + 1] == _metrics_line(scored.evaluation)
    assert lines[finished + 1].startswith("metrics: accuracy=0.7778, ")  # 7 right of 9
    assert lines[finished + 2] == _gate_line(scored.gate_report)
    assert lines[finished + 2].startswith("gate: passed (accuracy 0.7778 against the floor")


def test_runs_show_remote_prints_the_metrics(kfp_env: KfpEnv, scored: Scored) -> None:
    shown = cli.invoke(app, ["runs", "show", scored.kfp_run_id, "--remote", "--runner", "kfp"])
    assert shown.exit_code == 0, shown.output
    assert _metrics_line(scored.evaluation) in shown.output.splitlines()
    assert _gate_line(scored.gate_report) in shown.output.splitlines()

    as_json = cli.invoke(
        app, ["runs", "show", scored.kfp_run_id, "--remote", "--runner", "kfp", "--json"]
    )
    run = json.loads(as_json.stdout)
    document = json.loads(scored.evaluation.read_text())
    assert run["metrics"] == {**document["metrics"], "test_rows": document["test_rows"]}
    assert run["gate"] == json.loads(scored.gate_report.read_text())
    assert run["decision"] == "passed"
    assert sorted(s["name"] for s in run["steps"]) == ["evaluate", "gate"]  # not the sub-DAG


def test_a_cached_evaluate_task_still_gives_its_metrics(kfp_env: KfpEnv, scored: Scored) -> None:
    """KFP marks a task whose result came from the cache SKIPPED and lists the reused outputs.

    (The fake runs kfp.local without its cache, so the state is set here.)
    """
    [run] = [r for r in kfp_env.fake.runs.values() if r.body["run_id"] == scored.kfp_run_id]
    [task] = [t for t in run.body["run_details"]["task_details"] if t["display_name"] == "evaluate"]
    task["state"] = "SKIPPED"
    try:
        shown = cli.invoke(
            app, ["runs", "show", scored.kfp_run_id, "--remote", "--runner", "kfp", "--json"]
        )
    finally:
        task["state"] = "SUCCEEDED"

    run_shown = json.loads(shown.stdout)
    [step] = [s for s in run_shown["steps"] if s["name"] == "evaluate"]
    assert step["cached"] is True
    assert run_shown["metrics"]["accuracy"] == pytest.approx(7 / 9)


def test_a_backend_without_the_artifact_api_gives_one_note(kfp_env: KfpEnv, scored: Scored) -> None:
    """Upstream KFP 2.x answers 404 on /apis/v2beta1/artifacts/ID: the command still works."""
    kfp_env.fake.artifact_api = False
    try:
        shown = cli.invoke(app, ["runs", "show", scored.kfp_run_id, "--remote", "--runner", "kfp"])
    finally:
        kfp_env.fake.artifact_api = True

    assert shown.exit_code == 0, shown.output
    link = f"{kfp_env.url}/#/runs/details/{scored.kfp_run_id}"
    assert (
        "note: Metrics are not available from this Kubeflow Pipelines backend (it serves no "
        f"artifact API): they are in the KFP UI at {link}."
    ) in shown.output
    assert "metrics: " not in shown.output
    assert "Traceback" not in shown.output


def test_submit_wait_on_a_backend_without_the_artifact_api_exits_as_the_run_ended(
    kfp_env: KfpEnv,
) -> None:
    kfp_env.fake.artifact_api = False
    try:
        result = cli.invoke(
            app,
            ["submit", str(kfp_env.templates["scored"]), "--runner", "kfp",
             "--run-id", "scored-upstream", "--wait"],
        )  # fmt: skip
    finally:
        kfp_env.fake.artifact_api = True

    assert result.exit_code == 0, result.output
    assert "Run scored-upstream SUCCEEDED: " in result.output
    assert "note: Metrics are not available from this Kubeflow Pipelines backend" in result.output
    assert "metrics: " not in result.output and "gate: " not in result.output


def test_without_a_signed_url_the_gs_uri_is_read(
    kfp_env: KfpEnv, scored: Scored, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API that gives only the artifact's URI: read from Cloud Storage (the emulator)."""
    kfp_env.fake.artifacts.signed_urls = False
    try:
        with storage_emulator() as endpoint:
            monkeypatch.setenv("STORAGE_EMULATOR_HOST", endpoint)
            args = ["runs", "show", scored.kfp_run_id, "--remote", "--runner", "kfp"]
            missing = cli.invoke(app, args)  # the bucket has no such object yet
            uri = kfp_env.fake.artifacts[scored.artifact_id].body["uri"]
            bucket, _, name = uri.removeprefix("gs://").partition("/")
            client = storage_client(endpoint)
            client.create_bucket(bucket).blob(name).upload_from_filename(str(scored.evaluation))
            found = cli.invoke(app, args)
    finally:
        kfp_env.fake.artifacts.signed_urls = True

    assert missing.exit_code == 0, missing.output
    assert f"note: Metrics could not be read ({uri} cannot be read: 404" in missing.output
    assert found.exit_code == 0, found.output
    assert _metrics_line(scored.evaluation) in found.output.splitlines()


def test_an_artifact_only_the_cluster_can_read_gives_one_note(
    kfp_env: KfpEnv, scored: Scored
) -> None:
    """No signed URL and a URI freshet cannot read (MinIO inside the cluster)."""
    artifact = kfp_env.fake.artifacts[scored.artifact_id]
    uri = artifact.body["uri"]
    kfp_env.fake.artifacts.signed_urls = False
    artifact.body["uri"] = "minio://mlpipeline/v2/artifacts/scored/evaluation"
    try:
        shown = cli.invoke(app, ["runs", "show", scored.kfp_run_id, "--remote", "--runner", "kfp"])
    finally:
        kfp_env.fake.artifacts.signed_urls = True
        artifact.body["uri"] = uri

    assert shown.exit_code == 0, shown.output
    link = f"{kfp_env.url}/#/runs/details/{scored.kfp_run_id}"
    assert (
        "note: minio://mlpipeline/v2/artifacts/scored/evaluation cannot be read from here: the "
        f"metrics are in the KFP UI at {link}."
    ) in shown.output
    assert "metrics: " not in shown.output


def test_a_file_that_is_no_evaluation_gives_one_note(
    kfp_env: KfpEnv, scored: Scored, tmp_path: Path
) -> None:
    artifact = kfp_env.fake.artifacts[scored.artifact_id]
    path, artifact.path = artifact.path, tmp_path / "evaluation"
    artifact.path.write_text("not json")
    try:
        shown = cli.invoke(app, ["runs", "show", scored.kfp_run_id, "--remote", "--runner", "kfp"])
    finally:
        artifact.path = path

    assert shown.exit_code == 0, shown.output
    assert "note: Metrics could not be read (Expecting value: line 1 column 1 (char 0)): see " in (
        shown.output
    )
    assert _gate_line(scored.gate_report) in shown.output.splitlines()  # the rest still shows


def _session() -> KfpSession:
    """A session from the settings `kfp_env` put in the environment."""
    return KfpSession.open(load_settings(runner="kfp"))


def test_the_artifact_api_views_and_an_unknown_id(kfp_env: KfpEnv, scored: Scored) -> None:
    """Through kfp.Client's own ApiClient: BASIC has no URL, DOWNLOAD one; 404 is None."""
    session = _session()
    api = session.client._run_api.api_client
    basic: dict[str, Any] = api.call_api(
        f"/apis/v2beta1/artifacts/{scored.artifact_id}",
        "GET",
        query_params=[("view", "BASIC")],
        header_params={"Accept": "application/json"},
        response_type="object",
        auth_settings=["Bearer"],
        _return_http_data_only=True,
    )
    assert "download_url" not in basic
    assert basic["uri"].endswith(f"/scored/{scored.kfp_run_id}/evaluate/evaluation")
    assert basic["artifact_size"] == str(scored.evaluation.stat().st_size)

    downloadable = get_artifact(session, scored.artifact_id)
    assert downloadable is not None
    assert downloadable["download_url"].startswith(f"{kfp_env.url}/artifact-download/")
    assert get_artifact(session, "999999") is None


def test_the_signed_url_is_the_only_credential(kfp_env: KfpEnv, scored: Scored) -> None:
    session = _session()
    artifact = get_artifact(session, scored.artifact_id)
    assert artifact is not None
    url = str(artifact["download_url"])

    with urllib.request.urlopen(url) as answer:  # no token: the signature is enough
        assert answer.read() == scored.evaluation.read_bytes()
    tampered = url.replace("signature=", "signature=0")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered)
    assert refused.value.code == 403
    with_token = urllib.request.Request(url, headers={"Authorization": "Bearer fake-token"})
    with pytest.raises(urllib.error.HTTPError) as doubled:
        urllib.request.urlopen(with_token)
    assert doubled.value.code == 400


def test_the_artifact_api_wants_the_token(kfp_env: KfpEnv, scored: Scored) -> None:
    request = urllib.request.Request(f"{kfp_env.url}/apis/v2beta1/artifacts/{scored.artifact_id}")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 401
