"""Reading a server's answers and comparing them with the golden ones, by task."""

from __future__ import annotations

import math
from typing import Any

import httpx
from pydantic import BaseModel

from freshet.serving.signature import GoldenExample, Signature


class Check(BaseModel):
    """One check and what it found."""

    name: str
    passed: bool
    detail: str


def read_predictions(response: httpx.Response | str, signature: Signature) -> list[Any] | str:
    """The answers of a predict response, or what is wrong with it.

    Classification: `(label, [probability per label])` per prediction; regression: the value.
    """
    if isinstance(response, str):
        return response
    if response.status_code != 200:
        return f"predict answered {response.status_code}: {response.text[:200]}"
    try:
        predictions = response.json()["predictions"]
        if signature.task == "regression":
            return [float(p["value"]) for p in predictions]
        labels = signature.labels
        return [
            (str(p["label"]), [float(p["probabilities"][label]) for label in labels])
            for p in predictions
        ]
    except (ValueError, KeyError, TypeError) as exc:
        return f"malformed response ({exc!r})"


def relative_difference(got: float, want: float) -> float:
    """`|got - want| / max(1, |want|)`: absolute near zero, relative for large values."""
    return abs(got - want) / max(1.0, abs(want))


def compare(
    got: list[Any] | str,
    examples: list[GoldenExample],
    signature: Signature,
    tolerance: float,
    name: str,
) -> Check:
    """Checks answers against golden examples.

    Classification: the same labels, every probability within `tolerance`. Regression: every
    value within `tolerance` relative to max(1, |expected|).
    """
    if isinstance(got, str):
        return Check(name=name, passed=False, detail=got)
    if len(got) != len(examples):
        return Check(
            name=name, passed=False, detail=f"{len(got)} predictions for {len(examples)} instances"
        )
    if signature.task == "regression":
        diffs = [
            relative_difference(g, float(e.value or 0.0))
            for g, e in zip(got, examples, strict=True)
        ]
        off = [i for i, d in enumerate(diffs) if not d <= tolerance]
        detail = (
            f"{len(examples) - len(off)}/{len(examples)} values match, max relative difference "
            f"{max(diffs):.1e} (tolerance {tolerance:.0e})"
        )
        if off:
            first = off[0]
            detail += f"; example {first}: got {got[first]!r}, expected {examples[first].value!r}"
        return Check(name=name, passed=not off, detail=detail)
    labels = signature.labels
    pairs = list(zip(got, examples, strict=True))
    wrong = [i for i, ((label, _), e) in enumerate(pairs) if label != e.label]
    diff = max(
        abs(p - (e.probabilities or {})[label])
        for (_, probs), e in pairs
        for p, label in zip(probs, labels, strict=True)
    )
    detail = (
        f"{len(examples) - len(wrong)}/{len(examples)} labels match, max probability "
        f"difference {diff:.1e} (tolerance {tolerance:.0e})"
    )
    if wrong:
        first = wrong[0]
        detail += f"; example {first}: got {got[first][0]!r}, expected {examples[first].label!r}"
    return Check(name=name, passed=not wrong and diff <= tolerance, detail=detail)


def well_formed(answer: Any, signature: Signature) -> str:
    """What is wrong with one answer from `read_predictions`, or "" when nothing is."""
    if signature.task == "regression":
        return "" if math.isfinite(answer) else f"the value is {answer}"
    label, probabilities = answer
    if label not in signature.labels:
        return f"the label {label!r} is not one of {signature.labels}"
    if not all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in probabilities):
        return f"the probabilities {probabilities} are not all within [0, 1]"
    return ""
