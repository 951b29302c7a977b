"""Turns a prediction request body into graph inputs, or into one sentence saying why not.

Accepted bodies (the Vertex AI custom-container contract)::

    {"instances": [[52.5, true, "pro", null], ...]}                   values in signature order
    {"instances": [{"income": 52.5, "member": true, ...}, ...]}       objects keyed by name

Other top-level keys (Vertex's "parameters") are ignored. Values by feature kind, as the
model contract feeds them (`freshet.contract.runtime`):

    numeric       a number, or null (missing: NaN)
    boolean       true, false, 0, 1, or null (fed as 1.0, 0.0, NaN)
    categorical   a string, a number (fed as its text), or null (missing: "")

Anything else is refused with 400 and a sentence naming the instance, the feature and the
value. A category never seen in training is not an error: the graph encodes it as none of
the known ones.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import numpy as np

from freshet.contract.signature import CATEGORICAL_INPUT, NUMERIC_INPUT, Signature

MAX_INSTANCES = 1000
MAX_BODY_BYTES = 8 * 1024 * 1024
MISSING_CATEGORY = ""  # as freshet.contract.runtime, which this module does not import

Feeds = dict[str, np.ndarray]


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


def _value(value: Any, limit: int = 60) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a valid JSON number; send null for a missing value")


_NUMBER_OR_NULL = frozenset({int, float, type(None)})
_BOOLEAN_TYPES = frozenset({bool, int, float})
_TEXT_NUMBERS = frozenset({int, float})
_WHAT = {
    "numeric": "is not a number",
    "boolean": "is not a boolean (true, false or null)",
    "categorical": "is not a category (a string, a number or null)",
}


def _numeric_ok(value: Any) -> bool:
    return type(value) in _NUMBER_OR_NULL


def _boolean_ok(value: Any) -> bool:
    return value is None or (type(value) in _BOOLEAN_TYPES and value in (0, 1))


def _category(value: Any) -> str | None:
    """The text the graph gets for a categorical value, or None when it is not one."""
    if type(value) is str:
        return value
    if value is None:
        return MISSING_CATEGORY
    if type(value) in _TEXT_NUMBERS:
        return str(value)
    return None


class _NumericBody(msgspec.Struct):
    """A body whose instances are all lists of numbers or nulls (other keys are ignored)."""

    instances: list[list[float | None]]


_ANY = msgspec.json.Decoder()


def _decode(body: bytes) -> Any:
    """The JSON value of a body; json's own sentence for what msgspec refuses (NaN, ...)."""
    try:
        return _ANY.decode(body)
    except msgspec.DecodeError:
        return json.loads(body, parse_constant=_reject_constant)


