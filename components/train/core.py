"""Train: a PyTorch MLP classifier, seeded, resumable from its last checkpoint.

The loop keeps the device busy: data that fits is held on the device and batched by index
(see `freshet.components.train.data`), larger data streams through a DataLoader; on CUDA the forward
pass runs under bf16 autocast with TF32 matmuls, and `torch.compile` is one flag away.

A checkpoint (weights, optimizer, scheduler, RNG states, position, best validation score) is
written atomically at every epoch end, every `checkpoint_every_steps` steps and on SIGTERM
(the Spot preemption notice), after which training raises `TrainingInterrupted` so the step
exits non-zero and its retry resumes. A restarted run that finds a checkpoint of the same
configuration and data resumes from it and, on the CPU, ends with bitwise the same weights as
an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

from freshet.components.fetch.core import DatasetSchema
from freshet.components.train import checkpoint, data
from freshet.components.train.config import TrainConfig, TrainingInterrupted, TrainResult
from freshet.components.train.model import ModelSpec, build_mlp
from freshet.errors import BadInput

CHECKPOINT_DIR = "checkpoint"
# Settings that change how fast training runs but not what it computes: a retry may change
# them (another machine, another worker count) and still resume the same checkpoint.
NOT_FINGERPRINTED = ("device", "compile_model", "checkpoint_every_steps", "loader_workers")


def pick_device(requested: str) -> Any:
    """Chooses CUDA when present (or asked for), else the CPU."""
    import torch

    if requested == "cuda" and not torch.cuda.is_available():
        raise BadInput("device is 'cuda' but this machine has no CUDA device.")
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def fingerprint(config: TrainConfig, schema: DatasetSchema, mode: str) -> str:
    """What a checkpoint must match to be resumed: the computation, not how fast it runs."""
    keyed = {k: v for k, v in asdict(config).items() if k not in NOT_FINGERPRINTED}
    keyed["data_loading"] = mode
    text = json.dumps(
        {
            "config": keyed,
            "data": schema.data_version,
            "features": schema.features,
            "labels": schema.labels,
            "rows": schema.rows,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def checkpoint_location(model_dir: Path, checkpoint_root: str, key: str) -> str:
    """Where the checkpoint lives: under the model output, or under a root kept across retries.

    With a root (e.g. `gs://bucket/checkpoints`), the location is `<root>/<key[:16]>` so
    attempts of the same computation share it and different ones never collide.
    """
    if not checkpoint_root.strip():
        return str(model_dir / CHECKPOINT_DIR)
    return f"{checkpoint_root.rstrip('/')}/{key[:16]}"


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


@contextmanager
def _numerics(device: Any) -> Iterator[None]:
    """Deterministic kernels on the CPU; TF32 matmuls on CUDA. Restores the global settings."""
    import torch

    deterministic = torch.are_deterministic_algorithms_enabled()
    precision = torch.get_float32_matmul_precision()
    cudnn_tf32 = torch.backends.cudnn.allow_tf32
    try:
        if device.type == "cpu":
            torch.use_deterministic_algorithms(True)
        else:
            torch.set_float32_matmul_precision("high")
            torch.backends.cudnn.allow_tf32 = True
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.set_float32_matmul_precision(precision)
        torch.backends.cudnn.allow_tf32 = cudnn_tf32


def _evaluate(network: Any, batches: Iterator[data.Batch], autocast: Any) -> tuple[float, float]:
    import torch
    from torch.nn import functional

    network.eval()
    loss_sum, correct, rows = 0.0, 0, 0
    with torch.no_grad():
        for x, y in batches:
            with autocast:
                logits = network(x)
            logits = logits.float()
            loss_sum += float(functional.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(dim=1) == y).sum())
            rows += int(y.shape[0])
    network.train()
    if rows == 0:
        raise BadInput("The validation split is empty; training needs at least one row.")
    return loss_sum / rows, correct / rows


def _initial_state() -> dict[str, Any]:
    return {
        "epoch": 0,
        "step": 0,
        "global_step": 0,
        "epoch_rng": None,  # generator state at the start of the current epoch
        "best_val_loss": float("inf"),
        "best_epoch": -1,
        "best_state": None,
        "stale_epochs": 0,
        "history": [],
    }


def train(
    dataset_dir: str | Path,
    model_dir: str | Path,
    config: TrainConfig,
    checkpoint_root: str = "",
    storage_client: Any = None,
) -> TrainResult:
    """Trains the classifier and writes `model.pt`, `model.json` and `training.json`.

    Args:
        dataset_dir: A directory written by the fetch step.
        model_dir: Output directory (the KFP Model artifact path).
        config: Model size and optimisation settings.
        checkpoint_root: Directory or `gs://` prefix kept across retries; the checkpoint goes
            under `model_dir` when empty. A checkpoint found there from an earlier attempt
            with the same configuration and data is resumed.
        storage_client: A `google.cloud.storage.Client` for a gs:// root (default client
            when None).

    Returns:
        What training did.

    Raises:
        BadInput: A setting or the dataset cannot train.
        TrainingInterrupted: SIGTERM arrived; a checkpoint was saved first.
    """
    import torch

    config.check()
    out = Path(model_dir)
    dataset_path = Path(dataset_dir)
    device = pick_device(config.device)
    schema = DatasetSchema.load(dataset_path)
    mode = data.choose_mode(config.data_loading, dataset_path, schema, device)
    key = fingerprint(config, schema, mode)
    store = checkpoint.open_store(checkpoint_location(out, checkpoint_root, key), storage_client)
    with _numerics(device):
        source = data.open_source(dataset_path, schema, mode, device, config.loader_workers)
        spec = ModelSpec(
            features=schema.features,
            labels=schema.labels,
            label_column=schema.label_column,
            mean=[float(v) for v in source.standardizer.mean],
            scale=[float(v) for v in source.standardizer.scale],
            hidden_units=config.hidden_units,
            hidden_layers=config.hidden_layers,
            data_version=schema.data_version,
        )
        writer = checkpoint.CheckpointWriter(store)
        try:
            result, weights = _fit(source, spec, config, device, key, writer)
        finally:
            writer.close()
    result.checkpoint_seconds = writer.blocking_seconds
    result.checkpoint_write_seconds = writer.write_seconds
    result.checkpoints = writer.saves
    result.checkpoint_uri = store.uri
    out.mkdir(parents=True, exist_ok=True)
    torch.save(weights, out / "model.pt")
    (out / "model.json").write_text(spec.to_json())
    (out / "training.json").write_text(json.dumps(asdict(result), indent=2))
    return result


def _fit(
    source: data.InMemory | data.Streamed,
    spec: ModelSpec,
    config: TrainConfig,
    device: Any,
    key: str,
    writer: checkpoint.CheckpointWriter,
) -> tuple[TrainResult, dict[str, Any]]:
    import torch
    from torch.nn import functional

    torch.manual_seed(config.seed)
    network = build_mlp(
        len(spec.features), len(spec.labels), config.hidden_units, config.hidden_layers
    ).to(device)
    optimizer = torch.optim.Adam(
        network.parameters(),
        lr=config.learning_rate,
        weight_decay=config.weight_decay,
        fused=device.type == "cuda" or None,
    )
    steps_per_epoch = source.steps_per_epoch(config.batch_size)
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.epochs * steps_per_epoch)
        if config.lr_schedule == "cosine"
        else None
    )
    generator = torch.Generator().manual_seed(config.seed)
    state = _initial_state()
    saved_bytes = writer.store.read()
    saved = checkpoint.loads(saved_bytes) if saved_bytes is not None else None
    if saved is not None and saved.get("fingerprint") == key:
        network.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(saved["scheduler"])
        generator.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        state = saved["loop"]
    resumed_from = int(state["global_step"])

    def snapshot() -> dict[str, Any]:
        return {
            "fingerprint": key,
            "model": network.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "generator": generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "loop": state,
        }

    forward = torch.compile(network) if config.compile_model else network
    # bf16 autocast on CUDA; on the CPU a no-op context (cheaper per step than a disabled one).
    autocast: Any = (
        torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        if device.type == "cuda"
        else nullcontext()
    )
    every = config.checkpoint_every_steps
    samples = 0
    started, started_cpu = time.perf_counter(), time.process_time()
    network.train()
    with _sigterm_flag() as stop:
        while state["epoch"] < config.epochs:
            if state["epoch_rng"] is None:
                state["epoch_rng"] = generator.get_state()
            else:  # resuming mid-epoch: draw the same permutation again
                generator.set_state(state["epoch_rng"])
            plan = source.draw(generator)
            for x, y in source.batches(plan, state["step"], config.batch_size):
                with autocast:
                    loss = functional.cross_entropy(forward(x), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                samples += int(y.shape[0])
                state["step"] += 1
                state["global_step"] += 1
                if stop.is_set():
                    writer.save(snapshot(), wait=True)
                    raise TrainingInterrupted(
                        f"Training stopped by SIGTERM at step {state['global_step']}; "
                        f"the checkpoint is saved at {writer.store.uri} and a retry resumes it."
                    )
                if every and state["global_step"] % every == 0:
                    writer.save(snapshot())
            _end_epoch(state, network, source, autocast, config)
            writer.save(snapshot())
    elapsed = time.perf_counter() - started
    elapsed_cpu = time.process_time() - started_cpu

    network.load_state_dict(state["best_state"])
    _, val_accuracy = _evaluate(network, source.validation(), autocast)
    result = TrainResult(
        device=device.type,
        data_loading=source.mode,
        epochs_run=len(state["history"]),
        best_epoch=int(state["best_epoch"]),
        best_val_loss=float(state["best_val_loss"]),
        val_accuracy=val_accuracy,
        resumed_from_step=resumed_from,
        steps=int(state["global_step"]),
        samples_per_second=samples / elapsed if elapsed > 0 else 0.0,
        train_seconds=elapsed,
        train_cpu_seconds=elapsed_cpu,
        checkpoint_seconds=0.0,
        checkpoint_write_seconds=0.0,
        checkpoints=0,
        checkpoint_uri="",
        history=state["history"],
    )
    return result, {k: v.detach().cpu() for k, v in network.state_dict().items()}


def _end_epoch(
    state: dict[str, Any],
    network: Any,
    source: data.InMemory | data.Streamed,
    autocast: Any,
    config: TrainConfig,
) -> None:
    """Validates, keeps the best weights, and decides on early stopping."""
    val_loss, val_accuracy = _evaluate(network, source.validation(), autocast)
    state["history"].append(
        {"epoch": state["epoch"], "val_loss": val_loss, "val_accuracy": val_accuracy}
    )
    if val_loss < state["best_val_loss"]:
        state.update(
            best_val_loss=val_loss,
            best_epoch=state["epoch"],
            stale_epochs=0,
            best_state={k: v.detach().cpu().clone() for k, v in network.state_dict().items()},
        )
    else:
        state["stale_epochs"] += 1
    state.update(epoch=state["epoch"] + 1, step=0, epoch_rng=None)
    if config.patience and state["stale_epochs"] >= config.patience:
        state["epoch"] = config.epochs
