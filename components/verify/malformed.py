"""The malformed requests verification sends: each must get a 4xx, never a 5xx or a crash."""

from __future__ import annotations

import json

from freshet.serving.signature import Signature


def malformed_requests(signature: Signature, max_instances: int) -> list[tuple[str, bytes]]:
    """Named request bodies that a correct server refuses with a 4xx.

    Args:
        signature: The bundle's signature (to build near-miss instances).
        max_instances: The server's batch limit (one more must be refused).

    Returns:
        `(case name, body)` pairs.
    """
    width = len(signature.features)
    good = [0.0] * width
    names = signature.feature_names

    def body(payload: object) -> bytes:
        return json.dumps(payload).encode()

    return [
        ("not JSON", b'{"instances": [[1, 2'),
        ("empty body", b""),
        ("JSON list", body([good])),
        ("no instances", body({"inputs": [good]})),
        ("instances not a list", body({"instances": "all"})),
        ("empty instances", body({"instances": []})),
        ("too few features", body({"instances": [good[:-1]]})),
        ("too many features", body({"instances": [[*good, 0.0]]})),
        ("non-numeric value", body({"instances": [["x", *good[1:]]]})),
        ("boolean value", body({"instances": [[True, *good[1:]]]})),
        ("null value", body({"instances": [[None, *good[1:]]]})),
        ("NaN value", b'{"instances": [[NaN' + b", 0.0" * (width - 1) + b"]]}"),
        ("unknown feature name", body({"instances": [{**dict.fromkeys(names, 0.0), "?": 1}]})),
        ("missing feature name", body({"instances": [dict.fromkeys(names[1:], 0.0)]})),
        ("instance not a list", body({"instances": [42]})),
        ("oversized batch", body({"instances": [good] * (max_instances + 1)})),
    ]
