"""The project's pipeline: freshet's fetch and ship steps around the project's own trainer."""

# No `from __future__ import annotations`: kfp reads the component's annotations as types.
from typing import Any

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

from freshet.config import Settings
from freshet.pipelines.steps import Steps, continuous_training

NAME = "churn"


def forest(dataset: Input[Dataset], model: Output[Model], trees: int, seed: int) -> float:
    """Trains the project's random forest; returns its validation accuracy."""
    from churn_project.forest import train_forest

    accuracy = train_forest(dataset.path, model.path, trees=trees, seed=seed)
    model.metadata.update({"framework": "scikit-learn", "validation_accuracy": accuracy})
    return accuracy


def build(settings: Settings) -> Any:
    """Builds the churn pipeline with images from settings."""
    # The project's image is freshet's components image with this package added (Dockerfile).
    forest_op = dsl.component(base_image=settings.images.components, install_kfp_package=False)(
        forest
    )

    def train(steps: Steps, dataset: Any, p: dict[str, Any]) -> Any:
        return steps.limits(forest_op(dataset=dataset, trees=p["trees"], seed=0))

    return continuous_training(
        settings,
        NAME,
        "Churn: fetch, a random forest of our own, then freshet's evaluate, gate and ship.",
        train,
        train_parameters=[("trees", int, 100)],
        defaults={"model_name": "churn", "gate_threshold": "0.75"},
        data_parameters=[("data_uri", str, "data/churn.csv"), ("label_column", str, "churned")],
    )
