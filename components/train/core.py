"""Train: a PyTorch MLP classifier, seeded, resumable from its last checkpoint.

Data that fits in memory is held as tensors on the device and batches are drawn by index,
so there is no per-sample DataLoader work. A checkpoint (weights, optimizer, RNG state,
position, best validation score) is written atomically at every epoch end and every
`checkpoint_every_steps` steps; a restarted run with the same output directory resumes from
it and, on the CPU, ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from components.fetch.core import DatasetSchema
from components.train import checkpoint
from components.train.model import ModelSpec, build_mlp
from freshet.errors import BadInput, FreshetError

CHECKPOINT = Path("checkpoint") / "last.pt"


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
    patience: int = 0
    seed: int = 0
    device: str = "auto"
    checkpoint_every_steps: int = 0

    def check(self) -> None:
        """Rejects values that cannot train, naming the value."""
        positive = ("hidden_units", "epochs", "batch_size")
        for name in positive:
            if getattr(self, name) < 1:
                raise BadInput(f"{name} must be at least 1: {getattr(self, name)}.")
        for name in ("hidden_layers", "patience", "checkpoint_every_steps", "weight_decay"):
            if getattr(self, name) < 0:
                raise BadInput(f"{name} must not be negative: {getattr(self, name)}.")
        if not self.learning_rate > 0:
            raise BadInput(f"learning_rate must be positive: {self.learning_rate}.")
        if self.device not in ("auto", "cpu", "cuda"):
            raise BadInput(f"device must be auto, cpu or cuda: '{self.device}'.")


@dataclass
class TrainResult:
    """What training did."""

    device: str
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    val_accuracy: float
    resumed_from_step: int
    samples_per_second: float
    history: list[dict[str, float]] = field(default_factory=list)


@dataclass
class _Data:
    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any
    spec: ModelSpec


def pick_device(requested: str) -> Any:
    """Chooses CUDA when present (or asked for), else the CPU."""
    import torch

    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def _load_data(dataset_dir: Path, config: TrainConfig, device: Any) -> _Data:
    import numpy as np
    import pandas as pd
    import torch

    schema = DatasetSchema.load(dataset_dir)
    index = {label: i for i, label in enumerate(schema.labels)}

    def arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
        frame = pd.read_parquet(dataset_dir / f"{split}.parquet")
        x = frame[schema.features].to_numpy(dtype=np.float32)
        y = frame[schema.label_column].map(lambda v: index[str(v)]).to_numpy(dtype=np.int64)
        return x, y

    x_train, y_train = arrays("train")
    x_val, y_val = arrays("validation")
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    scale = np.where(std > 1e-12, std, 1.0).astype(np.float32)
    spec = ModelSpec(
        features=schema.features,
        labels=schema.labels,
        label_column=schema.label_column,
        mean=[float(v) for v in mean],
        scale=[float(v) for v in scale],
        hidden_units=config.hidden_units,
        hidden_layers=config.hidden_layers,
        data_version=schema.data_version,
    )

    def tensor(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy((x - mean) / scale).to(device)

    return _Data(
        x_train=tensor(x_train),
        y_train=torch.from_numpy(y_train).to(device),
        x_val=tensor(x_val),
        y_val=torch.from_numpy(y_val).to(device),
        spec=spec,
    )


def _fingerprint(config: TrainConfig, spec: ModelSpec) -> str:
    keyed = {k: v for k, v in asdict(config).items() if k != "device"}
    text = json.dumps({"config": keyed, "data": spec.data_version}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


@contextmanager
def _sigterm_flag() -> Iterator[threading.Event]:
    """Turns SIGTERM (the Spot preemption notice) into a flag the loop checks."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: flag.set())
    try:
        yield flag
    finally:
        signal.signal(signal.SIGTERM, previous)


def _evaluate(network: Any, x: Any, y: Any) -> tuple[float, float]:
    import torch
    from torch.nn import functional

    network.eval()
    with torch.no_grad():
        logits = network(x).float()
        loss = float(functional.cross_entropy(logits, y))
        accuracy = float((logits.argmax(dim=1) == y).float().mean())
    network.train()
    return loss, accuracy


