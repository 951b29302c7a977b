"""Gate: decide whether a candidate may replace the champion.

Two rules on one metric (`GatePolicy`): a floor (a ceiling for lower-is-better metrics), and
no regression against the current champion beyond `max_regression`. The champion is scored
again on this run's test split (`evaluate.core.score`, the same code that scored the
candidate), so both are judged on the same rows; the metric stored with it in the registry
came from other data. A champion that cannot be scored on this data (another task or other
labels, features the dataset lacks, a model from before the contract) does not fail the run:
the reasons say why, and the candidate is judged by the floor only. The first model ever is
judged by the floor only too. A candidate that is the champion's very model (a re-run on data
already trained on, its train step served from the cache) is `unchanged`: nothing to ship.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from freshet.components.gate.policy import GatePolicy
from freshet.errors import BadInput

if TYPE_CHECKING:
    from freshet.components.evaluate.core import Evaluation
    from freshet.registry import ModelVersion, Registry

PASSED = "passed"
REJECTED = "rejected"
UNCHANGED = "unchanged"  # the candidate is the champion itself: nothing new to ship
_TOLERANCE = 1e-12

__all__ = [
    "PASSED",
    "REJECTED",
    "UNCHANGED",
    "ChampionScore",
    "GateDecision",
    "GatePolicy",
    "decide",
    "judge",
]


@dataclass(frozen=True)
class ChampionScore:
    """The champion's value of the gate metric on this run's test split.

    `score` is None when the champion could not be scored on it; `why_not` then says why.
    """

    version: int
    score: float | None
    why_not: str = ""


@dataclass(frozen=True)
class GateDecision:
    """The decision and every reason behind it (the run summary's "gate")."""

    metric: str
    direction: str  # "higher" or "lower" is better
    candidate: float
    champion: float | None  # on this run's test split; None without a comparable champion
    champion_version: int | None
    threshold: float | None
    max_regression: float
    decision: str
    reasons: list[str]

    @property
    def passed(self) -> bool:
        """True when the candidate may be registered."""
        return self.decision == PASSED

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON values."""
        return asdict(self)

    def to_json(self) -> str:
        """Serializes the decision as stable JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def _num(value: float) -> str:
    return f"{value:.4f}" if value == 0 or abs(value) >= 0.01 else f"{value:.4g}"


def _floor_reason(value: float, policy: GatePolicy) -> tuple[bool, str]:
    metric, threshold = policy.metric, policy.threshold
    if threshold is None:
        why = (
            "gate_threshold is 'none'"
            if policy.threshold_setting == "none"
            else "'auto' sets one only for accuracy"
        )
        bound = "floor" if metric.higher_is_better else "ceiling"
        return True, f"No {bound} on {metric.name} ({why})."
    if metric.higher_is_better:
        if value >= threshold:
            return True, f"{metric.name} {_num(value)} meets the floor {_num(threshold)}."
        return False, f"{metric.name} {_num(value)} is below the floor {_num(threshold)}."
    if value <= threshold:
        return True, f"{metric.name} {_num(value)} is within the ceiling {_num(threshold)}."
    return False, f"{metric.name} {_num(value)} is above the ceiling {_num(threshold)}."


def _champion_reason(
    value: float, policy: GatePolicy, champion: ChampionScore | None
) -> tuple[bool, str]:
    name = policy.metric.name
    if champion is None:
        return True, "No champion yet: judged by the floor only."
    if champion.score is None:
        return True, (
            f"Champion v{champion.version} could not be scored on this run's test split, "
            f"so the candidate is judged by the floor only: {champion.why_not}"
        )
    allowed = policy.max_regression
    versus = (
        f"champion v{champion.version} {name} {_num(champion.score)} "
        "(scored on this run's test split)"
    )
    if policy.metric.higher_is_better:
        ok = value + _TOLERANCE >= champion.score - allowed
    else:
        ok = value - _TOLERANCE <= champion.score + allowed
    if ok:
        return True, f"{name} {_num(value)} is within {_num(allowed)} of {versus}."
    return False, f"{name} {_num(value)} regresses more than {_num(allowed)} from {versus}."


def decide(
    candidate: float, policy: GatePolicy, champion: ChampionScore | None = None
) -> GateDecision:
    """Applies the gate.

    Args:
        candidate: The candidate's value of the policy's metric on this run's test split.
        policy: Metric, floor and allowed regression.
        champion: The champion's value on the same split; None when there is no champion.

    Returns:
        The decision with its reasons (each rule says whether it held).
    """
    metric = policy.metric
    if not math.isfinite(candidate):
        ok, reasons = False, [f"{metric.name} of the candidate is not a number ({candidate})."]
    else:
        floor_ok, floor = _floor_reason(candidate, policy)
        champion_ok, versus = _champion_reason(candidate, policy, champion)
        ok, reasons = floor_ok and champion_ok, [floor, versus]
    compared = champion is not None and champion.score is not None
    return GateDecision(
        metric=metric.name,
        direction=metric.direction,
        candidate=candidate,
        champion=champion.score if compared and champion is not None else None,
        champion_version=champion.version if champion is not None else None,
        threshold=policy.threshold,
        max_regression=policy.max_regression,
        decision=PASSED if ok else REJECTED,
        reasons=reasons,
    )


def unchanged(candidate: float, policy: GatePolicy, champion: ModelVersion) -> GateDecision:
    """The decision when the candidate is the champion's very model (same contract digest).

    A re-run on data already trained on gives the model its cache holds: re-scoring it, then
    packaging, verifying and registering it again would only repeat what made it champion.
    """
    return GateDecision(
        metric=policy.metric.name,
        direction=policy.metric.direction,
        candidate=candidate,
        champion=None,
        champion_version=champion.version,
        threshold=policy.threshold,
        max_regression=policy.max_regression,
        decision=UNCHANGED,
        reasons=[
            f"The candidate is champion v{champion.version} itself (model "
            f"{champion.model_digest}): nothing new to package, verify or register."
        ],
    )


def _incompatible(champion_dir: Path, candidate: Evaluation) -> str:
    """Why the champion's signature cannot be compared with the candidate ("" when it can)."""
    from freshet.contract import load_signature

    signature = load_signature(champion_dir)
    if signature.task != candidate.task:
        return f"it is a {signature.task} model and the candidate a {candidate.task} model."
    if sorted(signature.labels) != sorted(candidate.model_labels):
        return (
            f"it predicts the labels {sorted(signature.labels)} and the candidate "
            f"{sorted(candidate.model_labels)}."
        )
    return ""


def champion_score(
    registry: Registry,
    version: ModelVersion,
    candidate: Evaluation,
    dataset_dir: str | Path,
    metric: str,
) -> ChampionScore:
    """Scores a champion version on a dataset's test split, for comparison with a candidate.

    Raises:
        RegistryError: The champion's files cannot be read from the registry.
    """
    from freshet.components.evaluate.core import score

    with registry.model_files(version) as files:
        try:
            why_not = _incompatible(files, candidate)
            value = None if why_not else score(files, dataset_dir).metrics[metric]
        except BadInput as exc:
            why_not, value = str(exc), None
    if value is not None and not math.isfinite(value):
        why_not, value = f"its {metric} on this run's test split is not a number ({value}).", None
    return ChampionScore(version.version, value, why_not)


def judge(
    candidate: Evaluation,
    dataset_dir: str | Path,
    registry: Registry,
    model_name: str,
    policy: GatePolicy,
) -> GateDecision:
    """Looks up the champion, scores it on this run's test split, and decides.

    Args:
        candidate: The candidate's evaluation on `dataset_dir`'s test split.
        dataset_dir: This run's dataset directory.
        registry: Where the champion is.
        model_name: The registered model name.
        policy: Metric, floor and allowed regression (parsed for the candidate's task).

    Returns:
        The decision.

    Raises:
        BadInput: The candidate's evaluation lacks the policy's metric.
        RegistryError: The registry cannot be read.
    """
    name = policy.metric.name
    if name not in candidate.metrics:
        raise BadInput(
            f"The candidate's evaluation has no metric '{name}'; it has: "
            f"{', '.join(sorted(candidate.metrics))}."
        )
    version = registry.champion(model_name)
    if version is not None and candidate.model_digest == version.model_digest != "":
        return unchanged(candidate.metrics[name], policy, version)
    champion = (
        champion_score(registry, version, candidate, dataset_dir, name)
        if version is not None
        else None
    )
    return decide(candidate.metrics[name], policy, champion)
