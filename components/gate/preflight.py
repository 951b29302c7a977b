"""The gate's preflight: its parameters are checked before a run writes anything.

Declared on the gate task as `FRESHET_PREFLIGHT=freshet.components.gate.preflight:check`.
"""

from __future__ import annotations

from typing import Any

from freshet.components.gate.policy import check_max_regression, parse_threshold, resolve_metric
from freshet.preflight_cache import cached_on, inputs_only


@cached_on(inputs_only)
def check(inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any] | None:
    """Checks `gate_metric`, `gate_threshold` and `max_regression` where they are known.

    `gate_metric` is checked against the task (`context["task"]`, set by fetch's preflight)
    when it is known, else against every task's metrics; a threshold number is checked
    against the metric's range once the metric is known.

    Args:
        inputs: The gate task's parameter inputs known before the run.
        context: What earlier preflights found.

    Returns:
        None: the gate adds nothing to the context.

    Raises:
        BadInput: One sentence naming the first bad value.
    """
    task = context.get("task")
    metric = None
    if "gate_metric" in inputs:
        metric = resolve_metric(str(inputs["gate_metric"]), task)
    if "gate_threshold" in inputs:
        parse_threshold(str(inputs["gate_threshold"]), metric)
    if "max_regression" in inputs:
        check_max_regression(inputs["max_regression"])
    return None
