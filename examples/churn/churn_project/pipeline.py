"""The project's pipeline: freshet's fetch and ship steps around the project's own trainer."""

# No `from __future__ import annotations`: kfp reads the component's annotations as types.
from typing import Any

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

from freshet.config import Settings
from freshet.pipelines.steps import (
    SHIP_PARAMETERS,
    ContinuousTrainingOutputs,
    Steps,
    with_exit_notification,
    with_parameters,
)

NAME = "churn"


def forest(dataset: Input[Dataset], model: Output[Model], trees: int, seed: int) -> float:
    """Trains the project's random forest; returns its validation accuracy."""
    from churn_project.forest import train_forest

    accuracy = train_forest(dataset.path, model.path, trees=trees, seed=seed)
    model.metadata.update({"framework": "scikit-learn", "validation_accuracy": accuracy})
    return accuracy


def build(settings: Settings) -> Any:
    """Builds the churn pipeline with images from settings."""
    steps = Steps(settings)
    # The project's image is freshet's components image with this package added (Dockerfile).
    forest_op = dsl.component(base_image=settings.images.components, install_kfp_package=False)(
        forest
    )

    def body(p: dict[str, Any]) -> ContinuousTrainingOutputs:
        version, fetched = steps.fetch_data(p["data_uri"], p["label_column"], "classification", 0)
        trained = steps.limits(
            forest_op(dataset=fetched.outputs["dataset"], trees=p["trees"], seed=0)
        )
        shipped = steps.ship(
            fetched.outputs["dataset"],
            trained.outputs["model"],
            version.output,
            **{key: p[key] for key, _, _ in SHIP_PARAMETERS},
        )
        return steps.outputs(version, fetched, trained, shipped)

    parameters = [
        ("data_uri", str, "data/churn.csv"),
        ("label_column", str, "churned"),
        ("trees", int, 100),
        *SHIP_PARAMETERS,
    ]
    defaults = {"model_name": "churn", "gate_threshold": "0.75"}
    inner = dsl.pipeline(name=f"{NAME}-steps", description="Churn: a forest of our own.")(
        with_parameters(body, parameters, ContinuousTrainingOutputs, defaults)
    )
    return with_exit_notification(inner, steps.notify_op, steps.limits, NAME)
