"""Train: any PyTorch module on a table, seeded, resumable, written as the model contract.

The module comes from a model factory (`TrainConfig.model_factory`: the built-in MLP, or the
user's `package.module:function`), sees the preprocessed matrix (`data`), and learns a
classification (cross-entropy over the schema's labels) or a regression (mean squared error
on the standardised target). What is written is the model contract (`freshet.contract`):
`model.onnx` (preprocessing and network in one graph, checked against torch on validation
rows) and `signature.json`, plus the train step's own `model.pt` and `training.json`.

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
import math
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from freshet.components.fetch.core import DatasetSchema
from freshet.components.train import checkpoint, data, machine
from freshet.components.train.config import (
    TrainConfig,
    TrainingInterrupted,
    TrainResult,
    factory_name,
    parse_model_params,
)
from freshet.errors import BadInput

if TYPE_CHECKING:
    from freshet.contract.signature import Signature

CHECKPOINT_DIR = "checkpoint"
# Settings that change how fast training runs but not what it computes: a retry may change
# them (another machine, another worker count) and still resume the same checkpoint.
NOT_FINGERPRINTED = ("device", "compile_model", "checkpoint_every_steps", "loader_workers")
PRODUCER = "freshet.train"


def fingerprint(config: TrainConfig, schema: DatasetSchema, mode: str) -> str:
    """What a checkpoint must match to be resumed: the computation, not how fast it runs."""
    keyed = {k: v for k, v in asdict(config).items() if k not in NOT_FINGERPRINTED}
    keyed["data_loading"] = mode
    keyed["model_factory"] = factory_name(config.model_factory)
    keyed["model_params"] = parse_model_params(config.model_params, config.model_factory)
    text = json.dumps(
        {
            "config": keyed,
            "data": schema.data_version,
            "task": schema.task,
            "features": [f.model_dump() for f in schema.signature_features()],
            "labels": schema.labels,
            "rows": schema.rows,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def contract_signature(schema: DatasetSchema) -> Signature:
    """The signature of the model trained on a dataset."""
    import torch

    return schema.signature(framework=f"pytorch {torch.__version__}", producer=PRODUCER)


def checkpoint_location(model_dir: Path, checkpoint_root: str, key: str) -> str:
    """Where the checkpoint lives: under the model output, or under a root kept across retries.

    With a root (e.g. `gs://bucket/checkpoints`), the location is `<root>/<key[:16]>` so
    attempts of the same computation share it and different ones never collide.
    """
    if not checkpoint_root.strip():
        return str(model_dir / CHECKPOINT_DIR)
    return f"{checkpoint_root.rstrip('/')}/{key[:16]}"


def _loss(out: Any, y: Any, task: str) -> Any:
    from torch.nn import functional

    if task == "regression":
        return functional.mse_loss(out.float().reshape(-1), y)
    return functional.cross_entropy(out, y)


def _evaluate(
    network: Any, batches: Iterator[data.Batch], autocast: Any, targets: data.Targets
) -> tuple[float, float]:
    """Mean validation loss, and accuracy (classification) or RMSE in the label's units."""
    import torch
    from torch.nn import functional

    network.eval()
    loss_sum, correct, rows = 0.0, 0, 0
    with torch.no_grad():
        for x, y in batches:
            with autocast:
                out = network(x)
            out = out.float()
            if targets.task == "regression":
                loss_sum += float(functional.mse_loss(out.reshape(-1), y, reduction="sum"))
            else:
                loss_sum += float(functional.cross_entropy(out, y, reduction="sum"))
                correct += int((out.argmax(dim=1) == y).sum())
            rows += int(y.shape[0])
    network.train()
    if rows == 0:
        raise BadInput("The validation split is empty; training needs at least one row.")
    loss = loss_sum / rows
    if targets.task == "regression":
        return loss, math.sqrt(loss) * targets.std
    return loss, correct / rows


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
    """Trains the model and writes the contract (`model.onnx`, `signature.json`).

    Besides the contract, `model.pt` (the best epoch's weights) and `training.json` (the
    result) are written. Settings, the factory and the export are checked before training
    starts; nothing is written when one of them is bad.

    Args:
        dataset_dir: A directory written by the fetch step.
        model_dir: Output directory (the KFP Model artifact path).
        config: The model factory, its size and optimisation settings.
        checkpoint_root: Directory or `gs://` prefix kept across retries; the checkpoint goes
            under `model_dir` when empty. A checkpoint found there from an earlier attempt
            with the same configuration and data is resumed.
        storage_client: A `google.cloud.storage.Client` for a gs:// root (default client
            when None).

    Returns:
        What training did.

    Raises:
        BadInput: A setting, the model factory, the dataset or the export cannot train.
        TrainingInterrupted: SIGTERM arrived; a checkpoint was saved first.
    """
    import torch

    from freshet.components.train.export import (
        check_against_torch,
        contract_model,
        export_head,
        probe,
    )
    from freshet.components.train.factory import build_network, resolve_factory
    from freshet.contract.files import write_model

    config.check()
    resolve_factory(config.model_factory)
    out = Path(model_dir)
    dataset_path = Path(dataset_dir)
    device = machine.pick_device(config.device)
    schema = DatasetSchema.load(dataset_path)
    signature = contract_signature(schema)
    mode = data.choose_mode(config.data_loading, dataset_path, schema, device)
    key = fingerprint(config, schema, mode)
    store = checkpoint.open_store(checkpoint_location(out, checkpoint_root, key), storage_client)
    with machine.numerics(device):
        source = data.open_source(
            dataset_path, schema, signature, mode, device, config.loader_workers
        )
        n_inputs = source.preprocessor.width
        n_outputs = len(signature.labels) if signature.task == "classification" else 1
        torch.manual_seed(config.seed)
        network = build_network(
            config.model_factory, n_inputs, n_outputs, config.params(signature.task)
        )
        probe(network, n_inputs, n_outputs, signature.task, config.model_factory)
        writer = checkpoint.CheckpointWriter(store)
        try:
            result, weights = _fit(source, network.to(device), config, device, key, writer)
        finally:
            writer.close()
    result.checkpoint_seconds = writer.blocking_seconds
    result.checkpoint_write_seconds = writer.write_seconds
    result.checkpoints = writer.saves
    result.checkpoint_uri = store.uri
    result.model_factory = factory_name(config.model_factory)
    result.n_inputs = n_inputs
    targets = source.targets
    exporting = time.perf_counter()
    head = export_head(network, n_inputs, signature.task, config.model_factory, targets)
    model = contract_model(head, source.preprocessor)
    sample = data.validation_sample(dataset_path, schema)
    result.export_max_diff = check_against_torch(
        model, signature, network, source.preprocessor, targets, sample, config.model_factory
    )
    result.export_seconds = time.perf_counter() - exporting
    out.mkdir(parents=True, exist_ok=True)
    torch.save(weights, out / "model.pt")
    (out / "training.json").write_text(json.dumps(asdict(result), indent=2))
    write_model(out, model, signature)
    return result


