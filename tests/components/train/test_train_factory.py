"""Bring your own model: factories from the user's project, their mistakes, their exports."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from freshet.components.train.config import TrainConfig
from freshet.components.train.core import train
from freshet.components.train.factory import resolve_factory
from freshet.contract import check_model_dir
from freshet.contract.runtime import ContractModel
from freshet.errors import BadInput
from tests.components.train import tables

Project = Callable[[str], str]
SMALL = TrainConfig(
    hidden_units=16, hidden_layers=1, epochs=3, batch_size=32, learning_rate=0.01, seed=5
)

CNN = """
    from typing import Any

    from torch import nn

    SEEN: dict[str, Any] = {}


    class DigitsCNN(nn.Module):
        def __init__(self, n_outputs: int, channels: int) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)
            )
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels * 16, n_outputs))

        def forward(self, x):
            return self.classifier(self.features(x.reshape(-1, 1, 8, 8)))


    def cnn(n_inputs: int, n_outputs: int, params: dict[str, Any]) -> nn.Module:
        if n_inputs != 64:
            raise ValueError(f"the CNN reads 8x8 images, not {n_inputs} features")
        SEEN.update(n_inputs=n_inputs, n_outputs=n_outputs, params=params)
        return DigitsCNN(n_outputs, params["channels"])
