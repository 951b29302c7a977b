"""Gate: decide whether a candidate may replace the champion.

Two rules: an absolute floor on accuracy, and no regression against the current champion
beyond `max_regression`. The first model ever is judged by the floor only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from freshet.errors import BadInput

PASSED = "passed"
REJECTED = "rejected"


@dataclass(frozen=True)
class GatePolicy:
    """Thresholds of the gate (pipeline parameters)."""

    min_accuracy: float = 0.9
    max_regression: float = 0.0

    def check(self) -> None:
        """Rejects thresholds outside [0, 1], naming the value."""
        for name in ("min_accuracy", "max_regression"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise BadInput(f"{name} must be between 0 and 1: {value}.")


@dataclass(frozen=True)
class GateDecision:
    """The decision and every reason behind it."""

    decision: str
    reasons: list[str]
    candidate_accuracy: float
    champion_accuracy: float | None = None
    champion_version: int | None = None
    policy: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when the candidate may be registered."""
        return self.decision == PASSED

    def to_json(self) -> str:
        """Serializes the decision as stable JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def decide(
    accuracy: float,
    policy: GatePolicy,
    champion_accuracy: float | None = None,
    champion_version: int | None = None,
) -> GateDecision:
    """Applies the gate.

    Args:
        accuracy: The candidate's test accuracy.
        policy: Floor and allowed regression.
        champion_accuracy: The current champion's test accuracy, None when there is none.
        champion_version: The champion's registry version, for the record.

    Returns:
        The decision with its reasons (each rule says whether it held).
    """
    policy.check()
    reasons = []
    ok = True
    if accuracy >= policy.min_accuracy:
        reasons.append(f"accuracy {accuracy:.4f} meets the floor {policy.min_accuracy:.4f}")
    else:
        ok = False
        reasons.append(f"accuracy {accuracy:.4f} is below the floor {policy.min_accuracy:.4f}")
    if champion_accuracy is None:
        reasons.append("no champion yet: judged by the floor only")
    else:
        bound = champion_accuracy - policy.max_regression
        versus = f"champion v{champion_version} accuracy {champion_accuracy:.4f}"
        if accuracy + 1e-12 >= bound:
            reasons.append(
                f"accuracy {accuracy:.4f} is within {policy.max_regression:.4f} of {versus}"
            )
        else:
            ok = False
            reasons.append(
                f"accuracy {accuracy:.4f} regresses more than "
                f"{policy.max_regression:.4f} from {versus}"
            )
    return GateDecision(
        decision=PASSED if ok else REJECTED,
        reasons=reasons,
        candidate_accuracy=accuracy,
        champion_accuracy=champion_accuracy,
        champion_version=champion_version,
        policy={"min_accuracy": policy.min_accuracy, "max_regression": policy.max_regression},
    )
