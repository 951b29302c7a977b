"""The gradient-boosting pipeline: the same steps as `training`, another framework's trainer.

scikit-learn's histogram gradient boosting trains on the same preprocessing and writes the
same model contract, so evaluate, gate, package, verify and register are unchanged.
"""

from __future__ import annotations

from typing import Any

from freshet.config import Settings
from freshet.pipelines.steps import Parameters, Steps, continuous_training
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

    train_op = make_train_gbt(settings.images.components)

    def train(steps: Steps, dataset: Any, p: dict[str, Any]) -> Any:
        params = {key: p[key] for key, _, _ in GBT_PARAMETERS}
        trained = steps.limits(train_op(dataset=dataset, seed=p["seed"], **params))
        return declare(trained, "freshet.components.train_gbt.preflight:check")

    return continuous_training(
        settings,
        name,
        "Fetch, train (gradient boosting), evaluate, gate, package, verify, register.",
        train,
        GBT_PARAMETERS,
        defaults,
    )
