"""The gradient-boosting pipeline: the same steps as `training`, another framework's trainer.

scikit-learn's histogram gradient boosting trains on the same preprocessing and writes the
same model contract, so evaluate, gate, package, verify and register are unchanged.
"""

from __future__ import annotations

from typing import Any

from kfp import dsl

from freshet.config import Settings
from freshet.pipelines.steps import (
    DATA_PARAMETERS,
    SHIP_PARAMETERS,
    ContinuousTrainingOutputs,
    Parameters,
    Steps,
    with_exit_notification,
    with_parameters,
)
from freshet.preflight import declare

NAME = "training-gbt"
GBT_PARAMETERS: Parameters = [
    ("max_iter", int, 200),
    ("learning_rate", float, 0.1),
    ("max_leaf_nodes", int, 31),
]


def build(settings: Settings, name: str = NAME, defaults: dict[str, Any] | None = None) -> Any:
    """Builds the gradient-boosting pipeline (see `freshet.pipelines.training.build_training`)."""
    from freshet.components.train_gbt.component import make_train_gbt

    steps = Steps(settings)
    train_op = make_train_gbt(settings.images.components)

    def body(p: dict[str, Any]) -> ContinuousTrainingOutputs:
        version, fetched = steps.fetch_data(p["data_uri"], p["label_column"], p["task"], p["seed"])
        trained = steps.limits(
            train_op(
                dataset=fetched.outputs["dataset"],
                seed=p["seed"],
                **{key: p[key] for key, _, _ in GBT_PARAMETERS},
            )
        )
        declare(trained, "freshet.components.train_gbt.preflight:check")
        shipped = steps.ship(
            fetched.outputs["dataset"],
            trained.outputs["model"],
            version.output,
            **{key: p[key] for key, _, _ in SHIP_PARAMETERS},
        )
        return steps.outputs(version, fetched, trained, shipped)

    parameters = DATA_PARAMETERS + GBT_PARAMETERS + SHIP_PARAMETERS
    inner = dsl.pipeline(
        name=f"{name}-steps",
        description="Fetch, train (gradient boosting), evaluate, gate, package, verify, register.",
    )(with_parameters(body, parameters, ContinuousTrainingOutputs, defaults))
    return with_exit_notification(inner, steps.notify_op, steps.limits, name)
