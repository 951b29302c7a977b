from __future__ import annotations

import json

import numpy as np
import pytest

from freshet.serving.parse import MAX_BODY_BYTES, RequestProblem, parse_instances
from freshet.serving.signature import Feature, Signature

SIG = Signature(features=[Feature(name=n) for n in ("a", "b", "c")], labels=["x", "y"])


def body(payload: object) -> bytes:
    return json.dumps(payload).encode()


def test_lists_and_objects_give_the_same_matrix() -> None:
    lists = parse_instances(body({"instances": [[1, 2.5, -3], [0, 0, 0]]}), SIG)
    objects = parse_instances(
        body({"instances": [{"c": -3, "a": 1, "b": 2.5}, {"a": 0, "b": 0, "c": 0}]}), SIG
    )
    assert lists.dtype == np.float32
    np.testing.assert_array_equal(lists, [[1, 2.5, -3], [0, 0, 0]])
    np.testing.assert_array_equal(lists, objects)


def test_vertex_parameters_are_ignored() -> None:
    got = parse_instances(body({"instances": [[1, 2, 3]], "parameters": {"k": 1}}), SIG)
    assert got.shape == (1, 3)


@pytest.mark.parametrize(
    ("raw", "status", "words"),
    [
        (b"{", 400, "not valid JSON"),
        (b"", 400, "not valid JSON"),
        (body([[1, 2, 3]]), 400, "got a list"),
        (body({"inputs": []}), 400, "no 'instances' field"),
        (body({"instances": {"a": 1}}), 400, "'instances' must be a list, got an object"),
        (body({"instances": []}), 400, "'instances' is empty"),
        (body({"instances": [[1, 2]]}), 400, "Instance 0 has 2 values; the model takes 3"),
        (body({"instances": [[1, 2, 3], [1, 2, 3, 4]]}), 400, "Instance 1 has 4 values"),
        (body({"instances": [[1, "2", 3]]}), 400, "feature 'b' is not a number: \"2\""),
        (body({"instances": [[1, True, 3]]}), 400, "feature 'b' is not a number: true"),
        (body({"instances": [[None, 1, 3]]}), 400, "feature 'a' is not a number: null"),
        (b'{"instances": [[NaN, 1, 2]]}', 400, "NaN is not a valid JSON number"),
        (b'{"instances": [[1e400, 1, 2]]}', 400, "too large for a 32-bit float"),
        (body({"instances": [[10**400, 1, 2]]}), 400, "too large for a 32-bit float"),
        (body({"instances": [[1e39, 1, 2]]}), 400, "too large for a 32-bit float"),
        (body({"instances": [{"a": 1, "b": 2}]}), 400, "Instance 0 is missing features: c"),
        (body({"instances": [{"a": 1, "b": 2, "c": 3, "d": 4}]}), 400, "unknown features: d"),
        (body({"instances": ["abc"]}), 400, "Instance 0 must be a list of numbers or an object"),
        (body({"instances": [[1, 2, 3]] * 11}), 413, "11 instances; at most 10"),
        (b" " * (MAX_BODY_BYTES + 1), 413, "bytes; at most"),
    ],
)
def test_malformed_requests_are_named(raw: bytes, status: int, words: str) -> None:
    with pytest.raises(RequestProblem) as caught:
        parse_instances(raw, SIG, max_instances=10)
    assert caught.value.status == status
    assert words in caught.value.message
    assert caught.value.message.endswith(".")
