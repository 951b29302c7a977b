"""A small trained model, its serving bundle, and broken bundles/servers for fault tests.

The faults are real: a bundle whose model.onnx is corrupt (the server exits at start), a
bundle exported without its preprocessing (answers wrong labels), and small server
scripts (`faulty_server.py`) that never become healthy, are slow, or answer 500.
"""

from __future__ import annotations

import shutil
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

FAULTY_SERVER = Path(__file__).with_name("faulty_server.py")


def faulty_command(mode: str) -> list[str]:
    """The command line of a faulty server (the bundle path is appended by verify).

    The interpreter is named `python`, not `python3`: kfp.local rewrites "python3" inside
    every argument of a task's command, parameter values included.
    """
    python = Path(sys.executable).with_name("python")
    return [str(python if python.exists() else sys.executable), str(FAULTY_SERVER), mode]


def train_small(root: Path) -> tuple[Path, Path]:
    """Fetches the digits sample and trains a small MLP on it; returns (dataset, model)."""
    import torch

    from freshet.components.fetch.core import FetchConfig, fetch
    from freshet.components.train.config import TrainConfig
    from freshet.components.train.core import train

    dataset, model = root / "dataset", root / "model"
    fetch(FetchConfig(uri="sample://digits"), dataset)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(dataset, model, TrainConfig(hidden_units=32, hidden_layers=1, epochs=8, seed=1))
    finally:
        torch.set_num_threads(threads)
    return dataset, model


def copy_bundle(bundle: Path, out: Path) -> Path:
    """A copy of a bundle to break."""
    shutil.copytree(bundle, out)
    return out


def corrupt_model(bundle: Path, out: Path) -> Path:
    """A bundle whose model.onnx is not an ONNX file: `freshet serve` exits at start."""
    copy_bundle(bundle, out)
    (out / "model.onnx").write_bytes(b"this is not an onnx graph")
    return out


def without_preprocessing(bundle: Path, model_dir: Path, out: Path) -> Path:
    """A bundle whose graph skips the feature scaling: it serves, with wrong answers."""
    import torch

    from freshet.components.train.model import Predictor

    copy_bundle(bundle, out)
    predictor = Predictor.load(model_dir)

    class Unscaled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = predictor.network

        def forward(self, features: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.network(features), dim=1)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Unscaled().eval(),
            (torch.zeros(2, len(predictor.spec.features)),),
            str(out / "model.onnx"),
            dynamo=False,
            input_names=["features"],
            output_names=["probabilities"],
            dynamic_axes={"features": {0: "batch"}, "probabilities": {0: "batch"}},
        )
    return out


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(dataset dir, model dir) of a small model trained once per session."""
    return train_small(tmp_path_factory.mktemp("trained"))


@pytest.fixture(scope="session")
def bundle(trained: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The serving bundle of the session's model (treat as read-only: copy to break it)."""
    from freshet.components.package.core import PackageConfig, package

    dataset, model = trained
    out = tmp_path_factory.mktemp("bundle") / "bundle"
    package(model, dataset, out, PackageConfig(golden_count=40))
    return out


@pytest.fixture
def no_leftover_servers() -> Iterator[list[int]]:
    """Collects process group ids a test started; fails if any is still alive afterwards."""
    from freshet.components.verify.server import group_alive

    groups: list[int] = []
    yield groups
    alive = [g for g in groups if group_alive(g)]
    assert not alive, f"process groups left behind: {alive}"
