"""`signature.json`: the description of a contract model's inputs and outputs.

This module is imported by the serving app, so it imports no numpy, onnx or torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from freshet.errors import BadInput

Task = Literal["classification", "regression"]
FeatureKind = Literal["numeric", "boolean", "categorical"]
TASKS: tuple[Task, ...] = ("classification", "regression")
NUMERIC_INPUT = "numeric"
CATEGORICAL_INPUT = "categorical"
OUTPUT_NAMES: dict[str, str] = {"classification": "probabilities", "regression": "value"}


class Feature(BaseModel):
    """One raw input column: its name and how it is fed to the graph."""

    name: str
    kind: FeatureKind = "numeric"


class Signature(BaseModel):
    """The contract of `model.onnx`: which columns go in, what comes out, who made it."""

    format_version: Literal[2] = 2
    task: Task
    features: list[Feature] = Field(min_length=1)
    label_column: str = "label"
    labels: list[str] = []
    output_name: str = ""
    framework: str = ""
    producer: str = ""
    data_version: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Signature:
        names = self.feature_names
        if len(set(names)) != len(names):
            raise ValueError("feature names must be unique")
        if self.task == "classification":
            if len(self.labels) < 2:
                raise ValueError("a classifier needs at least two labels")
            if len(set(self.labels)) != len(self.labels):
                raise ValueError("label names must be unique")
        elif self.labels:
            raise ValueError("a regression model has no labels")
        if not self.output_name:
            self.output_name = OUTPUT_NAMES[self.task]
        return self

    @property
    def feature_names(self) -> list[str]:
        """Feature names in signature order."""
        return [f.name for f in self.features]

    @property
    def numeric_features(self) -> list[str]:
        """Columns of the `numeric` input (numeric and boolean features), in order."""
        return [f.name for f in self.features if f.kind != "categorical"]

    @property
    def categorical_features(self) -> list[str]:
        """Columns of the `categorical` input, in order."""
        return [f.name for f in self.features if f.kind == "categorical"]

    @property
    def input_names(self) -> list[str]:
        """The graph inputs this signature needs."""
        names = [NUMERIC_INPUT] if self.numeric_features else []
        return names + ([CATEGORICAL_INPUT] if self.categorical_features else [])

    def to_json(self) -> str:
        """Serializes the signature as stable JSON."""
        return self.model_dump_json(indent=2)


def parse_signature(text: str, where: str) -> Signature:
    """Parses signature JSON, or raises `BadInput` naming `where` and the first problem."""
    try:
        return Signature.model_validate(json.loads(text))
    except (ValueError, ValidationError) as exc:
        first = str(exc).splitlines()
        detail = first[-1].strip() if len(first) > 1 else (first[0] if first else "")
        if isinstance(exc, ValidationError) and exc.errors():
            error = exc.errors()[0]
            place = ".".join(str(p) for p in error.get("loc", ()))
            detail = f"{place}: {error['msg']}" if place else str(error["msg"])
        raise BadInput(f"The model signature '{where}' is not valid: {detail}.") from None


def load_signature(model_dir: str | Path) -> Signature:
    """Reads and validates `signature.json` of a model or bundle directory.

    Raises:
        BadInput: The file is missing or malformed (the sentence names the path).
    """
    path = Path(model_dir) / "signature.json"
    if not path.is_file():
        raise BadInput(f"'{model_dir}' does not hold a model: '{path.name}' is missing.")
    return parse_signature(path.read_text(), str(path))
