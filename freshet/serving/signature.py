"""What a serving bundle holds besides the model: its signature and its golden examples.

A bundle directory::

    model.onnx         raw features in, class probabilities out (scaling and softmax inside)
    signature.json     `Signature`: input and output tensor names, feature names, label names
    golden.json        `GoldenSet`: held-out inputs with the outputs the PyTorch model gave
    requirements.txt   pinned serving dependencies (no torch)
    build.json         build metadata (data version, model digest, git commit, image)

This module is imported by the serving app, so it must never import torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from freshet.errors import BadInput

MODEL_FILE = "model.onnx"
SIGNATURE_FILE = "signature.json"
GOLDEN_FILE = "golden.json"
REQUIREMENTS_FILE = "requirements.txt"
BUILD_FILE = "build.json"
BUNDLE_FILES = (MODEL_FILE, SIGNATURE_FILE, GOLDEN_FILE, REQUIREMENTS_FILE, BUILD_FILE)


class Feature(BaseModel):
    """One input feature, in model column order."""

    name: str
    dtype: Literal["float32"] = "float32"


class Signature(BaseModel):
    """The contract of `model.onnx`: what goes in, what comes out."""

    format_version: int = 1
    input_name: str = "features"
    output_name: str = "probabilities"
    features: list[Feature] = Field(min_length=1)
    labels: list[str] = Field(min_length=2)
    label_column: str = "label"

    @model_validator(mode="after")
    def _unique(self) -> Signature:
        names = self.feature_names
        if len(set(names)) != len(names):
            raise ValueError("feature names must be unique")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("label names must be unique")
        return self

    @property
    def feature_names(self) -> list[str]:
        """Feature names in column order."""
        return [f.name for f in self.features]


class GoldenExample(BaseModel):
    """One held-out input with the reference model's answer."""

    instance: list[float]
    label: str
    probabilities: dict[str, float]


class GoldenSet(BaseModel):
    """The known questions verification asks, with the answers PyTorch gave."""

    source: str = ""
    examples: list[GoldenExample] = Field(min_length=1)


def _load(model: type[BaseModel], path: Path) -> BaseModel:
    if not path.is_file():
        raise BadInput(f"The serving bundle has no '{path.name}': '{path}' is missing.")
    try:
        return model.model_validate(json.loads(path.read_text()))
    except (ValueError, ValidationError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInput(f"The bundle file '{path}' is not valid: {first}.") from None


def load_signature(bundle_dir: str | Path) -> Signature:
    """Reads and validates `signature.json` of a bundle.

    Raises:
        BadInput: The file is missing or malformed (the sentence names the path).
    """
    result = _load(Signature, Path(bundle_dir) / SIGNATURE_FILE)
    assert isinstance(result, Signature)
    return result


def load_golden(bundle_dir: str | Path) -> GoldenSet:
    """Reads and validates `golden.json` of a bundle.

    Raises:
        BadInput: The file is missing or malformed (the sentence names the path).
    """
    result = _load(GoldenSet, Path(bundle_dir) / GOLDEN_FILE)
    assert isinstance(result, GoldenSet)
    return result


def check_bundle_dir(bundle_dir: str | Path) -> Path:
    """Returns the bundle directory as a Path, or raises `BadInput` when it is not one."""
    path = Path(bundle_dir)
    if not path.exists():
        raise BadInput(f"Serving bundle '{bundle_dir}' does not exist.")
    if not path.is_dir():
        raise BadInput(f"Serving bundle '{bundle_dir}' is not a directory.")
    if not (path / MODEL_FILE).is_file():
        raise BadInput(f"'{bundle_dir}' is not a serving bundle: it has no {MODEL_FILE}.")
    return path
