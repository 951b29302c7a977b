from __future__ import annotations

import pytest

from freshet.components.gate.core import GatePolicy, decide
from freshet.errors import BadInput


def test_first_model_is_judged_by_floor_only() -> None:
    decision = decide(0.95, GatePolicy(min_accuracy=0.9))
    assert decision.passed
    assert "no champion yet" in " ".join(decision.reasons)
    assert not decide(0.85, GatePolicy(min_accuracy=0.9)).passed


def test_regression_against_champion() -> None:
    policy = GatePolicy(min_accuracy=0.5, max_regression=0.01)
    assert decide(0.95, policy, champion_accuracy=0.955, champion_version=3).passed
    rejected = decide(0.93, policy, champion_accuracy=0.955, champion_version=3)
    assert not rejected.passed
    assert rejected.decision == "rejected"
    assert any("regresses more than 0.0100 from champion v3" in r for r in rejected.reasons)


def test_equal_to_champion_passes_with_zero_regression() -> None:
    assert decide(0.97, GatePolicy(), champion_accuracy=0.97, champion_version=1).passed


def test_both_rules_are_reported() -> None:
    decision = decide(0.5, GatePolicy(min_accuracy=0.9), champion_accuracy=0.99, champion_version=1)
    assert len(decision.reasons) == 2
    assert "below the floor" in decision.reasons[0]


@pytest.mark.parametrize("field", ["min_accuracy", "max_regression"])
def test_thresholds_out_of_range(field: str) -> None:
    with pytest.raises(BadInput, match=f"{field} must be between 0 and 1: 1.5."):
        decide(0.9, GatePolicy(**{field: 1.5}))
