"""Preflights come from the pipeline's own steps, declared in the compiled YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from freshet.errors import BadInput, FreshetError
from freshet.preflight import PREFLIGHT_ENV, find_preflights, run_preflights
from tests.freshet import preflight_checks
from tests.freshet.tiny_pipelines import CHECKS, checked, compile_to, declaring, plain


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    preflight_checks.CALLS.clear()


def spec_of(pipeline: Any, tmp_path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(compile_to(pipeline, tmp_path / "p.yaml").read_text())
    return loaded


def single(reference: str, tmp_path: Path) -> dict[str, Any]:
    """A one-task pipeline whose task declares `reference` (written into the spec as is)."""
    spec = spec_of(declaring(f"{CHECKS}:tie"), tmp_path)
    [executor] = spec["deploymentSpec"]["executors"].values()
    executor["container"]["env"] = [{"name": PREFLIGHT_ENV, "value": reference}]
    return spec


def test_declare_compiles_into_the_executor_env(tmp_path: Path) -> None:
    spec = spec_of(checked(), tmp_path)
    envs = {
        label: executor["container"].get("env")
        for label, executor in spec["deploymentSpec"]["executors"].items()
    }
    assert envs["exec-zeta"] == [{"name": PREFLIGHT_ENV, "value": f"{CHECKS}:first"}]
    assert envs["exec-add"] == [{"name": PREFLIGHT_ENV, "value": f"{CHECKS}:nested"}]


def test_declare_refuses_a_malformed_reference() -> None:
    with pytest.raises(BadInput, match="^Preflight 'no-colon' is not of the form"):
        declaring("no-colon")


def test_preflights_in_dag_order_with_inputs_known_before_the_run(tmp_path: Path) -> None:
    found = find_preflights(spec_of(checked(), tmp_path), {"x": 4, "data_uri": "memory://t"})
    assert [(p.task, p.reference.rpartition(":")[2]) for p in found] == [
        ("beta", "tie"),
        ("zeta", "first"),
        ("alpha", "second"),
        ("add", "nested"),
    ]
    inputs = {p.task: p.inputs for p in found}
    assert inputs["beta"] == {"x": 4, "y": 3}  # the component's own default
    assert inputs["alpha"] == {"y": 5}  # x is zeta's output: unknown before the run
    assert inputs["add"] == {"x": 4, "y": 11}  # through two DAG levels; the inner default
    assert all(type(v) is int for v in inputs["add"].values())  # not the YAML's 11.0


def test_context_is_shared_and_merged_in_order(tmp_path: Path) -> None:
    context = run_preflights(spec_of(checked(), tmp_path), {"x": 4})
    assert [name for name, _, _ in preflight_checks.CALLS] == ["tie", "first", "second", "nested"]
    _, _, seen_by_second = preflight_checks.CALLS[2]
    assert seen_by_second["data_version"] == "v4"
    assert context["data_version"] == "v4" and context["seen_version"] == "v4"
    assert context["notes"] == ["x is 4", "second looked"]
    assert context["runner"] == "local"


def test_a_pipeline_without_preflights_gives_an_empty_context(tmp_path: Path) -> None:
    assert run_preflights(spec_of(plain(), tmp_path), {"x": 1}) == {
        "notes": [],
        "runner": "local",
    }


def test_bad_input_from_a_preflight_stops_the_run(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"^x must not be negative: -3\.$"):
        run_preflights(spec_of(checked(refuse=True), tmp_path), {"x": -3})


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (
            "tests.freshet.no_such_module:check",
            "Preflight of task 'add' 'tests.freshet.no_such_module:check' cannot be imported: "
            "ModuleNotFoundError: No module named 'tests.freshet.no_such_module'.",
        ),
        (
            f"{CHECKS}:missing",
            f"Preflight of task 'add' '{CHECKS}:missing': module '{CHECKS}' has no 'missing'.",
        ),
        (
            f"{CHECKS}:NOT_CALLABLE",
            f"Preflight of task 'add' '{CHECKS}:NOT_CALLABLE' is not a function.",
        ),
        (
            f"{CHECKS}:not_a_dict",
            f"Preflight of task 'add' '{CHECKS}:not_a_dict' returned list, not a dict or None.",
        ),
        (
            "just-text",
            "Preflight of task 'add' 'just-text' is not of the form 'package.module:function'.",
        ),
    ],
)
def test_a_declared_preflight_that_cannot_run_is_bad_input(
    tmp_path: Path, reference: str, message: str
) -> None:
    with pytest.raises(BadInput) as caught:
        run_preflights(single(reference, tmp_path), {"x": 2})
    assert str(caught.value) == message


def test_a_failing_preflight_fails_locally_and_is_skipped_remotely(tmp_path: Path) -> None:
    spec = single(f"{CHECKS}:crash", tmp_path)
    with pytest.raises(FreshetError) as caught:
        run_preflights(spec, {"x": 2})
    assert not isinstance(caught.value, BadInput)
    assert str(caught.value) == (
        f"Preflight of task 'add' '{CHECKS}:crash' failed: "
        "ConnectionError: cannot reach gs://bucket from here."
    )
    context = run_preflights(spec, {"x": 2}, runner="vertex", skip_unreadable=True)
    assert context["runner"] == "vertex"
    assert context["notes"] == [
        "preflight of 'add' skipped: it cannot check from here "
        "(ConnectionError: cannot reach gs://bucket from here)"
    ]
