"""The training loop: settings, outputs, early stopping, streaming, resume rules, compile."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

from freshet.components.fetch.core import DatasetSchema, FetchConfig, fetch
from freshet.components.train import checkpoint, data
from freshet.components.train.config import TrainConfig
from freshet.components.train.core import checkpoint_location, fingerprint, train
from freshet.contract import check_model_dir
from freshet.contract.runtime import ContractModel
from freshet.errors import BadInput, DataError

SMALL = TrainConfig(
    hidden_units=32, hidden_layers=1, epochs=3, batch_size=32, learning_rate=0.01, seed=1
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("train") / "dataset"
    fetch(FetchConfig(uri="sample://synthetic?rows=2000&features=8&classes=3&seed=2"), out)
    return out


@pytest.fixture(scope="module")
def grouped(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same dataset with its splits written in several Parquet row groups."""
    out = tmp_path_factory.mktemp("grouped") / "dataset"
    out.mkdir()
    for split in ("train", "validation", "test"):
        frame = pd.read_parquet(dataset / f"{split}.parquet")
        frame.to_parquet(out / f"{split}.parquet", index=False, row_group_size=250)
    (out / "schema.json").write_text((dataset / "schema.json").read_text())
    return out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hidden_units": 0}, "hidden_units must be at least 1: 0."),
        ({"epochs": 0}, "epochs must be at least 1: 0."),
        ({"batch_size": -4}, "batch_size must be at least 1: -4."),
        ({"hidden_layers": -1}, "hidden_layers must not be negative: -1."),
        ({"patience": -2}, "patience must not be negative: -2."),
        ({"checkpoint_every_steps": -1}, "checkpoint_every_steps must not be negative: -1."),
        ({"learning_rate": 0.0}, "learning_rate must be positive: 0.0."),
        ({"device": "tpu"}, "device must be auto, cpu or cuda: 'tpu'."),
        ({"lr_schedule": "step"}, "lr_schedule must be constant or cosine: 'step'."),
        ({"data_loading": "disk"}, "data_loading must be auto, memory or stream: 'disk'."),
        ({"loader_workers": -3}, "loader_workers must be -1 (auto) or more: -3."),
    ],
)
def test_bad_settings_are_named_and_nothing_is_written(
    dataset: Path, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadInput) as info:
        train(dataset, tmp_path / "model", replace(SMALL, **change))
    assert str(info.value) == message
    assert not (tmp_path / "model").exists()


def test_trains_a_usable_model_and_reports_it(dataset: Path, tmp_path: Path) -> None:
    result = train(dataset, tmp_path / "model", SMALL)
    assert (result.device, result.data_loading, result.epochs_run) == ("cpu", "memory", 3)
    assert result.val_accuracy is not None and result.val_accuracy > 0.8
    assert result.steps == 3 * 44  # 1,400 training rows in batches of 32
    assert result.checkpoints == 3 and result.checkpoint_seconds < result.train_seconds
    assert result.checkpoint_uri == str(tmp_path / "model" / "checkpoint" / "last.pt")
    assert result.task == "classification" and result.val_rmse is None
    report = json.loads((tmp_path / "model" / "training.json").read_text())
    assert report["val_accuracy"] == result.val_accuracy
    assert [h["epoch"] for h in report["history"]] == [0, 1, 2]

    schema = DatasetSchema.load(dataset)
    signature = check_model_dir(tmp_path / "model")
    assert signature.task == "classification" and signature.labels == schema.labels
    assert signature.feature_names == schema.features
    assert signature.producer == "freshet.train"
    assert signature.framework == f"pytorch {torch.__version__}"
    assert signature.data_version == schema.data_version
    assert result.export_max_diff <= 1e-4
    test = pd.read_parquet(dataset / "test.parquet")
    predicted = ContractModel.load(tmp_path / "model").predict_frame(test).argmax(axis=1)
    truth = data.label_codes(test[schema.label_column].to_numpy(), schema.labels, "test")
    assert (predicted == truth).mean() > 0.8


def test_training_leaves_global_torch_settings_as_it_found_them(
    dataset: Path, tmp_path: Path
) -> None:
    assert not torch.are_deterministic_algorithms_enabled()
    train(dataset, tmp_path / "model", replace(SMALL, epochs=1))
    assert not torch.are_deterministic_algorithms_enabled()


