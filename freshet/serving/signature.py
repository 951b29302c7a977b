"""What a serving bundle holds besides the model: its golden examples and build record.

A bundle directory::

    model.onnx         the contract model: raw features in, predictions out
    signature.json     `freshet.contract.Signature`: task, features and their kinds, labels
    golden.json        `GoldenSet`: held-out raw rows with the answers the model gave
    requirements.txt   pinned serving dependencies (no torch, scikit-learn or pandas)
    build.json         build metadata (data version, model digest, git commit, image)

`model.onnx` and `signature.json` are the Model artifact's own files, copied unchanged: the
bundle's signature is the model contract's `Signature`, re-exported here. This module is
imported by the serving app, so it must never import torch, pandas or onnx.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from freshet.contract.signature import Feature, Signature, load_signature
from freshet.errors import BadInput

__all__ = [
    "BUILD_FILE",
    "BUNDLE_FILES",
    "GOLDEN_FILE",
    "MODEL_FILE",
    "REQUIREMENTS_FILE",
    "SIGNATURE_FILE",
    "Feature",
    "GoldenExample",
    "GoldenSet",
    "RawValue",
    "Signature",
    "check_bundle_dir",
    "check_golden_set",
    "load_golden",
    "load_signature",
]

MODEL_FILE = "model.onnx"
SIGNATURE_FILE = "signature.json"
GOLDEN_FILE = "golden.json"
REQUIREMENTS_FILE = "requirements.txt"
BUILD_FILE = "build.json"
BUNDLE_FILES = (MODEL_FILE, SIGNATURE_FILE, GOLDEN_FILE, REQUIREMENTS_FILE, BUILD_FILE)

# A raw feature value as JSON carries it: null for missing. bool comes first so that pydantic
# keeps true/false as booleans rather than reading them as the numbers 1 and 0.
RawValue = bool | int | float | str | None


class GoldenExample(BaseModel):
    """One held-out raw row with the model's answer.

    Classification examples carry `label` and `probabilities`; regression examples `value`.
    """

    instance: dict[str, RawValue]
    label: str | None = None
    probabilities: dict[str, float] | None = None
    value: float | None = None

    def row(self, names: list[str]) -> list[RawValue]:
        """The instance as a list in `names` order (the list form of a request)."""
        return [self.instance[name] for name in names]


class GoldenSet(BaseModel):
    """The known questions verification asks, with the answers the model gave at packaging."""

    format_version: Literal[2] = 2
    task: Literal["classification", "regression"]
    source: str = ""
    examples: list[GoldenExample] = Field(min_length=1)

    @model_validator(mode="after")
    def _answers_fit_the_task(self) -> GoldenSet:
        for index, example in enumerate(self.examples):
            if self.task == "classification":
                if example.label is None or example.probabilities is None:
                    raise ValueError(f"example {index} has no label and probabilities")
            elif example.value is None or not math.isfinite(example.value):
                raise ValueError(f"example {index} has no finite value")
        return self


def check_golden_set(golden: GoldenSet, signature: Signature, where: str) -> None:
    """Checks that golden examples fit a signature (task, feature names, labels).

    Raises:
        BadInput: One sentence naming the first mismatch and `where`.
    """
    if golden.task != signature.task:
        raise BadInput(
            f"The golden examples '{where}' are for {golden.task}, the model does {signature.task}."
        )
    names = signature.feature_names
    labels = set(signature.labels)
    for index, example in enumerate(golden.examples):
        if set(example.instance) != set(names):
            missing = sorted(set(names) - set(example.instance))
            extra = sorted(set(example.instance) - set(names))
            what = f"lacks feature '{missing[0]}'" if missing else f"has unknown '{extra[0]}'"
            raise BadInput(f"Golden example {index} in '{where}' {what}.")
        if example.probabilities is not None and set(example.probabilities) != labels:
            raise BadInput(
                f"Golden example {index} in '{where}' has probabilities for "
                f"{sorted(example.probabilities)}, not for the labels {signature.labels}."
            )


def load_golden(bundle_dir: str | Path) -> GoldenSet:
    """Reads and validates `golden.json` of a bundle.

    Raises:
        BadInput: The file is missing or malformed (the sentence names the path).
    """
    path = Path(bundle_dir) / GOLDEN_FILE
    if not path.is_file():
        raise BadInput(f"The serving bundle has no '{path.name}': '{path}' is missing.")
    try:
        return GoldenSet.model_validate(json.loads(path.read_text()))
    except (ValueError, ValidationError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, ValidationError) and exc.errors():
            error = exc.errors()[0]
            place = ".".join(str(p) for p in error.get("loc", ()))
            detail = f"{place}: {error['msg']}" if place else str(error["msg"])
        raise BadInput(f"The bundle file '{path}' is not valid: {detail}.") from None


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
