"""The built-in model: an MLP made by the same kind of factory a user writes.

Any factory is called as `factory(n_inputs, n_outputs, params) -> torch.nn.Module`; the module
maps the preprocessed float32 matrix (rows x n_inputs) to logits (classification, rows x
n_outputs) or to the standardised target (regression, rows x 1).
"""

from __future__ import annotations

from typing import Any


def mlp(n_inputs: int, n_outputs: int, params: dict[str, Any]) -> Any:
    """Builds the MLP (`freshet.components.train.model:mlp`, the default model factory).

    Args:
        n_inputs: Width of the preprocessed matrix.
        n_outputs: Number of classes, or 1 for regression.
        params: `hidden_units` (width of each hidden layer) and `hidden_layers` (number of
            hidden layers; 0 gives a linear model).

    Returns:
        A `torch.nn.Sequential` of Linear and ReLU layers.
    """
    from torch import nn

    hidden_units, hidden_layers = int(params["hidden_units"]), int(params["hidden_layers"])
    layers: list[nn.Module] = []
    width = n_inputs
    for _ in range(hidden_layers):
        layers += [nn.Linear(width, hidden_units), nn.ReLU()]
        width = hidden_units
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)
