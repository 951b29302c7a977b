"""The train step's preflight: its settings, the model factory and the export, before a run.

A pipeline task declares it with the environment variable
`FRESHET_PREFLIGHT=freshet.components.train.preflight:check`; the runners call `check` with
the task's inputs whose values are known before the run and what fetch's preflight found
(`task`, `n_inputs`, `n_outputs`). With those, the factory's module is built and exported to
ONNX on a dummy batch in memory, so a factory that returns no module, gives outputs of the
wrong shape or has a layer ONNX cannot express stops the run before it starts. No training.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import fields
from pathlib import Path
from typing import Any

from freshet.errors import BadInput
from freshet.preflight_cache import cached_on

_TYPES: dict[str, type] = {"int": int, "float": float, "bool": bool, "str": str}


def _config(inputs: dict[str, Any]) -> Any:
    """A TrainConfig of the known inputs (defaults for the others), with their types checked."""
    from freshet.components.train.config import TrainConfig

    values: dict[str, Any] = {}
    for spec in fields(TrainConfig):
        if spec.name not in inputs:
            continue
        value, kind = inputs[spec.name], _TYPES[str(spec.type)]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise BadInput(f"The train input '{spec.name}' must be {str(spec.type)}: {value!r}.")
        values[spec.name] = value
    return TrainConfig(**values)


def _factory_identity(inputs: dict[str, Any], context: dict[str, Any]) -> str | None:
    """The source of the model factory's module (freshet's own MLP: freshet's version)."""
    reference = inputs.get("model_factory") or ""
    if not isinstance(reference, str):
        return None
    if not reference:
        return "built-in"
    from freshet.references import import_project

    import_project()
    try:
        spec = importlib.util.find_spec(reference.partition(":")[0])
        origin = spec.origin if spec is not None else None
        return hashlib.sha256(Path(origin).read_bytes()).hexdigest() if origin else None
    except (ImportError, OSError, ValueError):  # the check itself says what is wrong
        return None


@cached_on(_factory_identity)
def check(inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Checks the train task's settings and model factory; exports the model on a dummy batch.

    Args:
        inputs: The train task's inputs known before the run (`model_factory`,
            `model_params`, `hidden_units`, `epochs`, ...); missing ones take the defaults.
        context: What earlier preflights returned; with `task`, `n_inputs` and `n_outputs`
            the factory's module is built and exported.

    Returns:
        `notes` extended with one sentence about the model when it was built, else {}.

    Raises:
        BadInput: A setting, the factory, its module or its export is unusable (the same
            sentence the train step would say).
    """
    from freshet.components.train.config import factory_name
    from freshet.components.train.factory import build_network, resolve_factory

    config = _config(inputs)
    config.check()
    resolve_factory(config.model_factory)
    needed = ("task", "n_inputs", "n_outputs")
    if not all(key in context for key in needed):
        return {}
    import torch

    from freshet.components.train.export import probe

    task, n_inputs, n_outputs = (context[key] for key in needed)
    with torch.random.fork_rng(devices=[]):  # the caller's random state stays as it was
        torch.manual_seed(config.seed)
        network = build_network(config.model_factory, n_inputs, n_outputs, config.params(task))
        probe(network, n_inputs, n_outputs, task, config.model_factory)
    size = sum(p.numel() for p in network.parameters())
    note = (
        f"model: '{factory_name(config.model_factory)}' with {size:,} parameters for "
        f"{n_inputs} inputs and {n_outputs} outputs; it exports to ONNX."
    )
    return {"notes": [*context.get("notes", []), note]}
