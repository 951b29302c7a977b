"""Preflights: the checks a pipeline's own steps declare, run before anything is written.

A task declares one with an environment variable on its container, which the compiler writes
into the YAML: `declare(task, "my_pkg.checks:check")` sets `FRESHET_PREFLIGHT`. Before a run
starts, the runner finds these in the compiled spec and calls each, in DAG order, as

    check(inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any] | None

where `inputs` holds the task's parameter inputs known before the run (pipeline parameters
after defaults, constants, component defaults), keyed by the component's input names, and
`context` is shared by the run's preflights: what one returns is merged in for the next.
A preflight raises `freshet.errors.BadInput` for bad input; the run then stops with that one
sentence and exit code 2. Well-known context keys: `data_version`, `task`, `labels`,
`n_inputs`, `n_outputs`, `notes` (sentences the runner shows the user) and `runner`
("local" or "vertex": where the steps will run; on "vertex" data may be unreadable here).
A local run calls its preflights in a child of the run's fork server (`call` of
`run_preflights`), which imports their libraries once for the preflights and the steps; what
they take and return is then sent as JSON, so both hold plain values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from freshet.errors import BadInput, FreshetError
from freshet.preflight_cache import Call, PreflightCache
from freshet.references import check_reference, described, load_reference

PREFLIGHT_ENV = "FRESHET_PREFLIGHT"

T = TypeVar("T")


@dataclass(frozen=True)
class Preflight:
    """One declared preflight with the inputs it will be called with."""

    task: str
    reference: str
    inputs: dict[str, Any]


def declare(task: T, reference: str) -> T:
    """Declares a task's preflight: the compiled YAML then names it for every runner.

    Args:
        task: A `kfp` pipeline task (what calling a component inside a pipeline returns).
        reference: `package.module:function` of `check(inputs, context)`, importable where
            runs are started (the user's project or freshet), not only inside the image.

    Returns:
        The same task, for chaining.

    Raises:
        BadInput: The reference is malformed.
    """
    check_reference(reference, "Preflight")
    task.set_env_variable(PREFLIGHT_ENV, reference)  # type: ignore[attr-defined]
    return task


def _typed(value: Any, kind: str) -> Any:
    """A spec value in its parameter type (the compiler writes integers as floats)."""
    if kind == "NUMBER_INTEGER" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def find_preflights(spec: dict[str, Any], values: dict[str, Any]) -> list[Preflight]:
    """The preflights a compiled pipeline declares, in DAG order, with their known inputs.

    Args:
        spec: The compiled pipeline.
        values: The run's pipeline parameters after defaults (and system inputs).

    Returns:
        One entry per task whose container sets `FRESHET_PREFLIGHT`.
    """
    from freshet.lint.spec import tasks_of

    found = []
    for task in tasks_of(spec):
        reference = task.env.get(PREFLIGHT_ENV)
        if not reference:
            continue
        inputs: dict[str, Any] = {}
        for name, binding in task.parameters.items():
            if binding.kind == "constant":
                inputs[name] = _typed(binding.value, task.parameter_types.get(name, ""))
            elif binding.kind == "root" and binding.value in values:
                inputs[name] = values[binding.value]
        found.append(Preflight(task=task.name, reference=reference, inputs=inputs))
    return found


# How a preflight is called: (task, reference, inputs, context) -> what it returned.
PreflightCall = Call


def call_preflight(
    task: str, reference: str, inputs: dict[str, Any], context: dict[str, Any]
) -> Any:
    """Imports the preflight of a task and calls it (in this process).

    Raises:
        BadInput: The reference cannot be imported or is not a function; or what it raised.
    """
    what = f"Preflight of task '{task}'"
    check: Callable[..., Any] = load_reference(reference, what)
    if not callable(check):
        raise BadInput(f"{what} '{reference}' is not a function.")
    return check(dict(inputs), context)


def run_preflights(
    spec: dict[str, Any],
    values: dict[str, Any],
    runner: str = "local",
    skip_unreadable: bool = False,
    call: PreflightCall = call_preflight,
    cache: PreflightCache | None = None,
) -> dict[str, Any]:
    """Calls a pipeline's declared preflights in DAG order with one shared context.

    Args:
        spec: The compiled pipeline.
        values: The run's pipeline parameters after defaults (and system inputs).
        runner: Where the steps will run ("local", "vertex"): the context's `runner`.
        skip_unreadable: For remote runners: a preflight that fails with anything but
            `BadInput` (data readable only where the steps run, no credentials here) is
            skipped with a note instead of stopping the run.
        call: How each preflight is called (default: in this process).
        cache: Where the results of preflights that opted in (`preflight_cache.cached_on`)
            are kept and reused while their key is the same; None: every one is called.

    Returns:
        The context: what the preflights returned, merged; `notes` always present.

    Raises:
        BadInput: A preflight found bad input, cannot be imported, or returned no dict.
        FreshetError: A preflight failed otherwise (unless skipped).
    """
    context: dict[str, Any] = {"notes": [], "runner": runner}
    ask = cache.reusing(call) if cache is not None else call
    for preflight in find_preflights(spec, values):
        what = f"Preflight of task '{preflight.task}'"
        try:
            returned = ask(preflight.task, preflight.reference, dict(preflight.inputs), context)
        except BadInput:
            raise
        except Exception as exc:
            if not skip_unreadable:
                raise FreshetError(
                    f"{what} '{preflight.reference}' failed: {described(exc)}."
                ) from exc
            context["notes"].append(
                f"preflight of '{preflight.task}' skipped: it cannot check from here "
                f"({described(exc)})"
            )
            continue
        if returned is not None and not isinstance(returned, dict):
            raise BadInput(
                f"{what} '{preflight.reference}' returned {type(returned).__name__}, "
                "not a dict or None."
            )
        if not returned:
            continue
        notes = context["notes"]
        context.update(returned)
        if context.get("notes") is not notes:
            merged = list(notes)
            merged += [n for n in context.get("notes") or [] if n not in merged]
            context["notes"] = merged
    return context


__all__ = [
    "PREFLIGHT_ENV",
    "Preflight",
    "PreflightCall",
    "call_preflight",
    "declare",
    "find_preflights",
    "run_preflights",
]
