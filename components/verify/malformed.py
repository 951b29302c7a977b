"""The malformed requests verification sends: each must get a 4xx, never a 5xx or a crash."""

from __future__ import annotations

import json

from freshet.serving.signature import RawValue, Signature

# A value each kind accepts, to build near-miss instances around one bad value.
GOOD_VALUE: dict[str, RawValue] = {"numeric": 0.0, "boolean": False, "categorical": "a"}


def malformed_requests(signature: Signature, max_instances: int) -> list[tuple[str, bytes]]:
    """Named request bodies that a correct server refuses with a 4xx.

    Args:
        signature: The bundle's signature (to build near-miss instances for its kinds).
        max_instances: The server's batch limit (one more must be refused).

    Returns:
        `(case name, body)` pairs.
    """
    kinds = [f.kind for f in signature.features]
    names = signature.feature_names
    good: list[RawValue] = [GOOD_VALUE[kind] for kind in kinds]
    keyed = dict(zip(names, good, strict=True))

    def body(payload: object) -> bytes:
        return json.dumps(payload).encode()

    def with_value(position: int, value: object) -> bytes:
        row: list[object] = list(good)
        row[position] = value
        return body({"instances": [row]})

    cases = [
        ("not JSON", b'{"instances": [[1, 2'),
        ("empty body", b""),
        ("JSON list", body([good])),
        ("no instances", body({"inputs": [good]})),
        ("instances not a list", body({"instances": "all"})),
        ("empty instances", body({"instances": []})),
        ("too few features", body({"instances": [good[:-1]]})),
        ("too many features", body({"instances": [[*good, 0.0]]})),
        ("an object as a value", with_value(0, {"a": 1})),
        ("a list as a value", with_value(len(good) - 1, [1, 2])),
        ("NaN value", with_value(0, "\0nan").replace(b'"\\u0000nan"', b"NaN")),
        ("unknown feature name", body({"instances": [{**keyed, "?": 1}]})),
        ("missing feature name", body({"instances": [{n: keyed[n] for n in names[1:]}]})),
        ("instance not a list", body({"instances": [42]})),
        ("oversized batch", body({"instances": [good] * (max_instances + 1)})),
    ]
    if "numeric" in kinds:
        numeric = kinds.index("numeric")
        cases += [
            ("a text value in a numeric feature", with_value(numeric, "abc")),
            ("a boolean in a numeric feature", with_value(numeric, True)),
            ("a number too large for float32", with_value(numeric, 1e39)),
        ]
    if "boolean" in kinds:
        cases.append(("a 2 in a boolean feature", with_value(kinds.index("boolean"), 2)))
    if "categorical" in kinds:
        cases.append(
            ("a boolean in a categorical feature", with_value(kinds.index("categorical"), True))
        )
    return cases
