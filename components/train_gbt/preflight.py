"""Preflight of train_gbt: the boosting settings are checked before the run writes anything.

Declared on a pipeline task with
`task.set_env_variable("FRESHET_PREFLIGHT", "freshet.components.train_gbt.preflight:check")`.
"""

from __future__ import annotations

from typing import Any

from freshet.errors import BadInput
from freshet.preflight_cache import cached_on, inputs_only

_FIELDS: dict[str, type] = {
    "seed": int,
    "max_iter": int,
    "learning_rate": float,
    "max_leaf_nodes": int,
}


@cached_on(inputs_only)
def check(inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any] | None:
    """Checks the settings known before the run (those wired from other tasks are skipped).

    Args:
        inputs: The task's parameter inputs known before the run, by component input name.
        context: What earlier preflights found (unused: the settings stand alone).

    Returns:
        None: nothing to add to the context.

    Raises:
        BadInput: One sentence naming a value the booster cannot use.
    """
    from freshet.components.train_gbt.core import GbtConfig

    values: dict[str, Any] = {}
    for name, kind in _FIELDS.items():
        if name not in inputs:
            continue
        value = inputs[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadInput(f"{name} must be a number: {value!r}.")
        if kind is int and value != int(value):
            raise BadInput(f"{name} must be a whole number: {value!r}.")
        values[name] = kind(value)
    GbtConfig(**values).check()
    return None
