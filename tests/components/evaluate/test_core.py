from __future__ import annotations

import numpy as np
import pytest

from freshet.components.evaluate.core import Evaluation, score


def test_score_matches_hand_computation() -> None:
    y_true = np.array([0, 0, 1, 1, 2])
    probs = np.array(
        [[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.3, 0.6, 0.1], [0.1, 0.1, 0.8]]
    )
    result = score(y_true, probs, ["a", "b", "c"])
    assert result.accuracy == pytest.approx(4 / 5)
    assert result.confusion_matrix == [[1, 1, 0], [0, 2, 0], [0, 0, 1]]
    # per class F1: a: p=1 r=.5 -> .667; b: p=2/3 r=1 -> .8; c: 1
    assert result.f1_macro == pytest.approx((2 / 3 + 0.8 + 1.0) / 3)
    expected_loss = -np.mean(np.log([0.9, 0.2, 0.8, 0.6, 0.8]))
    assert result.log_loss == pytest.approx(expected_loss)
    assert result.per_class["b"]["recall"] == pytest.approx(1.0)
    assert result.test_rows == 5


def test_absent_class_is_reported_not_crashing() -> None:
    result = score(np.array([0, 0]), np.array([[0.9, 0.1], [0.8, 0.2]]), ["x", "y"])
    assert result.confusion_matrix == [[2, 0], [0, 0]]
    assert result.per_class["y"]["support"] == 0


def test_json_round_trip() -> None:
    result = score(np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]]), ["x", "y"])
    assert Evaluation.from_json(result.to_json()) == result
    assert set(result.scalars()) == {"accuracy", "f1_macro", "log_loss"}
