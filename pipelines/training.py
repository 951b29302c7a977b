"""The training pipeline: fetch, train (PyTorch), evaluate, gate, then package, verify, register.

Only wiring lives here (see `freshet.pipelines.steps`). The model is the built-in MLP or the
user's own torch module (`model=package.module:function`); the task is inferred from the
label unless `task` says it.
"""

from __future__ import annotations

from typing import Any

from freshet.config import Settings
from freshet.pipelines.steps import Parameters, Steps, continuous_training

NAME = "training"
TRAIN_PARAMETERS: Parameters = [
    ("model", str, ""),
    ("model_params", str, "{}"),
    ("hidden_units", int, 128),
    ("hidden_layers", int, 2),
    ("epochs", int, 30),
    ("batch_size", int, 64),
    ("learning_rate", float, 0.001),
    ("patience", int, 0),
    ("checkpoint_root", str, ""),
    ("checkpoint_every_steps", int, 0),
    ("compile_model", bool, False),
    ("data_loading", str, "auto"),
]


def build_training(
    settings: Settings, name: str = NAME, defaults: dict[str, Any] | None = None
) -> Any:
    """Builds the PyTorch training pipeline.

    Args:
        settings: Images and resources to compile in.
        name: The pipeline's name (a user project's own pipeline may reuse this one).
        defaults: Parameter defaults to change, e.g. `{"model": "mypkg.models:cnn"}`.

    Returns:
        The kfp pipeline (compile it with `kfp.compiler.Compiler`).
    """

    def train(steps: Steps, dataset: Any, p: dict[str, Any]) -> Any:
        params = {key: p[key] for key, _, _ in TRAIN_PARAMETERS if key != "model"}
        return steps.train_torch(dataset, model_factory=p["model"], seed=p["seed"], **params)

    return continuous_training(
        settings,
        name,
        "Fetch, train (PyTorch), evaluate, gate, package, verify and register.",
        train,
        TRAIN_PARAMETERS,
        defaults,
    )


def build(settings: Settings) -> Any:
    """The shipped `training` pipeline."""
    return build_training(settings)
