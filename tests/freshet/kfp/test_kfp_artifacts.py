"""Metrics of a run on Kubeflow Pipelines, read from its evaluate task's `evaluation` artifact.

One run of a small pipeline shaped like training (an `evaluate` task inside a sub-pipeline)
goes through the fake, its `gs://` pipeline root being a Cloud Storage emulator where the fake
puts each task's files as upstream's launcher does; the tests then read it back as a Data
Science Pipelines backend serves it (signed download URL), as upstream KFP 2.x does (no
artifact API: 404, the files found under the pipeline root), and as an API that gives only the
artifact's `gs://` URI.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
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


UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def bucket() -> Iterator[str]:
    """The Cloud Storage emulator behind the fake's `gs://kfp-root/root` pipeline root."""
    with storage_emulator() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def scored(
    kfp_fake: tuple[str, FakeKfp],
    kfp_templates: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
    bucket: str,
) -> Iterator[Scored]:
    """`freshet submit scored.yaml --runner kfp --wait`, once for the module."""
    url, fake = kfp_fake
    with pytest.MonkeyPatch.context() as mp:
        kfp_settings_env(mp, url, tmp_path_factory.mktemp("scored"))
        fake.storage_endpoint = bucket
        try:
            result = cli.invoke(
                app,
                ["submit", str(kfp_templates["scored"]), "--runner", "kfp", "--run-id",
                 "scored-1", "--param", "right=7", "--param", "rows=9", "--wait"],
            )  # fmt: skip
        finally:
            fake.storage_endpoint = None
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


@contextmanager
def _upstream(fake: FakeKfp) -> Iterator[None]:
    """The fake as upstream KFP 2.x: /apis/v2beta1/artifacts/ID answers 404."""
    fake.artifact_api = False
    try:
        yield
    finally:
        fake.artifact_api = True


@contextmanager
def _pipeline_root(fake: FakeKfp, kfp_run_id: str, root: str) -> Iterator[None]:
    """The run as if started with another pipeline root."""
    [run] = [r for r in fake.runs.values() if r.body["run_id"] == kfp_run_id]
    config = run.body["runtime_config"]
    before, config["pipeline_root"] = config["pipeline_root"], root
    try:
        yield
    finally:
        config["pipeline_root"] = before


def _show(kfp_run_id: str, *extra: str) -> Any:
    return cli.invoke(app, ["runs", "show", kfp_run_id, "--remote", "--runner", "kfp", *extra])


def _show_upstream(kfp_env: KfpEnv, scored: Scored, root: str) -> tuple[Any, list[str]]:
    """`runs show --remote` with the fake as upstream and the run's root set to `root`;
    the result and its note lines."""
    with _upstream(kfp_env.fake), _pipeline_root(kfp_env.fake, scored.kfp_run_id, root):
        shown = _show(scored.kfp_run_id)
    notes = [line for line in shown.output.splitlines() if line.startswith("note: ")]
    return shown, notes


def test_the_fake_puts_each_task_file_where_upstream_puts_it(bucket: str, scored: Scored) -> None:
    """<root>/<pipeline>/<run id>/<task>/<uuid4>/<output>, uploaded before the run ended."""
    blobs = storage_client(bucket).list_blobs(
        "kfp-root", prefix=f"root/scored/{scored.kfp_run_id}/"
    )
    names = sorted(b.name for b in blobs)
    prefix = f"root/scored/{scored.kfp_run_id}"
    assert len(names) == 2, names
    assert re.fullmatch(f"{prefix}/evaluate/{UUID}/evaluation", names[0]), names
    assert re.fullmatch(f"{prefix}/gate/{UUID}/report", names[1]), names
    assert names[0].split("/")[4] != names[1].split("/")[4]  # one uuid per task
    stored = storage_client(bucket).bucket("kfp-root").blob(names[0]).download_as_bytes()
    assert stored == scored.evaluation.read_bytes()


