"""KFP wrapper of the train step."""

from typing import Any

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output


def train(
    dataset: Input[Dataset],
    model: Output[Model],
    hidden_units: int,
    hidden_layers: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    patience: int,
    seed: int,
) -> None:
    """Trains the classifier; a retried attempt resumes from the checkpoint in `model`."""
    from components.train.core import TrainConfig
    from components.train.core import train as run
    from freshet.errors import FreshetError

    config = TrainConfig(
        hidden_units=hidden_units,
        hidden_layers=hidden_layers,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        patience=patience,
        seed=seed,
    )
    try:
        result = run(dataset.path, model.path, config)
    except FreshetError as exc:
        raise SystemExit(f"train: {exc}") from None
    model.metadata.update(
        {
            "framework": "pytorch",
            "device": result.device,
            "epochs_run": result.epochs_run,
            "val_accuracy": result.val_accuracy,
            "best_val_loss": result.best_val_loss,
            "data_version": dataset.metadata.get("data_version", ""),
        }
    )


def make_train(base_image: str) -> Any:
    """The train component for an image."""
    return dsl.component(base_image=base_image, install_kfp_package=False)(train)
