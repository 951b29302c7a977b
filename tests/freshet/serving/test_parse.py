from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from freshet.components.package.core import raw_value
from freshet.contract.runtime import frame_feeds
from freshet.serving.parse import MAX_BODY_BYTES, RequestParser, RequestProblem, parse_instances
from freshet.serving.signature import Feature, Signature, load_signature

NUMERIC = Signature(
    task="classification", features=[Feature(name=n) for n in ("a", "b", "c")], labels=["x", "y"]
)
MIXED = Signature(
    task="regression",
    features=[
        Feature(name="income", kind="numeric"),
        Feature(name="plan", kind="categorical"),
        Feature(name="member", kind="boolean"),
        Feature(name="region", kind="categorical"),
    ],
)


def body(payload: object) -> bytes:
    return json.dumps(payload).encode()


def test_lists_and_objects_give_the_same_matrix() -> None:
    lists = parse_instances(body({"instances": [[1, 2.5, -3], [0, 0, 0]]}), NUMERIC)
    objects = parse_instances(
        body({"instances": [{"c": -3, "a": 1, "b": 2.5}, {"a": 0, "b": 0, "c": 0}]}), NUMERIC
    )
    assert list(lists) == ["numeric"]
    assert lists["numeric"].dtype == np.float32
    np.testing.assert_array_equal(lists["numeric"], [[1, 2.5, -3], [0, 0, 0]])
    np.testing.assert_array_equal(lists["numeric"], objects["numeric"])


def test_null_is_a_missing_number() -> None:
    got = parse_instances(
        body({"instances": [[None, 1, None], {"a": 2, "b": None, "c": 3}]}), NUMERIC
    )
    np.testing.assert_array_equal(got["numeric"], [[np.nan, 1, np.nan], [2, np.nan, 3]])


def test_mixed_kinds_become_the_contract_inputs() -> None:
    instances = [
        [52.5, "pro", True, "north"],
        [None, None, None, None],
        {"income": 3, "plan": 7, "member": 0, "region": 2.5},
        {"income": -1e30, "plan": "", "member": 1, "region": "never seen"},
    ]
    parser = RequestParser(MIXED)
    feeds, count = parser.parse(body({"instances": instances}))
    assert count == 4
    assert feeds["numeric"].dtype == np.float32
    np.testing.assert_array_equal(
        feeds["numeric"], np.array([[52.5, 1], [np.nan, np.nan], [3, 0], [-1e30, 1]], np.float32)
    )
    assert feeds["categorical"].dtype == object
    assert feeds["categorical"].tolist() == [
        ["pro", "north"],
        ["", ""],
        ["7", "2.5"],
        ["", "never seen"],
    ]
    assert all(type(v) is str for v in feeds["categorical"].ravel())


def test_only_categorical_features_give_only_that_input() -> None:
    signature = Signature(task="regression", features=[Feature(name="city", kind="categorical")])
    feeds = parse_instances(body({"instances": [["Oslo"], [None]]}), signature)
    assert list(feeds) == ["categorical"]
    assert feeds["categorical"].tolist() == [["Oslo"], [""]]


def test_requests_feed_the_graph_as_the_table_path_does(mixed_trained: tuple[Path, Path]) -> None:
    """Raw test rows sent as JSON give exactly the inputs evaluation builds from the table."""
    dataset, model = mixed_trained
    signature = load_signature(model)
    frame = pd.read_parquet(dataset / "test.parquet")
    rows = [
        {name: raw_value(frame[name].iloc[i], name) for name in signature.feature_names}
        for i in range(len(frame))
    ]
    assert any(None in row.values() for row in rows)  # the table has gaps
    served = parse_instances(body({"instances": rows}), signature, max_instances=len(rows))
    table = frame_feeds(frame, signature)
    assert sorted(served) == sorted(table) == ["categorical", "numeric"]
    np.testing.assert_array_equal(served["numeric"], table["numeric"])
    assert served["categorical"].tolist() == table["categorical"].tolist()


def test_vertex_parameters_are_ignored() -> None:
    got = parse_instances(body({"instances": [[1, 2, 3]], "parameters": {"k": 1}}), NUMERIC)
    assert got["numeric"].shape == (1, 3)


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
        (body({"instances": [[1, "2", 3]]}), 400, "Instance 0, feature 'b' is not a number: \"2\""),
        (
            body({"instances": [[1, 2, 3], [1, True, 3]]}),
            400,
            "Instance 1, feature 'b' is not a number: true",
        ),
        (body({"instances": [[{"x": 1}, 1, 3]]}), 400, "feature 'a' is not a number: {\"x\": 1}"),
        (b'{"instances": [[NaN, 1, 2]]}', 400, "NaN is not a valid JSON number; send null"),
        (b'{"instances": [[1e400, 1, 2]]}', 400, "too large for a 32-bit float"),
        (body({"instances": [[10**400, 1, 2]]}), 400, "too large for a 32-bit float"),
        (body({"instances": [[1e39, None, 2]]}), 400, "too large for a 32-bit float"),
        (body({"instances": [{"a": 1, "b": 2}]}), 400, "Instance 0 is missing features: c"),
        (body({"instances": [{"a": 1, "b": 2, "c": 3, "d": 4}]}), 400, "unknown features: d"),
        (body({"instances": [{"a": 1, "b": 2, "d": 4}]}), 400, "missing features: c"),
        (body({"instances": ["abc"]}), 400, "Instance 0 must be a list of values or an object"),
        (body({"instances": [[1, 2, 3]] * 11}), 413, "11 instances; at most 10"),
        (b" " * (MAX_BODY_BYTES + 1), 413, "bytes; at most"),
    ],
)
def test_malformed_requests_are_named(raw: bytes, status: int, words: str) -> None:
    with pytest.raises(RequestProblem) as caught:
        parse_instances(raw, NUMERIC, max_instances=10)
    assert caught.value.status == status
    assert words in caught.value.message
    assert caught.value.message.endswith(".")


@pytest.mark.parametrize(
    ("row", "sentence"),
    [
        (["abc", "pro", True, "n"], "Instance 0, feature 'income' is not a number: \"abc\"."),
        ([False, "pro", True, "n"], "Instance 0, feature 'income' is not a number: false."),
        (
            [1, "pro", "yes", "n"],
            "Instance 0, feature 'member' is not a boolean (true, false or null): \"yes\".",
        ),
        (
            [1, "pro", 2, "n"],
            "Instance 0, feature 'member' is not a boolean (true, false or null): 2.",
        ),
        (
            [1, True, True, "n"],
            "Instance 0, feature 'plan' is not a category (a string, a number or null): true.",
        ),
        (
            [1, "pro", True, ["n"]],
            "Instance 0, feature 'region' is not a category (a string, a number or null): [\"n\"].",
        ),
        (
            [1, "pro", True, {"long": "x" * 100}],
            "Instance 0, feature 'region' is not a category (a string, a number or null): "
            '{"long": "' + "x" * 47 + "....",  # long values are cut to 60 characters
        ),
    ],
)
def test_values_of_the_wrong_kind_are_named(row: list[object], sentence: str) -> None:
    parser = RequestParser(MIXED)
    with pytest.raises(RequestProblem) as caught:
        parser.parse(body({"instances": [[1.0, "basic", False, "s"], row]}))
    assert caught.value.status == 400
    assert caught.value.message == sentence.replace("Instance 0", "Instance 1")
