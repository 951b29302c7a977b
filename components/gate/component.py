"""KFP wrapper of the gate: reads the current champion, so it must never be cached."""

from typing import Any

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Output


def gate(
    dataset: Input[Dataset],
    evaluation: Input[Artifact],
    registry_uri: str,
    model_name: str,
    gate_metric: str,
    gate_threshold: str,
    max_regression: float,
    report: Output[Artifact],
) -> str:
    """Decides against the floor and the champion; returns passed, rejected or unchanged.

    Unchanged: the candidate is the champion's very model, so there is nothing to ship.

    The champion is scored again on this run's test split (`dataset`), so candidate and
    champion are compared on the same rows.
    """
    from freshet.components.evaluate.core import Evaluation
    from freshet.components.gate.core import GatePolicy, judge
    from freshet.errors import FreshetError
    from freshet.registry import open_registry

    try:
        with open(evaluation.path) as handle:
            result = Evaluation.from_json(handle.read())
        policy = GatePolicy.parse(result.task, gate_metric, gate_threshold, max_regression)
        decision = judge(result, dataset.path, open_registry(registry_uri), model_name, policy)
    except FreshetError as exc:
        raise SystemExit(f"gate: {exc}") from None
    with open(report.path, "w") as handle:
        handle.write(decision.to_json())
    report.metadata.update(
        {"decision": decision.decision, "reasons": decision.reasons, "metric": decision.metric}
    )
    print(f"gate: {decision.decision}: " + " ".join(decision.reasons))
    return decision.decision


def make_gate(base_image: str) -> Any:
    """The gate component for an image."""
    return dsl.component(base_image=base_image, install_kfp_package=False)(gate)