def test_early_stopping_keeps_the_best_epoch(dataset: Path, tmp_path: Path) -> None:
    # A learning rate this high overshoots, so the validation loss stops improving early.
    config = replace(SMALL, epochs=40, patience=2, learning_rate=0.3)
    result = train(dataset, tmp_path / "model", config)
    assert result.epochs_run < 40
    assert result.epochs_run == result.best_epoch + 1 + 2
    losses = [h["val_loss"] for h in result.history]
    assert result.best_val_loss == min(losses) == losses[result.best_epoch]
    stored = checkpoint.open_store(str(tmp_path / "model" / "checkpoint")).read()
    assert stored is not None
    best = checkpoint.loads(stored)
    saved = torch.load(tmp_path / "model" / "model.pt", weights_only=True)
    for name, tensor in saved.items():
        assert torch.equal(tensor, best["loop"]["best_state"][name])


def test_a_finished_checkpoint_is_resumed_and_a_different_one_ignored(
    dataset: Path, tmp_path: Path
) -> None:
    first = train(dataset, tmp_path / "model", SMALL)
    again = train(dataset, tmp_path / "model", SMALL)
    assert again.resumed_from_step == first.steps and again.history == first.history
    # A speed setting does not change what is computed: still the same checkpoint.
    faster = train(dataset, tmp_path / "model", replace(SMALL, checkpoint_every_steps=7))
    assert faster.resumed_from_step == first.steps
    changed = train(dataset, tmp_path / "model", replace(SMALL, learning_rate=0.02))
    assert changed.resumed_from_step == 0


def test_streamed_training_reads_row_groups_and_is_reproducible(
    grouped: Path, tmp_path: Path
) -> None:
    config = replace(SMALL, data_loading="stream", loader_workers=1, lr_schedule="cosine")
    first = train(grouped, tmp_path / "a", config)
    second = train(grouped, tmp_path / "b", replace(config, loader_workers=0))
    assert first.data_loading == "stream"
    assert first.val_accuracy is not None and first.val_accuracy > 0.8
    assert first.steps == 3 * (5 * 8 + 5)  # row groups of 250 (x5) and 150 rows, batches of 32
    assert first.history == second.history
    in_memory = train(grouped, tmp_path / "c", replace(config, data_loading="memory"))
    assert in_memory.history != first.history  # another batch order, as documented


def test_auto_loading_holds_small_data_in_memory(dataset: Path) -> None:
    schema = DatasetSchema.load(dataset)
    assert data.choose_mode("auto", dataset, schema, torch.device("cpu")) == "memory"


def test_unknown_label_in_a_split_is_a_data_error() -> None:
    with pytest.raises(DataError) as info:
        data.label_codes([0, 1, 7], ["0", "1"], "The train split")
    assert str(info.value) == (
        "The train split holds the label '7', which the dataset schema does not list."
    )


def test_checkpoint_location_is_keyed_by_the_computation(dataset: Path, tmp_path: Path) -> None:
    schema = DatasetSchema.load(dataset)
    key = fingerprint(SMALL, schema, "memory")
    assert key == fingerprint(replace(SMALL, compile_model=True, device="cuda"), schema, "memory")
    assert key != fingerprint(replace(SMALL, seed=2), schema, "memory")
    assert key != fingerprint(SMALL, schema, "stream")
    # The model is part of the computation: its factory, its parameters and the task.
    assert key != fingerprint(replace(SMALL, model_factory="my.models:net"), schema, "memory")
    assert key != fingerprint(replace(SMALL, model_params='{"dropout": 0.1}'), schema, "memory")
    assert key == fingerprint(replace(SMALL, model_params="{ }"), schema, "memory")
    as_regression = replace(schema, task="regression", labels=[])
    assert key != fingerprint(SMALL, as_regression, "memory")
    assert checkpoint_location(tmp_path, "", key) == str(tmp_path / "checkpoint")
    assert checkpoint_location(tmp_path, "gs://b/ckpt/", key) == f"gs://b/ckpt/{key[:16]}"


def test_compiled_model_trains_and_saves_plain_weights(dataset: Path, tmp_path: Path) -> None:
    # 1,400 rows in batches of 56: one batch shape, so torch.compile compiles once.
    config = replace(SMALL, epochs=1, batch_size=56, compile_model=True)
    result = train(dataset, tmp_path / "model", config)
    saved = torch.load(tmp_path / "model" / "model.pt", weights_only=True)
    assert not any(name.startswith("_orig_mod") for name in saved)
    assert result.val_accuracy is not None and result.val_accuracy > 0.6
    assert check_model_dir(tmp_path / "model").task == "classification"