"""

BESSEL = """
    from collections import OrderedDict

    import torch
    from torch import nn


    class Bessel(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.special.bessel_j0(x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return -grad * torch.special.bessel_j1(x)


    class BesselLayer(nn.Module):
        def forward(self, x):
            return Bessel.apply(x)


    class Direct(nn.Module):
        def __init__(self, n_inputs, n_outputs):
            super().__init__()
            self.linear = nn.Linear(n_inputs, n_outputs)

        def forward(self, x):
            return torch.special.bessel_j0(self.linear(x))


    def layered(n_inputs, n_outputs, params):
        return nn.Sequential(
            OrderedDict(
                stem=nn.Linear(n_inputs, 16),
                block=nn.Sequential(nn.Linear(16, 16), BesselLayer()),
                head=nn.Linear(16, n_outputs),
            )
        )


    def direct(n_inputs, n_outputs, params):
        return Direct(n_inputs, n_outputs)
"""


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tables.digits(tmp_path_factory.mktemp("digits") / "dataset")


def test_a_cnn_from_the_users_project_trains_and_exports(
    digits: Path, tmp_path: Path, project: Project
) -> None:
    module = project(CNN)
    config = replace(SMALL, model_factory=f"{module}:cnn", model_params='{"channels": 6}')
    result = train(digits, tmp_path / "model", config)

    seen = sys.modules[module].SEEN
    assert seen["n_inputs"] == 64 and seen["n_outputs"] == 10
    assert seen["params"] == {
        "hidden_units": 16,
        "hidden_layers": 1,
        "seed": 5,
        "task": "classification",
        "channels": 6,
    }
    assert result.model_factory == f"{module}:cnn"
    assert result.val_accuracy is not None and result.val_accuracy > 0.85
    assert result.export_max_diff <= 1e-4
    weights = torch.load(tmp_path / "model" / "model.pt", weights_only=True)
    assert weights["features.0.weight"].shape == (6, 1, 3, 3)
    assert check_model_dir(tmp_path / "model").task == "classification"
    test = pd.read_parquet(digits / "test.parquet")
    predicted = ContractModel.load(tmp_path / "model").predict_frame(test).argmax(axis=1)
    assert (predicted == test["digit"].to_numpy()).mean() > 0.85


def test_the_built_in_factory_can_be_named(digits: Path, tmp_path: Path) -> None:
    named = replace(SMALL, epochs=1, model_factory="freshet.components.train.model:mlp")
    a = train(digits, tmp_path / "a", named)
    b = train(digits, tmp_path / "b", replace(named, model_factory=""))
    assert a.history == b.history and a.model_factory == b.model_factory


BAD_FACTORIES = [
    (
        "",
        "no_colon_here",
        "{}",
        "The model factory 'no_colon_here' is not of the form 'package.module:function'.",
    ),
    (
        "",
        "missing_pkg_zz.models:net",
        "{}",
        "The model factory 'missing_pkg_zz.models:net' cannot be imported: "
        "ModuleNotFoundError: No module named 'missing_pkg_zz'.",
    ),
    (
        "raise RuntimeError('no GPU here.\\nmore detail')",
        "{m}:net",
        "{}",
        "The model factory '{m}:net' cannot be imported: RuntimeError: no GPU here.",
    ),
    (
        "x = 1",
        "{m}:net",
        "{}",
        "The model factory '{m}:net' does not exist: module '{m}' has no 'net'.",
    ),
    ("net = 3", "{m}:net", "{}", "The model factory '{m}:net' is not callable: it is a int."),
    (
        "def net(n_inputs, n_outputs, params):\n    return {'layers': 2}",
        "{m}:net",
        "{}",
        "The model factory '{m}:net' returned a dict, not a torch.nn.Module.",
    ),
    (
        "def net(n_inputs, n_outputs, params):\n    return params['depth']",
        "{m}:net",
        "{}",
        "The model factory '{m}:net' failed for 64 inputs and 10 outputs: KeyError: 'depth'.",
    ),
    (
        "from torch import nn\ndef net(n_inputs, n_outputs, params):\n"
        "    return nn.Linear(n_inputs, 3)",
        "{m}:net",
        "{}",
        "The model from factory '{m}:net' gives [2, 3] for a batch of 2 rows; a classification "
        "model with 64 inputs must give [2, 10].",
    ),
    (
        "from torch import nn\ndef net(n_inputs, n_outputs, params):\n"
        "    return nn.Linear(n_inputs + 1, n_outputs)",
        "{m}:net",
        "{}",
        "The model from factory '{m}:net' fails on a batch of 2 rows x 64 inputs: RuntimeError: "
        "mat1 and mat2 shapes cannot be multiplied (2x64 and 65x10).",
    ),
    (
        "",
        "",
        "[1, 2]",
        "model_params for the model factory 'freshet.components.train.model:mlp' must be a "
        "JSON object such as '{\"dropout\": 0.1}', not '[1, 2]'.",
    ),
    (
        "def net(n_inputs, n_outputs, params):\n    return None",
        "{m}:net",
        "{oops",
        "model_params for the model factory '{m}:net' must be a JSON object such as "
        "'{\"dropout\": 0.1}', not '{oops'.",
    ),
    (
        "",
        "",
        '{"seed": 3}',
        "model_params for the model factory 'freshet.components.train.model:mlp' must not set "
        "'seed': the train step passes it from its own parameter.",
    ),
]


@pytest.mark.parametrize(("source", "factory", "params", "message"), BAD_FACTORIES)
def test_a_bad_factory_is_one_sentence_and_nothing_is_written(
    digits: Path,
    tmp_path: Path,
    project: Project,
    source: str,
    factory: str,
    params: str,
    message: str,
) -> None:
    module = project(source) if source else "unused"
    config = replace(SMALL, model_factory=factory.format(m=module), model_params=params)
    with pytest.raises(BadInput) as info:
        train(digits, tmp_path / "model", config)
    assert str(info.value) == message.replace("{m}", module)
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (
            "layered",
            "The model from factory '{m}:layered' cannot be exported to ONNX: layer 'block.1' "
            "(BesselLayer) fails: ONNX export failed: Couldn't export operator "
            "aten::special_bessel_j0.",
        ),
        (
            "direct",
            "The model from factory '{m}:direct' cannot be exported to ONNX: the failure is in "
            "the model's own forward, not in one of its layers: Exporting the operator "
            "'aten::special_bessel_j0' to ONNX opset version 17 is not supported.",
        ),
    ],
)
def test_an_unexportable_layer_is_named_before_training(
    digits: Path, tmp_path: Path, project: Project, function: str, message: str
) -> None:
    module = project(BESSEL)
    # The model runs in torch (the layer has a backward); only ONNX cannot express it.
    network = resolve_factory(f"{module}:{function}")(4, 2, {})
    out = network(torch.randn(3, 4, requires_grad=True))
    if function == "layered":
        out.sum().backward()

    config = replace(SMALL, model_factory=f"{module}:{function}")
    with pytest.raises(BadInput) as info:
        train(digits, tmp_path / "model", config)
    assert str(info.value) == message.replace("{m}", module)
    assert not (tmp_path / "model").exists()  # no checkpoint either: it failed before


def test_regression_factories_may_give_one_value_per_row(tmp_path: Path, project: Project) -> None:
    module = project(
        """
        from torch import nn


        class Flat(nn.Module):
            def __init__(self, n_inputs):
                super().__init__()
                self.linear = nn.Linear(n_inputs, 1)

            def forward(self, x):
                return self.linear(x).squeeze(1)


        def flat(n_inputs, n_outputs, params):
            return Flat(n_inputs)
        """
    )
    dataset = tables.diabetes(tmp_path / "dataset")
    config = replace(SMALL, epochs=30, batch_size=16, learning_rate=0.05)
    result = train(dataset, tmp_path / "model", replace(config, model_factory=f"{module}:flat"))
    validation = pd.read_parquet(dataset / "validation.parquet")
    predicted = ContractModel.load(tmp_path / "model").predict_frame(validation)
    assert predicted.shape == (len(validation),) and np.isfinite(predicted).all()
    assert result.val_rmse is not None and result.val_rmse < 65.0  # the label's std is ~77


def test_a_forward_that_branches_on_its_input_is_caught_before_it_is_written(
    digits: Path, tmp_path: Path, project: Project
) -> None:
    module = project(
        """
        from torch import nn


        class Branchy(nn.Module):
            def __init__(self, n_inputs, n_outputs):
                super().__init__()
                self.linear = nn.Linear(n_inputs, n_outputs)

            def forward(self, x):
                # Traced on the all-zero dummy batch, the export keeps the other branch.
                if float(x.abs().sum()) > 0.0:
                    return self.linear(x) * 3.0
                return self.linear(x)


        def net(n_inputs, n_outputs, params):
            return Branchy(n_inputs, n_outputs)
        """
    )
    config = replace(SMALL, epochs=1, model_factory=f"{module}:net")
    with pytest.raises(BadInput) as info:
        train(digits, tmp_path / "model", config)
    message = str(info.value)
    assert message.startswith(
        f"The model from factory '{module}:net' gives other probabilities in ONNX than in torch "
        "on 270 validation rows (largest difference "
    )
    assert message.endswith(
        "the exporter traces one path through forward, so a forward that branches on its "
        "input's values or shape does not export as it runs."
    )
    assert not (tmp_path / "model" / "model.onnx").exists()
    assert not (tmp_path / "model" / "signature.json").exists()
