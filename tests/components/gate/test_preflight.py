from __future__ import annotations

from typing import Any

import pytest

from freshet.components.gate.preflight import check
from freshet.errors import BadInput

GOOD = {"gate_metric": "", "gate_threshold": "auto", "max_regression": 0.0}


@pytest.mark.parametrize("task", ["classification", "regression", None])
def test_defaults_pass_for_every_task(task: str | None) -> None:
    context: dict[str, Any] = {"task": task} if task else {}
    assert check(dict(GOOD), context) is None


def test_metric_is_checked_against_the_task() -> None:
    inputs = {**GOOD, "gate_metric": "rmse"}
    assert check(inputs, {"task": "regression"}) is None
    with pytest.raises(
        BadInput,
        match=r"^Gate metric 'rmse' does not exist for a classification model; "
        r"use one of: accuracy, f1_macro, log_loss\.$",
    ):
        check(inputs, {"task": "classification"})
    assert check(inputs, {}) is None  # the task is not known yet: any gate metric
    with pytest.raises(BadInput, match="Gate metric 'auc' is not known"):
        check({**GOOD, "gate_metric": "auc"}, {})


def test_threshold_and_regression() -> None:
    with pytest.raises(BadInput, match="gate_threshold 'high' is not valid"):
        check({**GOOD, "gate_threshold": "high"}, {"task": "regression"})
    with pytest.raises(BadInput, match=r"gate_threshold 2 is outside the range of accuracy"):
        check({**GOOD, "gate_threshold": "2"}, {"task": "classification"})
    assert check({**GOOD, "gate_threshold": "2"}, {"task": "regression"}) is None  # an rmse
    assert check({**GOOD, "gate_threshold": "2"}, {}) is None  # range needs the metric
    with pytest.raises(BadInput, match="gate_threshold -1 is outside the range of mae"):
        check({**GOOD, "gate_metric": "mae", "gate_threshold": "-1"}, {})
    with pytest.raises(BadInput, match="max_regression must be a number, 0 or more: -0.5."):
        check({**GOOD, "max_regression": -0.5}, {"task": "classification"})


def test_inputs_not_known_before_the_run_are_skipped() -> None:
    assert check({}, {"task": "classification"}) is None
