"""The Vertex runner submits any compiled pipeline, after its declared preflights."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from freshet.config import load_settings
from freshet.errors import BadInput
from freshet.runners import RunRequest, submit
from tests.fakes.vertex_fixtures import VertexServices
from tests.freshet import preflight_checks
from tests.freshet.tiny_pipelines import CHECKS, adder, checked, compile_to, declaring, reporting


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    preflight_checks.CALLS.clear()


def sent_values(vertex: VertexServices) -> dict[str, object]:
    [sent] = vertex.vertex.requests("CreatePipelineJob")
    return dict(sent.pipeline_job.runtime_config.parameter_values)


def test_only_the_system_inputs_a_template_declares_are_sent(
    vertex: VertexServices, tmp_path: Path
) -> None:
    template = compile_to(adder(), tmp_path / "adder.yaml")
    result = submit(
        RunRequest(template=template, parameters={"x": "3"}), load_settings(runner="vertex")
    )
    assert result.status == "submitted"
    assert sent_values(vertex) == {"x": 3}


def test_declared_system_inputs_are_filled_in(vertex: VertexServices, tmp_path: Path) -> None:
    template = compile_to(reporting(), tmp_path / "reporting.yaml")
    result = submit(
        RunRequest(template=template, run_id="reporting-1"), load_settings(runner="vertex")
    )
    assert sent_values(vertex) == {
        "run_id": "reporting-1",
        "registry_uri": "gs://freshet-fake-root/runs/registry",
    }
    assert result.run_id == "reporting-1"


def test_a_missing_required_parameter_is_refused_before_any_call(
    vertex: VertexServices, tmp_path: Path
) -> None:
    template = compile_to(adder(), tmp_path / "adder.yaml")
    with pytest.raises(BadInput, match=r"^Pipeline 'adder' needs parameter 'x' \(integer\)"):
        submit(RunRequest(template=template), load_settings(runner="vertex"))
    assert vertex.vertex.calls == []


def test_preflights_run_before_submitting_and_their_context_labels_the_run(
    vertex: VertexServices, tmp_path: Path
) -> None:
    template = compile_to(checked(), tmp_path / "checked.yaml")
    out = io.StringIO()
    submit(
        RunRequest(template=template, parameters={"x": "4"}),
        load_settings(runner="vertex"),
        Console(file=out, width=200),
    )
    assert [name for name, _, _ in preflight_checks.CALLS] == ["tie", "first", "second", "nested"]
    assert all(context["runner"] == "vertex" for _, _, context in preflight_checks.CALLS)
    assert out.getvalue() == "note: x is 4\nnote: second looked\n"
    [sent] = vertex.vertex.requests("CreatePipelineJob")
    assert sent.pipeline_job.labels["freshet-data-version"] == "v4"


def test_a_preflight_refusing_the_input_sends_nothing(
    vertex: VertexServices, tmp_path: Path
) -> None:
    template = compile_to(checked(refuse=True), tmp_path / "checked.yaml")
    with pytest.raises(BadInput, match=r"^x must not be negative: -1\.$"):
        submit(
            RunRequest(template=template, parameters={"x": "-1"}), load_settings(runner="vertex")
        )
    assert vertex.vertex.calls == []


def test_a_preflight_that_cannot_check_from_here_is_skipped_with_a_note(
    vertex: VertexServices, tmp_path: Path
) -> None:
    template = compile_to(declaring(f"{CHECKS}:crash"), tmp_path / "crash.yaml")
    out = io.StringIO()
    result = submit(
        RunRequest(template=template), load_settings(runner="vertex"), Console(file=out, width=300)
    )
    assert result.status == "submitted"
    assert out.getvalue() == (
        "note: preflight of 'add' skipped: it cannot check from here "
        "(ConnectionError: cannot reach gs://bucket from here)\n"
    )
