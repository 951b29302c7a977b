"""`freshet runs cancel --remote` on Vertex AI, and following the cancelled run ends."""

from __future__ import annotations

from google.cloud import aiplatform_v1 as v1
from typer.testing import CliRunner

from freshet.cli import app
from freshet.config import load_settings
from freshet.runners.remote import open_remote
from tests.fakes.vertex_fixtures import VertexServices

cli = CliRunner()
State = v1.PipelineState


def test_cancel_a_vertex_run_and_follow_it_to_its_end(vertex: VertexServices) -> None:
    vertex.vertex.script(
        "training-c1", [State.PIPELINE_STATE_PENDING] + [State.PIPELINE_STATE_RUNNING] * 1000
    )
    submitted = cli.invoke(app, ["submit", "--run-id", "training-c1"])
    assert submitted.exit_code == 0, submitted.output

    result = cli.invoke(app, ["runs", "cancel", "training-c1", "--remote", "--runner", "vertex"])

    assert result.exit_code == 0, result.output
    assert "Cancel requested for run training-c1 on Vertex AI: CANCELLED." in result.output
    from rich.console import Console

    remote = open_remote(load_settings(runner="vertex"), "vertex")
    assert remote.follow("training-c1", Console(stderr=True)).state == "CANCELLED"


def test_cancel_of_an_unknown_vertex_run(vertex: VertexServices) -> None:
    result = cli.invoke(app, ["runs", "cancel", "nope-1", "--remote", "--runner", "vertex"])

    assert result.exit_code == 2
    assert "error: No run 'nope-1' on Vertex AI in projects/" in result.output