def test_upstream_kfp_gives_the_metrics_from_the_gs_pipeline_root(
    kfp_env: KfpEnv, scored: Scored, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No artifact API: the files are found under the run's prefix of the pipeline root."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", bucket)
    with _upstream(kfp_env.fake):
        shown = _show(scored.kfp_run_id)
        as_json = _show(scored.kfp_run_id, "--json")

    assert shown.exit_code == 0, shown.output
    assert _metrics_line(scored.evaluation) in shown.output.splitlines()
    assert _gate_line(scored.gate_report) in shown.output.splitlines()
    assert "note: " not in shown.output
    run = json.loads(as_json.stdout)
    document = json.loads(scored.evaluation.read_text())
    assert run["metrics"] == {**document["metrics"], "test_rows": document["test_rows"]}
    assert run["gate"] == json.loads(scored.gate_report.read_text())
    assert run["decision"] == "passed"
    assert "notes" not in run


def test_upstream_kfp_submit_wait_prints_the_metrics(
    kfp_env: KfpEnv, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The acceptance on upstream KFP: `submit --wait` prints metrics and gate from the files."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", bucket)
    kfp_env.fake.storage_endpoint = bucket
    try:
        with _upstream(kfp_env.fake):
            result = cli.invoke(
                app,
                ["submit", str(kfp_env.templates["scored"]), "--runner", "kfp",
                 "--run-id", "scored-upstream", "--param", "right=4", "--param", "rows=5",
                 "--param", "floor=0.9", "--wait"],
            )  # fmt: skip
    finally:
        kfp_env.fake.storage_endpoint = None

    assert result.exit_code == 0, result.output
    [run] = [r for r in kfp_env.fake.runs.values() if r.body["display_name"] == "scored-upstream"]
    tasks = {t["display_name"]: t for t in run.body["run_details"]["task_details"]}

    def path(task: str, output: str) -> Path:
        [artifact_id] = tasks[task]["outputs"][output]["artifact_ids"]
        return kfp_env.fake.artifacts[artifact_id].path

    lines = result.output.splitlines()
    finished = next(i for i, line in enumerate(lines) if line.startswith("Run scored-upstream "))
    assert "SUCCEEDED" in lines[finished]
    assert lines[finished + 1] == _metrics_line(path("evaluate", "evaluation"))
    assert lines[finished + 1].startswith("metrics: accuracy=0.8000, ")  # 4 right of 5
    assert lines[finished + 2] == _gate_line(path("gate", "report"))
    assert lines[finished + 2].startswith("gate: rejected (accuracy 0.8000 against the floor")
    assert "note: " not in result.output
    # Asked the artifact API once (404), then read the bucket.
    asked = [p for m, p in kfp_env.fake.requests if p.startswith("/apis/v2beta1/artifacts/")]
    assert asked


@pytest.mark.parametrize("root", ["s3://kfp-root/root", "minio://mlpipeline/v2/artifacts"])
def test_upstream_kfp_with_an_object_store_root_gives_one_note(
    kfp_env: KfpEnv, scored: Scored, bucket: str, monkeypatch: pytest.MonkeyPatch, root: str
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", bucket)
    shown, notes = _show_upstream(kfp_env, scored, root)

    assert shown.exit_code == 0, shown.output
    link = f"{kfp_env.url}/#/runs/details/{scored.kfp_run_id}"
    note = (
        "note: Metrics are not available from this Kubeflow Pipelines backend (it serves no "
        f"artifact API, and the run's pipeline root {root} is not Cloud Storage): they are in "
        f"the KFP UI at {link}."
    )
    assert notes == [note]
    assert "metrics: " not in shown.output and "gate: " not in shown.output
    assert "Traceback" not in shown.output


def test_upstream_kfp_with_nothing_under_the_run_gives_one_note(
    kfp_env: KfpEnv, scored: Scored, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", bucket)
    root = "gs://kfp-root/elsewhere"
    shown, notes = _show_upstream(kfp_env, scored, root)

    assert shown.exit_code == 0, shown.output
    link = f"{kfp_env.url}/#/runs/details/{scored.kfp_run_id}"
    note = (
        "note: Metrics are not available from this Kubeflow Pipelines backend (it serves no "
        f"artifact API, and {root}/scored/{scored.kfp_run_id}/ holds no files): they are in "
        f"the KFP UI at {link}."
    )
    assert notes == [note]
    assert "metrics: " not in shown.output


def test_upstream_kfp_with_a_bucket_it_cannot_list_gives_one_note(
    kfp_env: KfpEnv, scored: Scored, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", bucket)
    root = "gs://no-such-bucket/root"
    shown, notes = _show_upstream(kfp_env, scored, root)

    assert shown.exit_code == 0, shown.output
    assert len(notes) == 1, shown.output
    assert notes[0].startswith(
        "note: Metrics are not available from this Kubeflow Pipelines backend (it serves no "
        f"artifact API, and {root}/scored/{scored.kfp_run_id}/ cannot be listed: 404 "
    )
    assert notes[0].endswith(f"they are in the KFP UI at {kfp_env.url}/#/runs/details/"
                             f"{scored.kfp_run_id}.")  # fmt: skip


def test_upstream_kfp_a_missing_evaluation_file_still_gives_the_gate(
    kfp_env: KfpEnv, scored: Scored, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cached evaluate task's file is under the run that made it, not this one."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", bucket)
    store = storage_client(bucket).bucket("kfp-root")
    prefix = f"root/scored/{scored.kfp_run_id}/"
    [blob] = [b for b in store.list_blobs(prefix=prefix) if b.name.endswith("/evaluation")]
    data = blob.download_as_bytes()
    blob.delete()
    try:
        with _upstream(kfp_env.fake):
            shown = _show(scored.kfp_run_id)
    finally:
        store.blob(blob.name).upload_from_string(data)

    assert shown.exit_code == 0, shown.output
    assert _gate_line(scored.gate_report) in shown.output.splitlines()
    assert "metrics: " not in shown.output
    assert (
        f"note: Metrics could not be read (no evaluate/*/evaluation file under gs://kfp-root/"
        f"{prefix}; a task the cache answered left its file under the run that made it): see "
        f"the run at {kfp_env.url}/#/runs/details/{scored.kfp_run_id}."
    ) in shown.output


def test_upstream_kfp_a_run_of_a_stored_version_is_found_by_its_pipeline_name(
    kfp_env: KfpEnv, scored: Scored, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run by version reference carries no spec: the version's spec names the pipeline."""
    import yaml

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", bucket)
    spec = yaml.safe_load(kfp_env.templates["scored"].read_text())
    pipeline = kfp_env.fake.upload("scored-by-reference", spec, "")
    [version] = [
        v for v in kfp_env.fake.versions.values() if v["pipeline_id"] == pipeline["pipeline_id"]
    ]
    [run] = [r for r in kfp_env.fake.runs.values() if r.body["run_id"] == scored.kfp_run_id]
    inline = run.body.pop("pipeline_spec")
    run.body["pipeline_version_reference"] = {
        "pipeline_id": pipeline["pipeline_id"],
        "pipeline_version_id": version["pipeline_version_id"],
    }
    try:
        with _upstream(kfp_env.fake):
            shown = _show(scored.kfp_run_id)
    finally:
        run.body["pipeline_spec"] = inline
        del run.body["pipeline_version_reference"]
        del kfp_env.fake.versions[version["pipeline_version_id"]]  # the fake serves the session
        del kfp_env.fake.pipelines[pipeline["pipeline_id"]]

    assert shown.exit_code == 0, shown.output
    assert _metrics_line(scored.evaluation) in shown.output.splitlines()


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
    assert re.fullmatch(
        f"gs://kfp-root/root/scored/{scored.kfp_run_id}/evaluate/{UUID}/evaluation", basic["uri"]
    )
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
