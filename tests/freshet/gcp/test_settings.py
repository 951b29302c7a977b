"""Google Cloud settings: every missing or malformed value named at once, before any call."""

from __future__ import annotations

import pytest

from freshet.config import load_settings
from freshet.errors import ConfigError
from freshet.gcp.session import RUN_FIELDS, open_session, require
from freshet.runners.vertex import VertexRunner
from tests.fakes.vertex_fixtures import VertexServices


def test_missing_and_malformed_values_are_reported_together(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.chdir(str(tmp_path))
    for name in ("PROJECT", "REGION", "PIPELINE_ROOT", "NETWORK", "LABELS"):
        monkeypatch.delenv(f"FRESHET_GCP__{name}", raising=False)
    monkeypatch.setenv("FRESHET_GCP__REGION", "Europe West")
    monkeypatch.setenv("FRESHET_GCP__NETWORK", "ml-vpc")
    monkeypatch.setenv("FRESHET_GCP__LABELS", '{"Team": "ML"}')

    with pytest.raises(ConfigError) as raised:
        load_settings(require=RUN_FIELDS)

    message = str(raised.value)
    assert "gcp.project: required here; set FRESHET_GCP__PROJECT" in message
    assert "gcp.pipeline_root: required here" in message
    assert "gcp.region: must be a region such as 'us-central1' (got 'Europe West')" in message
    assert "gcp.network: must be 'projects/PROJECT_NUMBER/global/networks/NAME'" in message
    assert "label Team=ML" in message


def test_settings_come_from_freshet_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.chdir(str(tmp_path))
    for name in ("PROJECT", "REGION", "PIPELINE_ROOT"):
        monkeypatch.delenv(f"FRESHET_GCP__{name}", raising=False)
    (tmp_path / "freshet.toml").write_text(  # type: ignore[operator]
        'runner = "vertex"\n[gcp]\nproject = "my-project"\nregion = "us-central1"\n'
        'pipeline_root = "gs://my-bucket/pipelines"\nlabels = {team = "ml"}\n'
    )

    settings = load_settings(require=RUN_FIELDS)

    assert settings.runner == "vertex"
    assert require(settings, RUN_FIELDS).pipeline_root == "gs://my-bucket/pipelines"
    assert settings.gcp.labels == {"team": "ml"}


def test_local_commands_do_not_need_cloud_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.delenv("FRESHET_GCP__PROJECT", raising=False)
    assert load_settings().gcp.project is None


def test_vertex_runner_refuses_incomplete_settings_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.chdir(str(tmp_path))
    for name in ("PROJECT", "REGION", "PIPELINE_ROOT"):
        monkeypatch.delenv(f"FRESHET_GCP__{name}", raising=False)

    with pytest.raises(ConfigError, match="gcp.project .*gcp.region .*gcp.pipeline_root"):
        VertexRunner(load_settings(runner="vertex"))


def test_a_pipeline_root_bucket_that_does_not_exist_is_named(
    vertex: VertexServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRESHET_GCP__PIPELINE_ROOT", "gs://no-such-bucket/runs")
    from freshet.gcp.session import check_pipeline_root

    session = open_session(load_settings())
    with pytest.raises(ConfigError, match="bucket 'no-such-bucket' of 'gs://no-such-bucket/runs'"):
        check_pipeline_root(session)
