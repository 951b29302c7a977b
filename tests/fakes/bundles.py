"""Contract models, their serving bundles, and broken bundles/servers for fault tests.

Three models, each built once per session from `tests.fakes.contract_models` (no train step):
digits (64 numeric features, ten classes), a mixed table (numbers with gaps, a flag,
categories with gaps; yes/no) and a regression (scikit-learn's diabetes data).

The faults are real: a bundle whose model.onnx is corrupt (the server exits at start), a
bundle whose graph lacks its preprocessing (it serves, with wrong answers), a bundle whose
golden answers disagree with its model, and small server scripts (`faulty_server.py`) that
never become healthy, are slow, or answer 500.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

FAULTY_SERVER = Path(__file__).with_name("faulty_server.py")
GOLDEN_COUNT = 40

# Built once per session, whichever conftest registers the fixtures (see `_once`).
_BUILT: dict[str, Any] = {}


def faulty_command(mode: str) -> list[str]:
    """The command line of a faulty server (the bundle path is appended by verify).

    The interpreter is named `python`, not `python3`: kfp.local rewrites "python3" inside
    every argument of a task's command, parameter values included.
    """
    python = Path(sys.executable).with_name("python")
    return [str(python if python.exists() else sys.executable), str(FAULTY_SERVER), mode]


def digits_frame() -> Any:
    """scikit-learn's digits as a table: `pixel_0_0` ... `pixel_7_7` and `label` (0-9)."""
    from sklearn.datasets import load_digits

    return load_digits(as_frame=True).frame.rename(columns={"target": "label"})


TASKS = {"digits": "classification", "mixed": "classification", "regression": "regression"}


def train_contract(root: Path, name: str) -> tuple[Path, Path]:
    """Writes dataset `name` (see `TASKS`) and a linear contract model trained on it."""
    from tests.fakes.contract_models import (
        mixed_frame,
        regression_frame,
        train_linear,
        write_dataset,
    )

    frame = {"digits": digits_frame, "mixed": mixed_frame, "regression": regression_frame}[name]()
    dataset, model = root / "dataset", root / "model"
    write_dataset(dataset, frame, TASKS[name], data_version=f"{name}-v1")
    train_linear(dataset, model, producer=f"tests.{name}")
    return dataset, model


def package_bundle(dataset: Path, model: Path, out: Path) -> Path:
    """Packages a model into a bundle with `GOLDEN_COUNT` golden examples."""
    from freshet.components.package.core import PackageConfig, package

    package(model, dataset, out, PackageConfig(golden_count=GOLDEN_COUNT))
    return out


def copy_bundle(bundle: Path, out: Path) -> Path:
    """A copy of a bundle to break."""
    shutil.copytree(bundle, out)
    return out


def corrupt_model(bundle: Path, out: Path) -> Path:
    """A bundle whose model.onnx is not an ONNX file: `freshet serve` exits at start."""
    copy_bundle(bundle, out)
    (out / "model.onnx").write_bytes(b"this is not an onnx graph")
    return out


def without_preprocessing(bundle: Path, out: Path) -> Path:
    """A bundle whose graph is the model head alone, fed the raw numbers: wrong answers.

    Only for all-numeric models, where the preprocessed matrix is as wide as the raw one.
    """
    import onnx
    from onnx.utils import Extractor

    from freshet.contract.preprocess import PREPROCESSED
    from freshet.serving.signature import load_signature

    copy_bundle(bundle, out)
    signature = load_signature(bundle)
    assert not signature.categorical_features, "only all-numeric models keep their width"
    full = onnx.load(str(bundle / "model.onnx"))
    head = Extractor(full).extract_model([PREPROCESSED], [signature.output_name])
    head.graph.input[0].name = "numeric"
    for node in head.graph.node:
        node.input[:] = ["numeric" if name == PREPROCESSED else name for name in node.input]
    onnx.checker.check_model(head)
    onnx.save(head, str(out / "model.onnx"))
    return out


def wrong_golden(bundle: Path, out: Path) -> Path:
    """A bundle whose golden answers disagree with its model (as if another model's)."""
    copy_bundle(bundle, out)
    golden = json.loads((bundle / "golden.json").read_text())
    for example in golden["examples"]:
        if example.get("probabilities"):
            labels = list(example["probabilities"])
            example["label"] = labels[(labels.index(example["label"]) + 1) % len(labels)]
        else:
            example["value"] = example["value"] * 1.5 + 10
    (out / "golden.json").write_text(json.dumps(golden))
    return out


def _once(key: str, factory: pytest.TempPathFactory, build: Callable[[Path], Any]) -> Any:
    if key not in _BUILT:
        _BUILT[key] = build(factory.mktemp(key))
    return _BUILT[key]


def _trained(name: str, factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    result: tuple[Path, Path] = _once(
        f"trained-{name}", factory, lambda root: train_contract(root, name)
    )
    return result


def _bundle(name: str, factory: pytest.TempPathFactory) -> Path:
    dataset, model = _trained(name, factory)
    result: Path = _once(
        f"bundle-{name}", factory, lambda root: package_bundle(dataset, model, root / "bundle")
    )
    return result


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(dataset dir, model dir) of the digits model (64 numeric features, ten classes)."""
    return _trained("digits", tmp_path_factory)


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The digits bundle (treat as read-only: copy to break it)."""
    return _bundle("digits", tmp_path_factory)


@pytest.fixture(scope="session")
def mixed_trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(dataset, model) of the mixed table: numeric, boolean and categorical, with gaps."""
    return _trained("mixed", tmp_path_factory)


@pytest.fixture(scope="session")
def mixed_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mixed-table classification bundle (read-only)."""
    return _bundle("mixed", tmp_path_factory)


@pytest.fixture(scope="session")
def regression_trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(dataset, model) of the regression (diabetes, ridge)."""
    return _trained("regression", tmp_path_factory)


@pytest.fixture(scope="session")
def regression_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The regression bundle (read-only)."""
    return _bundle("regression", tmp_path_factory)


@pytest.fixture
def no_leftover_servers() -> Iterator[list[int]]:
    """Collects process group ids a test started; fails if any is still alive afterwards."""
    from freshet.components.verify.server import group_alive

    groups: list[int] = []
    yield groups
    alive = [g for g in groups if group_alive(g)]
    assert not alive, f"process groups left behind: {alive}"