def _fit(
    source: data.InMemory | data.Streamed,
    network: Any,
    config: TrainConfig,
    device: Any,
    key: str,
    writer: checkpoint.CheckpointWriter,
) -> tuple[TrainResult, dict[str, Any]]:
    """The loop; ends with the best epoch's weights loaded into `network`."""
    import torch

    task = source.targets.task
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
    with machine.sigterm_flag() as stop:
        while state["epoch"] < config.epochs:
            if state["epoch_rng"] is None:
                state["epoch_rng"] = generator.get_state()
            else:  # resuming mid-epoch: draw the same permutation again
                generator.set_state(state["epoch_rng"])
            plan = source.draw(generator)
            for x, y in source.batches(plan, state["step"], config.batch_size):
                with autocast:
                    loss = _loss(forward(x), y, task)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
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
    _, metric = _evaluate(network, source.validation(), autocast, source.targets)
    result = TrainResult(
        task=task,
        device=device.type,
        data_loading=source.mode,
        epochs_run=len(state["history"]),
        best_epoch=int(state["best_epoch"]),
        best_val_loss=float(state["best_val_loss"]),
        val_accuracy=metric if task == "classification" else None,
        val_rmse=metric if task == "regression" else None,
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
    val_loss, metric = _evaluate(network, source.validation(), autocast, source.targets)
    name = "val_rmse" if source.targets.task == "regression" else "val_accuracy"
    state["history"].append({"epoch": state["epoch"], "val_loss": val_loss, name: metric})
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
