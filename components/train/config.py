"""What the train step takes and gives back: its settings, its result, its interruption."""

from __future__ import annotations

from dataclasses import dataclass, field

from freshet.components.train import data
from freshet.errors import BadInput, FreshetError

SCHEDULES = ("constant", "cosine")


class TrainingInterrupted(FreshetError):
    """Training stopped on SIGTERM after saving a checkpoint; a retry resumes from it."""


@dataclass(frozen=True)
class TrainConfig:
    """Model size and optimisation settings (pipeline parameters)."""

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

    def check(self) -> None:
        """Rejects values that cannot train, naming the value."""
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


@dataclass
class TrainResult:
    """What training did."""

    device: str
    data_loading: str
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    val_accuracy: float
    resumed_from_step: int
    steps: int
    samples_per_second: float
    train_seconds: float
    train_cpu_seconds: float
    checkpoint_seconds: float
    checkpoint_write_seconds: float
    checkpoints: int
    checkpoint_uri: str
    history: list[dict[str, float]] = field(default_factory=list)
