from __future__ import annotations

import math

import pytest

from freshet.components.gate.policy import (
    METRICS,
    GatePolicy,
    check_max_regression,
    parse_threshold,
    resolve_metric,
)
from freshet.errors import BadInput


def test_defaults_per_task() -> None:
    policy = GatePolicy.parse("classification")
    assert (policy.metric.name, policy.metric.direction, policy.threshold) == (
        "accuracy",
        "higher",
        0.9,
    )
    policy = GatePolicy.parse("regression")
    assert (policy.metric.name, policy.metric.direction, policy.threshold) == (
        "rmse",
        "lower",
        None,
    )
    assert policy.max_regression == 0.0


@pytest.mark.parametrize(
    ("name", "task", "direction"),
    [
        ("accuracy", "classification", "higher"),
        ("f1_macro", "classification", "higher"),
        ("log_loss", "classification", "lower"),
        ("rmse", "regression", "lower"),
        ("mae", "regression", "lower"),
        ("r2", "regression", "higher"),
    ],
)
def test_metric_table(name: str, task: str, direction: str) -> None:
    metric = METRICS[name]
    assert (metric.task, metric.direction) == (task, direction)
    assert resolve_metric(f" {name.upper()} ", task) == metric


def test_metric_of_another_task_names_the_choices() -> None:
    with pytest.raises(
        BadInput,
        match=r"^Gate metric 'rmse' does not exist for a classification model; "
        r"use one of: accuracy, f1_macro, log_loss\.$",
    ):
        GatePolicy.parse("classification", "rmse")
    with pytest.raises(
        BadInput,
        match="'accuracy' does not exist for a regression model; use one of: mae, r2, rmse.",
    ):
        GatePolicy.parse("regression", "accuracy")
    with pytest.raises(BadInput, match="'precision' does not exist for a classification model"):
        GatePolicy.parse("classification", "precision")


def test_metric_without_a_task() -> None:
    assert resolve_metric("", None) is None
    assert resolve_metric("r2", None) == METRICS["r2"]
    with pytest.raises(
        BadInput,
        match="Gate metric 'auc' is not known; use one of: accuracy, "
        "f1_macro, log_loss, mae, r2, rmse.",
    ):
        resolve_metric("auc", None)


def test_thresholds() -> None:
    accuracy, rmse, r2 = METRICS["accuracy"], METRICS["rmse"], METRICS["r2"]
    assert parse_threshold("auto", accuracy) == 0.9
    assert parse_threshold("AUTO", METRICS["f1_macro"]) is None
    assert parse_threshold("auto", rmse) is None
    assert parse_threshold(" none ", accuracy) is None
    assert parse_threshold("0.75", accuracy) == 0.75
    assert parse_threshold("12.5", rmse) == 12.5
    assert parse_threshold("-3", r2) == -3.0
    assert parse_threshold("1e3", None) == 1000.0


@pytest.mark.parametrize("value", ["", "high", "0.9.1", "nan", "inf"])
def test_threshold_that_is_not_a_number(value: str) -> None:
    with pytest.raises(
        BadInput, match=f"gate_threshold '{value}' is not valid; use 'auto', 'none'"
    ):
        parse_threshold(value, METRICS["accuracy"])


@pytest.mark.parametrize(
    ("metric", "value", "words"),
    [
        ("accuracy", "1.5", r"accuracy \(0 to 1\)"),
        ("f1_macro", "-0.1", r"f1_macro \(0 to 1\)"),
        ("rmse", "-2", r"rmse \(0 or more\)"),
        ("log_loss", "-1", r"log_loss \(0 or more\)"),
        ("r2", "1.2", r"r2 \(1 or less\)"),
    ],
)
def test_threshold_outside_the_metric_range(metric: str, value: str, words: str) -> None:
    with pytest.raises(BadInput, match=f"gate_threshold {value} is outside the range of {words}"):
        GatePolicy.parse(METRICS[metric].task, metric, value)


def test_max_regression() -> None:
    assert check_max_regression(0) == 0.0
    assert check_max_regression(2.5) == 2.5
    assert check_max_regression("0.01") == 0.01
    for bad in (-0.01, math.nan, math.inf, "a lot", None, True):
        with pytest.raises(BadInput, match=r"max_regression must be a number, 0 or more: "):
            check_max_regression(bad)
    with pytest.raises(BadInput, match=r"max_regression must be a number, 0 or more: -1\.0\."):
        GatePolicy.parse("regression", "mae", "none", -1.0)
