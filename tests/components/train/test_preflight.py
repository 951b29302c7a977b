"""The train step's preflight: settings, factory and export checked before a run starts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from freshet.components.train.preflight import check
from freshet.errors import BadInput

Project = Callable[[str], str]
DIGITS = {"task": "classification", "n_inputs": 64, "n_outputs": 10, "notes": ["task: x"]}
UNEXPORTABLE = """
    import torch
    from torch import nn


    class Odd(nn.Module):
        def forward(self, x):
            return torch.special.bessel_j0(x)


    def net(n_inputs, n_outputs, params):
        return nn.Sequential(nn.Linear(n_inputs, 8), Odd(), nn.Linear(8, n_outputs))
"""


def test_without_the_data_it_checks_settings_and_the_import_only() -> None:
    assert check({"model_factory": "", "epochs": 3, "learning_rate": 1}, {}) == {}


def test_with_the_data_it_builds_and_exports_the_model_and_says_so() -> None:
    before = torch.get_rng_state()
    result = check({"hidden_units": 8, "hidden_layers": 1, "seed": 4}, dict(DIGITS))
    assert result["notes"] == [
        "task: x",
        "model: 'freshet.components.train.model:mlp' with 610 parameters for 64 inputs and "
        "10 outputs; it exports to ONNX.",
    ]
    assert torch.equal(torch.get_rng_state(), before)  # the caller's random state is kept


def test_a_regression_model_with_the_users_params(project: Project) -> None:
    module = project(
        """
        from torch import nn


        def net(n_inputs, n_outputs, params):
            assert params["task"] == "regression"
            return nn.Sequential(nn.Dropout(params["dropout"]), nn.Linear(n_inputs, n_outputs))
        """
    )
    context = {"task": "regression", "n_inputs": 10, "n_outputs": 1}
    result = check({"model_factory": f"{module}:net", "model_params": '{"dropout": 0.2}'}, context)
    assert result["notes"][-1].startswith(f"model: '{module}:net' with 11 parameters")


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"epochs": 0}, "epochs must be at least 1: 0."),
        ({"epochs": "three"}, "The train input 'epochs' must be int: 'three'."),
        ({"compile_model": 1}, "The train input 'compile_model' must be bool: 1."),
        ({"batch_size": True}, "The train input 'batch_size' must be int: True."),
        ({"data_loading": "disk"}, "data_loading must be auto, memory or stream: 'disk'."),
        (
            {"model_factory": "models.py"},
            "The model factory 'models.py' is not of the form 'package.module:function'.",
        ),
        (
            {"model_factory": "nowhere_zz:net"},
            "The model factory 'nowhere_zz:net' cannot be imported: ModuleNotFoundError: "
            "No module named 'nowhere_zz'.",
        ),
        (
            {"model_params": "dropout=0.1"},
            "model_params for the model factory 'freshet.components.train.model:mlp' must be a "
            "JSON object such as '{\"dropout\": 0.1}', not 'dropout=0.1'.",
        ),
    ],
)
def test_bad_inputs_stop_the_run_before_it_starts(inputs: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInput) as info:
        check(inputs, {})
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("source", "context", "message"),
    [
        (
            "def net(n_inputs, n_outputs, params):\n    return [n_inputs, n_outputs]",
            DIGITS,
            "The model factory '{m}:net' returned a list, not a torch.nn.Module.",
        ),
        (
            UNEXPORTABLE,
            DIGITS,
            "The model from factory '{m}:net' cannot be exported to ONNX: layer '1' (Odd) "
            "fails: Exporting the operator 'aten::special_bessel_j0' to ONNX opset version 17 "
            "is not supported.",
        ),
        (
            "from torch import nn\ndef net(n_inputs, n_outputs, params):\n"
            "    return nn.Linear(n_inputs, 2)",
            {"task": "regression", "n_inputs": 5, "n_outputs": 1},
            "The model from factory '{m}:net' gives [2, 2] for a batch of 2 rows; a regression "
            "model with 5 inputs must give [2, 1].",
        ),
    ],
)
def test_a_model_that_cannot_serve_stops_the_run_before_it_starts(
    project: Project, source: str, context: dict[str, Any], message: str
) -> None:
    module = project(source)
    with pytest.raises(BadInput) as info:
        check({"model_factory": f"{module}:net"}, dict(context))
    assert str(info.value) == message.replace("{m}", module)
