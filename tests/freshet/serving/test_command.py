from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from freshet.cli import app
from freshet.components.verify.server import (
    ServerProcess,
    default_command,
    group_alive,
    running_server,
)
from freshet.serving.signature import load_golden

runner = CliRunner()
ROUTES = {"AIP_HEALTH_ROUTE": "/healthz", "AIP_PREDICT_ROUTE": "/v1/predict"}


def wait_healthy(server: ServerProcess, client: httpx.Client) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert server.poll() is None, server.log_tail()
        assert time.monotonic() < deadline, "never healthy"
        try:
            if client.get(ROUTES["AIP_HEALTH_ROUTE"]).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)


def test_serves_a_bundle_with_the_aip_variables(
    bundle: Path, no_leftover_servers: list[int]
) -> None:
    example = load_golden(bundle).examples[3]
    with running_server([*default_command(), str(bundle)], ROUTES) as server:
        assert server.pgid is not None
        no_leftover_servers.append(server.pgid)
        with httpx.Client(base_url=server.base_url) as client:
            wait_healthy(server, client)
            answer = client.post("/v1/predict", json={"instances": [example.instance]})
            assert answer.json()["predictions"][0]["label"] == example.label
            assert (
                client.post("/predict", json={"instances": [example.instance]}).status_code == 404
            )
    assert not group_alive(server.pgid)


def test_its_logs_are_json_records_one_per_request(
    bundle: Path, no_leftover_servers: list[int]
) -> None:
    example = load_golden(bundle).examples[0]
    env = {**ROUTES, "FRESHET_LOG_FORMAT": "json"}
    with running_server([*default_command(), str(bundle)], env) as server:
        assert server.pgid is not None
        no_leftover_servers.append(server.pgid)
        with httpx.Client(base_url=server.base_url) as client:
            wait_healthy(server, client)
            assert client.post("/v1/predict", json={"instances": [example.instance]}).is_success
        deadline = time.monotonic() + 10
        while '"/v1/predict"' not in server.log_path.read_text():
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.05)
        records = [json.loads(line) for line in server.log_path.read_text().splitlines()]
    assert all(r["severity"] and r["message"] for r in records)
    assert any(r["message"].startswith("Uvicorn running on") for r in records)
    [predict] = [r for r in records if r.get("httpRequest", {}).get("requestUrl") == "/v1/predict"]
    assert predict["logger"] == "uvicorn.access"
    assert predict["httpRequest"]["requestMethod"] == "POST"
    assert predict["httpRequest"]["status"] == 200


def _broken(bundle: Path, tmp_path: Path, name: str, content: bytes) -> Path:
    out = tmp_path / "broken"
    shutil.copytree(bundle, out)
    (out / name).write_bytes(content)
    return out


def _signature(features: list[dict[str, str]]) -> bytes:
    return json.dumps(
        {"task": "classification", "features": features, "labels": [str(i) for i in range(10)]}
    ).encode()


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("missing", "does not exist"),
        ("file", "is not a directory"),
        ("empty", "it has no model.onnx"),
        ("corrupt model", "cannot be loaded"),
        ("bad signature", "signature.json' is not valid"),
        ("wrong width", "input 'numeric' takes 64 columns; the signature lists 2"),
        ("missing input", "but its signature needs ['numeric', 'categorical']"),
        ("old signature", "format_version: Input should be 2"),
    ],
)
def test_bad_bundles_exit_2_with_one_sentence(
    case: str, words: str, bundle: Path, tmp_path: Path
) -> None:
    target = {
        "missing": lambda: tmp_path / "nope",
        "file": lambda: _broken(bundle, tmp_path, "x", b"") / "x",
        "empty": lambda: tmp_path,
        "corrupt model": lambda: _broken(bundle, tmp_path, "model.onnx", b"garbage"),
        "bad signature": lambda: _broken(bundle, tmp_path, "signature.json", b"{"),
        "wrong width": lambda: _broken(
            bundle,
            tmp_path,
            "signature.json",
            _signature([{"name": "a"}, {"name": "b"}]),
        ),
        "missing input": lambda: _broken(
            bundle,
            tmp_path,
            "signature.json",
            _signature([{"name": "a"}, {"name": "b", "kind": "categorical"}]),
        ),
        "old signature": lambda: _broken(
            bundle,
            tmp_path,
            "signature.json",
            json.dumps(
                {"format_version": 1, "features": [{"name": "a"}], "labels": ["x", "y"]}
            ).encode(),
        ),
    }[case]()
    result = runner.invoke(app, ["serve", str(target)])
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"AIP_HTTP_PORT": "http"}, "AIP_HTTP_PORT='http'"),
        ({"AIP_HTTP_PORT": "70000"}, "AIP_HTTP_PORT='70000'"),
        ({"AIP_PREDICT_ROUTE": "predict"}, "AIP_PREDICT_ROUTE='predict'"),
    ],
)
def test_bad_serving_environment_exits_2(env: dict[str, str], words: str, bundle: Path) -> None:
    result = runner.invoke(app, ["serve", str(bundle)], env=env)
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert "Traceback" not in result.output


def test_serving_imports_no_training_libraries(mixed_bundle: Path) -> None:
    """Loading a bundle and answering a request of raw rows needs none of them."""
    import subprocess
    import sys

    code = f"""
import sys
from freshet.cli import app as cli
from freshet.serving import app, command, model, parse, signature
served = model.load_bundle({str(mixed_bundle)!r})
feeds, _ = parse.RequestParser(served.signature).parse(
    b'{{"instances": [[null, 40, true, "pro", null], [50.5, null, null, "new", "north"]]}}'
)
print(app.predictions(served.signature, served.run(feeds))[1]["label"])
heavy = ("torch", "sklearn", "pandas", "pyarrow", "skl2onnx", "onnx")
print(sorted(name for name in heavy if name in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    label, imported = done.stdout.strip().splitlines()
    assert label in ("no", "yes")
    assert imported == "[]"
