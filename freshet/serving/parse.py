"""Turns a prediction request body into a feature matrix, or into one sentence saying why not.

Accepted bodies (the Vertex AI custom-container contract)::

    {"instances": [[0.0, 1.5, ...], ...]}                 values in signature order
    {"instances": [{"pixel_0_0": 0.0, ...}, ...]}          objects keyed by feature name

Other top-level keys (Vertex's "parameters") are ignored.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from freshet.serving.signature import Signature

MAX_INSTANCES = 1000
MAX_BODY_BYTES = 8 * 1024 * 1024


class RequestProblem(Exception):
    """A request the server refuses: an HTTP status (4xx) and a sentence naming the problem."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _shown(names: list[str], limit: int = 5) -> str:
    more = f" ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a valid JSON number")


def _row_from_object(index: int, instance: dict[str, Any], names: list[str]) -> list[Any]:
    missing = [n for n in names if n not in instance]
    if missing:
        raise RequestProblem(400, f"Instance {index} is missing features: {_shown(missing)}.")
    known = set(names)
    unknown = [str(k) for k in instance if k not in known]
    if unknown:
        raise RequestProblem(400, f"Instance {index} has unknown features: {_shown(unknown)}.")
    return [instance[n] for n in names]


_NUMBER_TYPES = frozenset({int, float})


def _check_values(index: int, row: list[Any], names: list[str]) -> None:
    if set(map(type, row)) <= _NUMBER_TYPES:  # the common case, checked at C speed
        return
    for name, value in zip(names, row, strict=True):
        if type(value) is not float and type(value) is not int:
            raise RequestProblem(
                400,
                f"Instance {index}, feature '{name}' is not a number: {json.dumps(value)}.",
            )


def parse_instances(
    body: bytes, signature: Signature, max_instances: int = MAX_INSTANCES
) -> np.ndarray:
    """Validates a request body against the signature.

    Args:
        body: The raw request body.
        signature: The bundle's signature (feature names and order).
        max_instances: The largest batch accepted.

    Returns:
        A float32 matrix, one row per instance, columns in signature order.

    Raises:
        RequestProblem: 400 for malformed input, 413 for a batch or body over the limits.
    """
    if len(body) > MAX_BODY_BYTES:
        raise RequestProblem(
            413, f"The request body has {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted."
        )
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise RequestProblem(400, f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(payload, dict):
        raise RequestProblem(
            400,
            f"The request body must be a JSON object with an 'instances' list, "
            f"got {_kind(payload)}.",
        )
    if "instances" not in payload:
        raise RequestProblem(400, "The request body has no 'instances' field.")
    instances = payload["instances"]
    if not isinstance(instances, list):
        raise RequestProblem(400, f"'instances' must be a list, got {_kind(instances)}.")
    if not instances:
        raise RequestProblem(400, "'instances' is empty: send at least one instance.")
    if len(instances) > max_instances:
        raise RequestProblem(
            413,
            f"The request has {len(instances)} instances; at most {max_instances} are "
            "accepted per request.",
        )
    names = signature.feature_names
    rows: list[list[Any]] = []
    for index, instance in enumerate(instances):
        if isinstance(instance, dict):
            row = _row_from_object(index, instance, names)
        elif isinstance(instance, list):
            if len(instance) != len(names):
                raise RequestProblem(
                    400,
                    f"Instance {index} has {len(instance)} values; the model takes "
                    f"{len(names)} features ({_shown(names, 3)}).",
                )
            row = instance
        else:
            raise RequestProblem(
                400,
                f"Instance {index} must be a list of numbers or an object keyed by feature "
                f"name, got {_kind(instance)}.",
            )
        _check_values(index, row, names)
        rows.append(row)
    too_large = RequestProblem(400, "A feature value is too large for a 32-bit float.")
    try:
        matrix = np.asarray(rows, dtype=np.float64)
    except OverflowError:
        raise too_large from None
    if np.abs(matrix).max() > np.finfo(np.float32).max:
        raise too_large
    return matrix.astype(np.float32)
