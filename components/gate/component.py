"""KFP wrapper of the gate: reads the current champion, so it must never be cached."""

from typing import Any

from kfp import dsl
from kfp.dsl import Artifact, Input, Output


def gate(
    evaluation: Input[Artifact],
    registry_uri: str,
    model_name: str,
    min_accuracy: float,
    max_regression: float,
    report: Output[Artifact],
) -> str:
    """Decides pass or reject against the floor and the champion; returns the decision."""
    from freshet.components.evaluate.core import Evaluation
    from freshet.components.gate.core import GatePolicy, decide
    from freshet.components.register.core import champion_accuracy
    from freshet.errors import FreshetError

    with open(evaluation.path) as handle:
        result = Evaluation.from_json(handle.read())
    try:
        champion, version = champion_accuracy(registry_uri, model_name)
        decision = decide(
            result.accuracy, GatePolicy(min_accuracy, max_regression), champion, version
        )
    except FreshetError as exc:
        raise SystemExit(f"gate: {exc}") from None
    with open(report.path, "w") as handle:
        handle.write(decision.to_json())
    report.metadata.update({"decision": decision.decision, "reasons": decision.reasons})
    print(f"gate: {decision.decision}: " + "; ".join(decision.reasons))
    return decision.decision


def make_gate(base_image: str) -> Any:
    """The gate component for an image."""
    return dsl.component(base_image=base_image, install_kfp_package=False)(gate)