class RequestParser:
    """Parses request bodies for one signature (what can be worked out once, is)."""

    def __init__(self, signature: Signature, max_instances: int = MAX_INSTANCES) -> None:
        self.signature = signature
        self.max_instances = max_instances
        self.names = signature.feature_names
        self.kinds = [f.kind for f in signature.features]
        self.numeric_at = [i for i, k in enumerate(self.kinds) if k != "categorical"]
        self.categorical_at = [i for i, k in enumerate(self.kinds) if k == "categorical"]
        # Every feature numeric: the request rows are the numeric matrix, checked at C speed.
        self.all_numeric = all(k == "numeric" for k in self.kinds)
        self.numeric_plain = all(self.kinds[i] == "numeric" for i in self.numeric_at)
        self._numeric_body = msgspec.json.Decoder(_NumericBody) if self.all_numeric else None

    def parse(self, body: bytes) -> tuple[Feeds, int]:
        """Validates a request body against the signature.

        Args:
            body: The raw request body.

        Returns:
            The graph inputs (`numeric` float32, `categorical` str objects, as the signature
            needs) and the number of instances.

        Raises:
            RequestProblem: 400 for malformed input, 413 for a batch or body over the limits.
        """
        if self._numeric_body is not None:
            fast = self._numeric_rows(body)
            if fast is not None:
                return {NUMERIC_INPUT: _float32(fast)}, len(fast)
        instances = self._instances(body)
        rows = [self._row(index, instance) for index, instance in enumerate(instances)]
        feeds: Feeds = {}
        if self.all_numeric:
            for index, row in enumerate(rows):
                if not set(map(type, row)) <= _NUMBER_OR_NULL:
                    self._check_numeric(index, row)
            feeds[NUMERIC_INPUT] = _float32(rows)
            return feeds, len(rows)
        if self.numeric_at:
            numeric = []
            for index, row in enumerate(rows):
                values = [row[i] for i in self.numeric_at]
                if not (self.numeric_plain and set(map(type, values)) <= _NUMBER_OR_NULL):
                    self._check_numeric(index, row)
                numeric.append(values)
            feeds[NUMERIC_INPUT] = _float32(numeric)
        if self.categorical_at:
            text = [
                [self._text(index, row, i) for i in self.categorical_at]
                for index, row in enumerate(rows)
            ]
            feeds[CATEGORICAL_INPUT] = np.array(text, dtype=object)
        return feeds, len(rows)

    def _numeric_rows(self, body: bytes) -> np.ndarray | None:
        """The float64 matrix of an all-numeric body, decoded and type-checked in one pass.

        None for anything the fast path does not take whole (objects keyed by name, a wrong
        value or length, limits): `parse` then goes the slow way, which names the problem.
        """
        assert self._numeric_body is not None
        if len(body) > MAX_BODY_BYTES:
            return None
        try:
            rows = self._numeric_body.decode(body).instances
        except msgspec.DecodeError:
            return None
        if not 0 < len(rows) <= self.max_instances:
            return None
        try:
            matrix = np.array(rows, dtype=np.float64)
        except (ValueError, OverflowError):
            return None
        if matrix.ndim != 2 or matrix.shape[1] != len(self.names):
            return None
        return matrix

    def _instances(self, body: bytes) -> list[Any]:
        if len(body) > MAX_BODY_BYTES:
            raise RequestProblem(
                413,
                f"The request body has {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted.",
            )
        try:
            payload = _decode(body)
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
        if len(instances) > self.max_instances:
            raise RequestProblem(
                413,
                f"The request has {len(instances)} instances; at most {self.max_instances} are "
                "accepted per request.",
            )
        return instances

    def _row(self, index: int, instance: Any) -> list[Any]:
        names = self.names
        if type(instance) is list:
            if len(instance) != len(names):
                raise RequestProblem(
                    400,
                    f"Instance {index} has {len(instance)} values; the model takes "
                    f"{len(names)} features ({_shown(names, 3)}).",
                )
            return instance
        if isinstance(instance, dict):
            if len(instance) == len(names):
                try:
                    return [instance[n] for n in names]
                except KeyError:
                    pass
            missing = [n for n in names if n not in instance]
            if missing:
                raise RequestProblem(
                    400, f"Instance {index} is missing features: {_shown(missing)}."
                )
            known = set(names)
            unknown = [str(k) for k in instance if k not in known]
            raise RequestProblem(400, f"Instance {index} has unknown features: {_shown(unknown)}.")
        raise RequestProblem(
            400,
            f"Instance {index} must be a list of values or an object keyed by feature "
            f"name, got {_kind(instance)}.",
        )

    def _check_numeric(self, index: int, row: list[Any]) -> None:
        """Raises for the first bad numeric or boolean value of a row, if there is one."""
        for i in self.numeric_at:
            kind, value = self.kinds[i], row[i]
            if not (_numeric_ok(value) if kind == "numeric" else _boolean_ok(value)):
                raise self._problem(index, i, value)

    def _text(self, index: int, row: list[Any], i: int) -> str:
        text = _category(row[i])
        if text is None:
            raise self._problem(index, i, row[i])
        return text

    def _problem(self, index: int, i: int, value: Any) -> RequestProblem:
        return RequestProblem(
            400,
            f"Instance {index}, feature '{self.names[i]}' {_WHAT[self.kinds[i]]}: {_value(value)}.",
        )


def _float32(rows: list[list[Any]] | np.ndarray) -> np.ndarray:
    """The float32 matrix of checked numeric rows (null -> NaN, true/false -> 1/0)."""
    too_large = RequestProblem(400, "A feature value is too large for a 32-bit float.")
    try:
        matrix = np.asarray(rows, dtype=np.float64)
    except OverflowError:
        raise too_large from None
    with np.errstate(over="ignore"):
        result = matrix.astype(np.float32)
    if np.isinf(result).any():  # JSON has no infinity: every inf is an overflow
        raise too_large
    return result


def parse_instances(body: bytes, signature: Signature, max_instances: int = MAX_INSTANCES) -> Feeds:
    """Validates a request body against a signature (see `RequestParser.parse`).

    Returns:
        The graph inputs, one row per instance.

    Raises:
        RequestProblem: 400 for malformed input, 413 for a batch or body over the limits.
    """
    return RequestParser(signature, max_instances).parse(body)[0]
