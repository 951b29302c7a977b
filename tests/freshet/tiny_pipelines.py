"""Small pipelines built for the machinery's tests: none of them is freshet's training pipeline.

They prove that runners, preflights, summaries and reports work from what a template declares.
Their steps are lightweight components kfp.local runs in a subprocess of this interpreter.
"""

# No `from __future__ import annotations`: kfp reads the components' annotations as types.
from pathlib import Path
from typing import Any, NamedTuple

from kfp import compiler, dsl
from kfp.dsl import Artifact, Metrics, Output

from freshet.preflight import declare

IMAGE = "python:3.11-slim"
CHECKS = "tests.freshet.preflight_checks"


@dsl.component(base_image=IMAGE)
def add(x: int, y: int = 3) -> int:
    """x + y."""
    return x + y


@dsl.component(base_image=IMAGE)
def zeta(x: int, y: int = 3) -> int:
    """x + y, under another name."""
    return x + y


@dsl.component(base_image=IMAGE)
def alpha(x: int, y: int = 3) -> int:
    """x + y, under another name."""
    return x + y


@dsl.component(base_image=IMAGE)
def beta(x: int, y: int = 3) -> int:
    """x + y, under another name."""
    return x + y


@dsl.component(base_image=IMAGE)
def echo(run_id: str, registry_uri: str) -> str:
    """The system inputs it received."""
    return f"{run_id}|{registry_uri}"


@dsl.component(base_image=IMAGE)
def score(quality: Output[Metrics], speed: Output[Metrics], report: Output[Artifact]) -> str:
    """A regression step's record: two metrics artifacts, a gate report and a decision."""
    import json

    quality.log_metric("rmse", 0.5)
    quality.log_metric("mae", 0.25)
    speed.log_metric("rows_per_s", 1000.0)
    record = {
        "metric": "rmse",
        "direction": "lower",
        "candidate": 0.5,
        "champion": None,
        "champion_version": None,
        "threshold": 1.0,
        "max_regression": 0.0,
        "decision": "passed",
        "reasons": ["rmse 0.5000 is under the ceiling 1.0000"],
    }
    with open(report.path, "w") as out:
        json.dump(record, out)
    return "passed"


@dsl.component(base_image=IMAGE)
def explode(x: int) -> int:
    """Fails, as a step does when its disk is broken."""
    raise RuntimeError(f"the disk is corrupt (x={x})")


def failing() -> Any:
    """`add`, then `explode`: a run that fails in its second step."""

    @dsl.pipeline(name="failing")
    def pipeline(x: int = 1) -> int:
        first = add(x=x).set_caching_options(False)
        return explode(x=first.output).output  # type: ignore[no-any-return]

    return pipeline


def adder() -> Any:
    """A pipeline with one parameter, `x: int`, no default, and no system inputs."""

    @dsl.pipeline(name="adder")
    def pipeline(x: int) -> int:
        return add(x=x).output  # type: ignore[no-any-return]

    return pipeline


def plain() -> Any:
    """One task, `x: int = 2`, no preflight."""

    @dsl.pipeline(name="plain")
    def pipeline(x: int = 2) -> int:
        return add(x=x).output  # type: ignore[no-any-return]

    return pipeline


def declaring(reference: str) -> Any:
    """One task that declares `reference` as its preflight (checked by `declare`)."""

    @dsl.pipeline(name="declaring")
    def pipeline(x: int = 2) -> int:
        return declare(add(x=x), reference).output  # type: ignore[no-any-return]

    return pipeline


def checked(refuse: bool = False) -> Any:
    """Declared preflights in a DAG whose order is not the order of the task names.

    `zeta` and `beta` depend on nothing, `alpha` on `zeta`'s output, and `add` sits in a
    nested pipeline under a condition on `zeta`, getting `x` through two DAG levels and `y`
    from the nested pipeline's default. Preflights run: beta, zeta, alpha, add. With
    `refuse`, `zeta`'s preflight refuses a negative x.
    """

    @dsl.pipeline(name="inner")
    def inner(a: int, b: int = 11) -> int:
        task = add(x=a, y=b).set_caching_options(False)
        declare(task, f"{CHECKS}:nested")
        return task.output  # type: ignore[no-any-return]

    @dsl.pipeline(name="checked")
    def pipeline(x: int = 1, data_uri: str = "memory://table") -> int:
        first = zeta(x=x).set_caching_options(False)
        declare(first, f"{CHECKS}:{'refuse' if refuse else 'first'}")
        declare(beta(x=x).set_caching_options(False), f"{CHECKS}:tie")
        second = alpha(x=first.output, y=5).set_caching_options(False)
        declare(second, f"{CHECKS}:second")
        with dsl.If(first.output > 0, name="positive"):
            inner(a=x)
        return second.output  # type: ignore[no-any-return]

    return pipeline


class ReportingOutputs(NamedTuple):
    """Whatever a pipeline outputs: the summary reads it by type and by name."""

    quality: Metrics
    speed: Metrics
    gate_report: Artifact
    decision: str
    seen: str


def reporting() -> Any:
    """A regression-like pipeline that declares the system inputs run_id and registry_uri."""

    @dsl.pipeline(name="reporting")
    def pipeline(run_id: str = "", registry_uri: str = "") -> ReportingOutputs:
        scored = score().set_caching_options(False)
        seen = echo(run_id=run_id, registry_uri=registry_uri).set_caching_options(False)
        return ReportingOutputs(
            quality=scored.outputs["quality"],
            speed=scored.outputs["speed"],
            gate_report=scored.outputs["report"],
            decision=scored.outputs["Output"],
            seen=seen.output,
        )

    return pipeline


def compile_to(pipeline: Any, path: Path) -> Path:
    """Compiles a pipeline to `path` with kfp's compiler (no freshet involved)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(pipeline, str(path))
    return path
