"""The gate's policy: which metric judges a model, its floor, and the allowed regression.

Pipeline parameters arrive as text and numbers (`gate_metric`, `gate_threshold`,
`max_regression`); `GatePolicy.parse` turns them into a policy for a task or raises `BadInput`
with one sentence naming the value. The preflight and the gate step both parse through here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from freshet.errors import BadInput

HIGHER = "higher"
LOWER = "lower"


@dataclass(frozen=True)
class GateMetric:
    """A metric the gate can judge by: its task, which way is better, and its range."""

    name: str
    task: str
    direction: str  # HIGHER or LOWER is better
    low: float = -math.inf
    high: float = math.inf

    @property
    def higher_is_better(self) -> bool:
        """True for metrics where a larger value is a better model."""
        return self.direction == HIGHER

    def range_text(self) -> str:
        """The metric's range in words."""
        if math.isinf(self.low):
            return f"{self.high:g} or less"
        if math.isinf(self.high):
            return f"{self.low:g} or more"
        return f"{self.low:g} to {self.high:g}"


METRICS: dict[str, GateMetric] = {
    m.name: m
    for m in (
        GateMetric("accuracy", "classification", HIGHER, 0.0, 1.0),
        GateMetric("f1_macro", "classification", HIGHER, 0.0, 1.0),
        GateMetric("log_loss", "classification", LOWER, 0.0),
        GateMetric("rmse", "regression", LOWER, 0.0),
        GateMetric("mae", "regression", LOWER, 0.0),
        GateMetric("r2", "regression", HIGHER, high=1.0),
    )
}
DEFAULT_METRIC = {"classification": "accuracy", "regression": "rmse"}
# "auto" sets a floor only where one value suits every dataset; an rmse depends on the
# label's scale, so its ceiling must be chosen by the user.
AUTO_THRESHOLDS = {"accuracy": 0.9}


def metric_names(task: str | None = None) -> list[str]:
    """The gate metrics of a task (of every task when None), sorted."""
    return sorted(name for name, m in METRICS.items() if task is None or m.task == task)


def resolve_metric(gate_metric: str, task: str | None) -> GateMetric | None:
    """The metric named by `gate_metric` ("" for the task's default).

    Args:
        gate_metric: The parameter's value.
        task: "classification" or "regression"; None when not known yet.

    Returns:
        The metric; None when `gate_metric` is "" and the task is not known.

    Raises:
        BadInput: The name is not a metric, or not one of the task's.
    """
    name = str(gate_metric).strip().lower()
    if not name:
        return METRICS[DEFAULT_METRIC[task]] if task in DEFAULT_METRIC else None
    metric = METRICS.get(name)
    if task in DEFAULT_METRIC and (metric is None or metric.task != task):
        raise BadInput(
            f"Gate metric '{gate_metric}' does not exist for a {task} model; "
            f"use one of: {', '.join(metric_names(task))}."
        )
    if metric is None:
        raise BadInput(
            f"Gate metric '{gate_metric}' is not known; use one of: {', '.join(metric_names())}."
        )
    return metric


def parse_threshold(gate_threshold: str, metric: GateMetric | None) -> float | None:
    """The floor (a ceiling for lower-is-better metrics) that `gate_threshold` sets.

    Args:
        gate_threshold: "auto" (0.9 for accuracy, none for other metrics), "none", or a number.
        metric: The gate metric; None when not known yet (the number's range goes unchecked).

    Returns:
        The threshold, or None for no floor.

    Raises:
        BadInput: The value is none of those, or a number outside the metric's range.
    """
    text = str(gate_threshold).strip()
    if text.lower() == "auto":
        return AUTO_THRESHOLDS.get(metric.name) if metric is not None else None
    if text.lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not text or not math.isfinite(value):
        raise BadInput(
            f"gate_threshold '{gate_threshold}' is not valid; use 'auto', 'none' or a number."
        )
    if metric is not None and not metric.low <= value <= metric.high:
        raise BadInput(
            f"gate_threshold {text} is outside the range of {metric.name} ({metric.range_text()})."
        )
    return value


def check_max_regression(max_regression: Any) -> float:
    """Returns `max_regression` as a float, or raises BadInput unless it is a number >= 0."""
    try:
        value = float(max_regression)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(max_regression, bool) or not math.isfinite(value) or value < 0:
        raise BadInput(f"max_regression must be a number, 0 or more: {max_regression!r}.")
    return value


@dataclass(frozen=True)
class GatePolicy:
    """What the gate judges by: a metric, its floor (or ceiling), the allowed regression."""

    metric: GateMetric
    threshold: float | None
    max_regression: float = 0.0
    threshold_setting: str = "auto"  # what the user asked for, for the reasons

    @classmethod
    def parse(
        cls,
        task: str,
        gate_metric: str = "",
        gate_threshold: str = "auto",
        max_regression: Any = 0.0,
    ) -> GatePolicy:
        """The policy for a model of `task` from the pipeline parameters.

        Raises:
            BadInput: One sentence naming the first bad value.
        """
        metric = resolve_metric(gate_metric, task)
        if metric is None:
            raise BadInput(f"The gate cannot judge a model of task '{task}'.")
        return cls(
            metric=metric,
            threshold=parse_threshold(gate_threshold, metric),
            max_regression=check_max_regression(max_regression),
            threshold_setting=str(gate_threshold).strip().lower(),
        )