def train(dataset_dir: str | Path, model_dir: str | Path, config: TrainConfig) -> TrainResult:
    """Trains the classifier and writes `model.pt`, `model.json` and `training.json`.

    Args:
        dataset_dir: A directory written by the fetch step.
        model_dir: Output directory (the KFP Model artifact path); a checkpoint found here
            from an earlier attempt with the same config and data is resumed.
        config: Model size and optimisation settings.

    Returns:
        What training did.

    Raises:
        TrainingInterrupted: SIGTERM arrived; a checkpoint was saved first.
    """
    import torch
    from torch.nn import functional

    config.check()
    out = Path(model_dir)
    device = pick_device(config.device)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)
    else:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    data = _load_data(Path(dataset_dir), config, device)
    fingerprint = _fingerprint(config, data.spec)

    torch.manual_seed(config.seed)
    network = build_mlp(
        len(data.spec.features), len(data.spec.labels), config.hidden_units, config.hidden_layers
    ).to(device)
    optimizer = torch.optim.Adam(
        network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    generator = torch.Generator().manual_seed(config.seed)
    state: dict[str, Any] = {
        "epoch": 0,
        "step": 0,
        "perm": None,
        "global_step": 0,
        "best_val_loss": float("inf"),
        "best_epoch": -1,
        "best_state": None,
        "stale_epochs": 0,
        "history": [],
    }
    saved = checkpoint.load(out / CHECKPOINT)
    resumed_from = 0
    if saved is not None and saved.get("fingerprint") == fingerprint:
        network.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        generator.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        state = saved["loop"]
        resumed_from = int(state["global_step"])

    def save() -> None:
        checkpoint.save_atomic(
            {
                "fingerprint": fingerprint,
                "model": network.state_dict(),
                "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(),
                "torch_rng": torch.get_rng_state(),
                "loop": state,
            },
            out / CHECKPOINT,
        )

    n = int(data.x_train.shape[0])
    autocast = torch.autocast(
        device_type="cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"
    )
    samples = 0
    started = time.perf_counter()
    network.train()
    with _sigterm_flag() as stop:
        while state["epoch"] < config.epochs:
            if state["perm"] is None:
                state["perm"] = torch.randperm(n, generator=generator)
            perm = state["perm"].to(device)
            for start in range(state["step"] * config.batch_size, n, config.batch_size):
                idx = perm[start : start + config.batch_size]
                with autocast:
                    loss = functional.cross_entropy(network(data.x_train[idx]), data.y_train[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                samples += int(idx.shape[0])
                state["step"] += 1
                state["global_step"] += 1
                every = config.checkpoint_every_steps
                if stop.is_set() or (every and state["global_step"] % every == 0):
                    save()
                if stop.is_set():
                    raise TrainingInterrupted(
                        f"Training stopped by SIGTERM at step {state['global_step']}; "
                        "the checkpoint was saved and a retry resumes from it."
                    )
            val_loss, val_accuracy = _evaluate(network, data.x_val, data.y_val)
            state["history"].append(
                {"epoch": state["epoch"], "val_loss": val_loss, "val_accuracy": val_accuracy}
            )
            if val_loss < state["best_val_loss"]:
                state.update(
                    best_val_loss=val_loss,
                    best_epoch=state["epoch"],
                    stale_epochs=0,
                    best_state={
                        k: v.detach().cpu().clone() for k, v in network.state_dict().items()
                    },
                )
            else:
                state["stale_epochs"] += 1
            state.update(epoch=state["epoch"] + 1, step=0, perm=None)
            stopping = bool(config.patience and state["stale_epochs"] >= config.patience)
            if stopping:
                state["epoch"] = config.epochs
            save()
    elapsed = time.perf_counter() - started

    network.load_state_dict(state["best_state"])
    _, val_accuracy = _evaluate(network, data.x_val, data.y_val)
    out.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.cpu() for k, v in network.state_dict().items()}, out / "model.pt")
    (out / "model.json").write_text(data.spec.to_json())
    result = TrainResult(
        device=device.type,
        epochs_run=len(state["history"]),
        best_epoch=int(state["best_epoch"]),
        best_val_loss=float(state["best_val_loss"]),
        val_accuracy=val_accuracy,
        resumed_from_step=resumed_from,
        samples_per_second=samples / elapsed if elapsed > 0 else 0.0,
        history=state["history"],
    )
    (out / "training.json").write_text(json.dumps(asdict(result), indent=2))
    return result
