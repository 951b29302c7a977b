"""The wire path: msgspec's one-pass numeric decode, the response encoder, `--workers`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from freshet.cli import app
from freshet.components.verify.server import default_command, running_server
from freshet.serving.app import encode_predictions, predictions
from freshet.serving.parse import RequestParser, RequestProblem
from freshet.serving.signature import Feature, Signature, load_golden
from tests.freshet.serving.test_command import ROUTES, wait_healthy

NUMERIC = Signature(
    task="classification", features=[Feature(name=n) for n in ("a", "b", "c")], labels=["x", "y"]
)
REGRESSION = Signature(task="regression", features=[Feature(name="a")])


def test_the_fast_path_takes_whole_numeric_bodies_only() -> None:
    parser = RequestParser(NUMERIC)
    assert parser._numeric_rows(b'{"instances": [[1, 2.5, null]], "parameters": {}}') is not None
    for refused in (
        b'{"instances": [{"a": 1, "b": 2, "c": 3}]}',  # objects: the general path
        b'{"instances": [[1, true, 3]]}',  # a boolean is not a number
        b'{"instances": [[1, 2]]}',  # a wrong length
        b'{"instances": [[1, 2, 3], [1, 2]]}',  # ragged
        b'{"instances": []}',
        b'{"instances": [[NaN, 1, 2]]}',
        b"[]",
    ):
        assert parser._numeric_rows(refused) is None, refused


@pytest.mark.parametrize(
    "payload",
    [
        {"instances": [[1, 2.5, -3], [None, 0, 1e30]]},
        {"instances": [[0.1, 0.2, 0.3]], "parameters": {"x": 1}},
        {"instances": [[10**20, -(10**20), 7]]},
    ],
)
def test_the_fast_path_gives_what_the_general_path_gives(payload: object) -> None:
    fast = RequestParser(NUMERIC).parse(json.dumps(payload).encode())
    slow_parser = RequestParser(NUMERIC)
    slow_parser._numeric_body = None  # the general path, as for objects keyed by name
    slow = slow_parser.parse(json.dumps(payload).encode())
    assert fast[1] == slow[1]
    assert fast[0]["numeric"].dtype == slow[0]["numeric"].dtype == np.float32
    np.testing.assert_array_equal(fast[0]["numeric"], slow[0]["numeric"])


def test_a_value_too_large_for_float32_is_refused_on_the_fast_path_too() -> None:
    with pytest.raises(RequestProblem, match="too large for a 32-bit float"):
        RequestParser(NUMERIC).parse(b'{"instances": [[1e39, 1, 2]]}')


def test_classification_body_is_the_predictions_list() -> None:
    output = np.array([[0.25, 0.75], [0.9, 0.1]], dtype=np.float32)
    encoded = json.loads(encode_predictions(NUMERIC, output))
    assert encoded == {"predictions": predictions(NUMERIC, output)}
    assert encoded["predictions"][0]["label"] == "y"


def test_regression_body_wraps_values_and_writes_non_finite_as_null() -> None:
    output = np.array([1.5, np.nan, -2.25, np.inf, 1e-7], dtype=np.float32)
    encoded = json.loads(encode_predictions(REGRESSION, output))
    assert encoded == {"predictions": predictions(REGRESSION, output)}
    assert [p["value"] for p in encoded["predictions"]][1:4:2] == [None, None]
    one = json.loads(encode_predictions(REGRESSION, np.array([3.0], dtype=np.float32)))
    assert one == {"predictions": [{"value": 3.0}]}


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_bad_web_concurrency_exits_2(value: str, bundle: Path) -> None:
    result = CliRunner().invoke(app, ["serve", str(bundle)], env={"WEB_CONCURRENCY": value})
    assert result.exit_code == 2, result.output
    assert f"WEB_CONCURRENCY={value!r} is not 1 or more" in result.output
    assert "Traceback" not in result.output


def test_two_workers_answer_on_one_port(bundle: Path, no_leftover_servers: list[int]) -> None:
    example = load_golden(bundle).examples[1]
    env = {**ROUTES, "WEB_CONCURRENCY": "2"}
    with running_server([*default_command(), str(bundle)], env) as server:
        assert server.pgid is not None
        no_leftover_servers.append(server.pgid)
        deadline = time.monotonic() + 60
        while server.log_path.read_text().count("Started server process") < 2:
            assert server.poll() is None, server.log_tail()
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.05)
        with httpx.Client(base_url=server.base_url) as client:
            wait_healthy(server, client)
            for _ in range(4):
                answer = client.post("/v1/predict", json={"instances": [example.instance]})
                assert answer.json()["predictions"][0]["label"] == example.label
        log = server.log_path.read_text()
    assert log.count("Started server process") == 2, log
    assert "Started parent process" in log
