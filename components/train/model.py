"""The classifier and what it needs around it: architecture, preprocessing, loading.

A model directory holds `model.pt` (the weights) and `model.json` (the architecture, the
feature scaling and the label names), everything needed to predict from raw features.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import torch


@dataclass(frozen=True)
class ModelSpec:
    """Everything besides the weights that turns raw features into a label."""

    features: list[str]
    labels: list[str]
    label_column: str
    mean: list[float]
    scale: list[float]
    hidden_units: int
    hidden_layers: int
    data_version: str

    def to_json(self) -> str:
        """Serializes the spec as stable JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def load(cls, model_dir: str | Path) -> ModelSpec:
        """Reads `model.json` from a model directory."""
        data: dict[str, Any] = json.loads((Path(model_dir) / "model.json").read_text())
        return cls(**data)


def build_mlp(n_features: int, n_classes: int, hidden_units: int, hidden_layers: int) -> Any:
    """Builds the MLP classifier (logits out).

    Args:
        n_features: Width of the input.
        n_classes: Number of classes.
        hidden_units: Width of each hidden layer.
        hidden_layers: Number of hidden layers (0 gives a linear model).

    Returns:
        A `torch.nn.Sequential`.
    """
    from torch import nn

    layers: list[nn.Module] = []
    width = n_features
    for _ in range(hidden_layers):
        layers += [nn.Linear(width, hidden_units), nn.ReLU()]
        width = hidden_units
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)


class Predictor:
    """A trained model with its preprocessing, for evaluation and export."""

    def __init__(self, spec: ModelSpec, network: Any) -> None:
        self.spec = spec
        self.network = network.eval()

    @classmethod
    def load(cls, model_dir: str | Path) -> Predictor:
        """Loads a model directory written by the train step (on the CPU)."""
        import torch

        spec = ModelSpec.load(model_dir)
        network = build_mlp(
            len(spec.features), len(spec.labels), spec.hidden_units, spec.hidden_layers
        )
        state = torch.load(Path(model_dir) / "model.pt", map_location="cpu", weights_only=True)
        network.load_state_dict(state)
        return cls(spec, network)

    def scale(self, features: np.ndarray) -> torch.Tensor:
        """Applies the training-time standardization to raw features."""
        import numpy as np
        import torch

        x = torch.tensor(np.asarray(features, dtype=np.float32))
        mean = torch.tensor(self.spec.mean, dtype=torch.float32)
        scale = torch.tensor(self.spec.scale, dtype=torch.float32)
        return (x - mean) / scale

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities for raw (unscaled) features, columns in `spec.labels` order."""
        import torch

        with torch.no_grad():
            logits = self.network(self.scale(features))
            result: np.ndarray = torch.softmax(logits, dim=1).numpy()
        return result
