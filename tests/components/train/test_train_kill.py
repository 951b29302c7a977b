"""Preemption: kill a training process mid-run, restart it, get the uninterrupted weights."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

from freshet.components.fetch.core import FetchConfig, fetch
from freshet.components.train import checkpoint
from freshet.components.train.config import TrainConfig
from freshet.components.train.core import train

REPO = Path(__file__).resolve().parents[3]
SCRIPT = """
import json, sys
import torch
args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
from freshet.components.train.config import TrainConfig
from freshet.components.train.core import train
train(args["dataset"], args["model"], TrainConfig(**args["config"]), args["root"])
"""
CONFIG: dict[str, Any] = {
    "hidden_units": 32,
    "hidden_layers": 2,
    "epochs": 3,
    "batch_size": 16,
    "checkpoint_every_steps": 30,
    "seed": 3,
    "loader_workers": 1,
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 800 steps of training; the train split in 7 Parquet row groups."""
    out = tmp_path_factory.mktemp("kill") / "dataset"
    fetch(FetchConfig(uri="sample://synthetic?rows=6000&features=12&classes=3&seed=5"), out)
    train_split = pd.read_parquet(out / "train.parquet")
    train_split.to_parquet(out / "train.parquet", index=False, row_group_size=600)
    return out


def weights(model_dir: Path) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = torch.load(model_dir / "model.pt", weights_only=True)
    return state


def start(dataset: Path, model: Path, config: dict[str, Any], root: str = "") -> Any:
    args = {
        "dataset": str(dataset),
        "model": str(model),
        "config": config,
        "root": root,
        "threads": torch.get_num_threads(),
    }
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, json.dumps(args)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path: Path, proc: Any, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)


def saved_step(store: checkpoint.CheckpointStore) -> int:
    data = store.read()
    assert data is not None
    return int(checkpoint.loads(data)["loop"]["global_step"])


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


@pytest.mark.parametrize(
    ("mode", "sig"),
    [
        ("memory", signal.SIGTERM),
        ("memory", signal.SIGKILL),
        ("stream", signal.SIGTERM),
    ],
)
def test_killed_run_resumes_to_the_uninterrupted_weights(
    dataset: Path, tmp_path: Path, mode: str, sig: signal.Signals
) -> None:
    config = {**CONFIG, "data_loading": mode}
    reference = train(dataset, tmp_path / "reference", TrainConfig(**config))
    assert reference.resumed_from_step == 0

    model = tmp_path / "model"
    proc = start(dataset, model, config)
    wait_for(model / "checkpoint" / "last.pt", proc)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)

    assert proc.returncode != 0
    if sig == signal.SIGTERM:
        assert "TrainingInterrupted: Training stopped by SIGTERM at step" in stderr
    else:
        assert proc.returncode == -signal.SIGKILL
    assert not (model / "model.pt").exists()
    store = checkpoint.open_store(str(model / "checkpoint"))
    step = saved_step(store)
    assert 0 < step < reference.steps

    resumed = train(dataset, model, TrainConfig(**config))
    assert resumed.resumed_from_step == step
    assert resumed.history == reference.history
    assert resumed.steps == reference.steps
    assert_same(weights(model), weights(tmp_path / "reference"))
    assert saved_step(store) == reference.steps


def test_sigterm_saves_to_cloud_storage_and_the_retry_resumes_there(
    dataset: Path, tmp_path: Path, gcs_client: Any, gcs_endpoint: str
) -> None:
    gcs_client.create_bucket("train-checkpoints")
    root = "gs://train-checkpoints/runs"
    config = {**CONFIG, "data_loading": "memory", "checkpoint_every_steps": 0}
    reference = train(dataset, tmp_path / "reference", TrainConfig(**config))

    # The retry gets a new output directory (as a new attempt might); only the root is kept.
    env_before = {k: os.environ.get(k) for k in ("STORAGE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT")}
    os.environ.update(STORAGE_EMULATOR_HOST=gcs_endpoint, GOOGLE_CLOUD_PROJECT="freshet-test")
    try:
        proc = start(dataset, tmp_path / "attempt-1", config, root)
    finally:
        for key, value in env_before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    blobs: list[Any] = []
    deadline = time.monotonic() + 90
    while not blobs:  # the first epoch-end checkpoint
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "no checkpoint appeared in the bucket"
        blobs = list(gcs_client.list_blobs("train-checkpoints", prefix="runs/"))
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0, stderr
    assert "the checkpoint is saved at gs://train-checkpoints/runs/" in stderr
    [blob] = blobs
    assert blob.name.startswith("runs/") and blob.name.endswith("/last.pt")

    resumed = train(
        dataset, tmp_path / "attempt-2", TrainConfig(**config), root, storage_client=gcs_client
    )
    assert 0 < resumed.resumed_from_step < reference.steps
    assert resumed.checkpoint_uri == f"gs://train-checkpoints/{blob.name}"
    assert resumed.history == reference.history
    assert_same(weights(tmp_path / "attempt-2"), weights(tmp_path / "reference"))
