"""Publishing templates to a KFP repository and running them from their URI (real HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from freshet.compile import template_version
from freshet.config import load_settings
from freshet.errors import BadInput
from freshet.gcp.session import default_credentials
from freshet.gcp.templates import fetch_template, publish, split_template_uri
from freshet.runners import RunRequest, submit
from tests.fakes.vertex_fixtures import VertexServices


def test_publish_tags_each_template_with_its_version_and_latest(vertex: VertexServices) -> None:
    repo = vertex.registry.repo_url
    [item] = publish([vertex.template], repo, default_credentials(), ["v1.2.0"])

    version = template_version(vertex.template)
    assert (item.package, item.tags) == ("training", [version, "v1.2.0", "latest"])
    assert item.uri("latest") == f"{repo}/training/latest"
    assert vertex.registry.uploads == [
        {"package": "training", "version": item.version, "tags": [version, "v1.2.0", "latest"]}
    ]
    stored = vertex.registry.download("training", "latest")
    assert stored == vertex.template.read_bytes()


def test_fetch_returns_the_published_bytes(vertex: VertexServices, tmp_path: object) -> None:
    [item] = publish([vertex.template], vertex.registry.repo_url, default_credentials(), [])
    path = fetch_template(item.uri(item.tags[0]), default_credentials(), tmp_path)  # type: ignore[arg-type]
    assert path.read_bytes() == vertex.template.read_bytes()


def test_fetching_a_tag_that_does_not_exist_is_bad_input(
    vertex: VertexServices, tmp_path: object
) -> None:
    uri = f"{vertex.registry.repo_url}/training/no-such-tag"
    with pytest.raises(BadInput, match=f"No template at '{uri}'"):
        fetch_template(uri, default_credentials(), tmp_path)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []  # type: ignore[attr-defined]


def test_malformed_template_uri_is_bad_input() -> None:
    with pytest.raises(BadInput, match="not of the form"):
        split_template_uri("https://us-central1-kfp.pkg.dev/just-a-repo")


def test_submit_from_a_template_uri_links_the_run_to_it(vertex: VertexServices) -> None:
    [item] = publish([vertex.template], vertex.registry.repo_url, default_credentials(), [])
    uri = item.uri("latest")

    result = submit(
        RunRequest(pipeline="training", template_uri=uri, run_id="training-from-registry"),
        load_settings(runner="vertex"),
    )

    assert result.status == "submitted"
    [sent] = vertex.vertex.requests("CreatePipelineJob")
    assert sent.pipeline_job.template_uri == uri
    assert dict(sent.pipeline_job.pipeline_spec) == yaml.safe_load(vertex.template.read_text())


def test_the_local_runner_runs_a_template_uri_from_its_download(
    vertex: VertexServices, tmp_path: Path
) -> None:
    [item] = publish([vertex.template], vertex.registry.repo_url, default_credentials(), [])
    settings = load_settings(root=tmp_path / "root")
    done = tmp_path / "root" / "runs" / "training-local-1"
    done.mkdir(parents=True)
    (done / "summary.json").write_text("{}")

    result = submit(
        RunRequest(template_uri=item.uri("latest"), run_id="training-local-1"), settings
    )

    assert result.status == "already_exists"  # the downloaded template was read and checked
    [copy] = (tmp_path / "root" / "templates").iterdir()
    assert copy.read_bytes() == vertex.template.read_bytes()
    assert vertex.vertex.calls == []
