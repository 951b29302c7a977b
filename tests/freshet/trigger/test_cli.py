"""`freshet trigger serve` under JSON logging: uvicorn's lines are records like freshet's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import httpx

from tests.fakes.gcs import free_port, wait_for_port
from tests.integration.helpers import FRESHET


def test_the_push_endpoint_logs_only_json_records_access_lines_included(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "trigger.log"
    command = [FRESHET, "trigger", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--root", str(tmp_path / "root"), "--record", str(tmp_path / "ledger.sqlite")]
    env = {**os.environ, "FRESHET_LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:
        server = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port(port, timeout=60)
        answer = httpx.post(f"http://127.0.0.1:{port}/", content=b"not a push envelope")
        assert answer.status_code == 400
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    text = log.read_text()
    assert "INFO:" not in text, text
    records = [json.loads(line) for line in text.splitlines()]  # every line is a record
    assert all(r["severity"] and r["message"] for r in records)
    assert any(r["message"].startswith("Uvicorn running on") for r in records)
    [access] = [r for r in records if r["logger"] == "uvicorn.access"]
    assert access["httpRequest"]["status"] == 400
    assert access["httpRequest"]["requestMethod"] == "POST"
    [refused] = [r for r in records if r["severity"] == "ERROR"]
    assert refused["message"].startswith("The request is not a Pub/Sub push envelope")
