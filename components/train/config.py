"""What the train step takes and gives back: its settings, its result, its interruption."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from freshet.components.train import data
from freshet.errors import BadInput, FreshetError

SCHEDULES = ("constant", "cosine")
BUILT_IN_FACTORY = "freshet.components.train.model:mlp"
# Keys the train step passes to every factory itself; model_params may not set them.
FACTORY_KEYS = ("hidden_units", "hidden_layers", "seed", "task")


class TrainingInterrupted(FreshetError):
    """Training stopped on SIGTERM after saving a checkpoint; a retry resumes from it."""


def factory_name(model_factory: str) -> str:
    """The factory as the user reads it: the built-in MLP's own name when empty."""
    return model_factory.strip() or BUILT_IN_FACTORY


def parse_model_params(text: str, model_factory: str = "") -> dict[str, Any]:
    """Parses `model_params` (a JSON object's text) for the model factory.

    Raises:
        BadInput: The text is not a JSON object, or it sets a key the train step passes.
    """
    name = factory_name(model_factory)
    try:
        params = json.loads(text or "{}")
    except ValueError:
        params = None
    if not isinstance(params, dict):
        raise BadInput(
            f"model_params for the model factory '{name}' must be a JSON object such as "
            f"'{{\"dropout\": 0.1}}', not '{text}'."
        )
    taken = sorted(set(params) & set(FACTORY_KEYS))
    if taken:
        raise BadInput(
            f"model_params for the model factory '{name}' must not set '{taken[0]}': "
            "the train step passes it from its own parameter."
        )
    return params


@dataclass(frozen=True)
class TrainConfig:
    """The model, its size and the optimisation settings (pipeline parameters).

    `model_factory` is "" (the built-in MLP) or "package.module:function", called as
    `function(n_inputs, n_outputs, params) -> torch.nn.Module` with `params` holding
    `hidden_units`, `hidden_layers`, `seed`, `task` and the keys of `model_params`.
    """

    hidden_units: int = 128
    hidden_layers: int = 2
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    lr_schedule: str = "constant"
    patience: int = 0
    seed: int = 0
    device: str = "auto"
    checkpoint_every_steps: int = 0
    compile_model: bool = False
    data_loading: str = "auto"
    loader_workers: int = -1
    model_factory: str = ""
    model_params: str = "{}"

    def check(self) -> None:
        """Rejects values that cannot train, naming the value (imports nothing)."""
        for name in ("hidden_units", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise BadInput(f"{name} must be at least 1: {getattr(self, name)}.")
        for name in ("hidden_layers", "patience", "checkpoint_every_steps", "weight_decay"):
            if getattr(self, name) < 0:
                raise BadInput(f"{name} must not be negative: {getattr(self, name)}.")
        if not self.learning_rate > 0:
            raise BadInput(f"learning_rate must be positive: {self.learning_rate}.")
        if self.device not in ("auto", "cpu", "cuda"):
            raise BadInput(f"device must be auto, cpu or cuda: '{self.device}'.")
        if self.lr_schedule not in SCHEDULES:
            raise BadInput(f"lr_schedule must be constant or cosine: '{self.lr_schedule}'.")
        if self.data_loading not in data.MODES:
            raise BadInput(f"data_loading must be auto, memory or stream: '{self.data_loading}'.")
        if self.loader_workers < -1:
            raise BadInput(f"loader_workers must be -1 (auto) or more: {self.loader_workers}.")
        self.params()

    def params(self, task: str = "") -> dict[str, Any]:
        """What the model factory receives besides the input and output widths."""
        return {
            "hidden_units": self.hidden_units,
            "hidden_layers": self.hidden_layers,
            "seed": self.seed,
            "task": task,
            **parse_model_params(self.model_params, self.model_factory),
        }


@dataclass
class TrainResult:
    """What training did.

    `val_accuracy` (classification) or `val_rmse` (regression, in the label's units) is the
    best epoch's validation score; the other one is None.
    """

    task: str
    device: str
    data_loading: str
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    val_accuracy: float | None
    val_rmse: float | None
    resumed_from_step: int
    steps: int
    samples_per_second: float
    train_seconds: float
    train_cpu_seconds: float
    checkpoint_seconds: float
    checkpoint_write_seconds: float
    checkpoints: int
    checkpoint_uri: str
    model_factory: str = BUILT_IN_FACTORY
    n_inputs: int = 0
    export_max_diff: float = 0.0
    export_seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
