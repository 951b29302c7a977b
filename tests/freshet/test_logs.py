from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from freshet.logs import (
    LABELS_KEY,
    choose_format,
    json_logging,
    log_context,
    say,
    setup_logging,
)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_in_cloud_logging_format_with_labels() -> None:
    out = io.StringIO()
    setup_logging(log_format="json", stream=out, pipeline="training")
    with log_context(run_id="training-1", step="train"):
        logging.getLogger("freshet.test").info("epoch %d done", 3, extra={"loss": 0.25})
    [entry] = lines(out)
    assert entry["severity"] == "INFO"
    assert entry["message"] == "epoch 3 done"
    assert str(entry["time"]).endswith("Z")
    assert entry[LABELS_KEY] == {"pipeline": "training", "run_id": "training-1", "step": "train"}
    assert entry["loss"] == 0.25


def test_an_exception_and_its_traceback_are_one_entry() -> None:
    out = io.StringIO()
    setup_logging(log_format="json", stream=out)
    try:
        raise ValueError("bad shard")
    except ValueError:
        logging.getLogger("freshet.components.train").exception("training failed")
    [entry] = lines(out)
    assert entry["severity"] == "ERROR"
    message = str(entry["message"])
    assert message.startswith("training failed\nTraceback (most recent call last):")
    assert "ValueError: bad shard" in message
    assert "ReportedErrorEvent" in str(entry["@type"])


def test_libraries_speak_only_from_warning() -> None:
    out = io.StringIO()
    setup_logging(log_format="json", stream=out)
    logging.getLogger().setLevel(logging.INFO)  # as a kfp.local run does
    logging.getLogger("kfp.local").info("Executing task 'train'")
    logging.getLogger("urllib3").warning("retrying")
    assert [e["message"] for e in lines(out)] == ["retrying"]


def test_setting_up_twice_keeps_one_handler() -> None:
    out = io.StringIO()
    setup_logging(log_format="json", stream=out)
    setup_logging(log_format="json", stream=out)
    logging.getLogger("freshet").info("once")
    assert len(lines(out)) == 1


def test_console_lines_are_readable_with_labels() -> None:
    out = io.StringIO()
    setup_logging(log_format="console", stream=out)
    with log_context(run_id="training-7"):
        logging.getLogger("freshet.test").warning("disk almost full")
    text = out.getvalue()
    assert "WARNING" in text and "disk almost full" in text and "run_id=training-7" in text
    assert not text.lstrip().startswith("{")


def test_format_follows_the_terminal_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("FRESHET_LOG_FORMAT", raising=False)
    assert choose_format(io.StringIO()) == "json"
    assert choose_format(Tty()) == "console"
    monkeypatch.setenv("FRESHET_LOG_FORMAT", "json")
    assert choose_format(Tty()) == "json"


def test_the_cli_edge_logs_json_when_not_on_a_terminal(tmp_path: object) -> None:
    code = (
        "import logging, sys; from freshet.cli import app\n"
        "@app.command('boom')\n"
        "def boom() -> None:\n"
        "    logging.getLogger('freshet.x').error('went wrong', exc_info=ValueError('v'))\n"
        "app(['boom'], standalone_mode=False)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FRESHET_LOG_FORMAT"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    [entry] = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert entry["severity"] == "ERROR"
    assert "ValueError: v" in entry["message"]


def test_say_is_a_plain_line_on_a_terminal_and_a_record_in_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging(log_format="console", stream=io.StringIO())
    assert not json_logging()
    say("x must be positive.", level=logging.ERROR, prefix="error: ")
    assert capsys.readouterr().err == "error: x must be positive.\n"

    out = io.StringIO()
    setup_logging(log_format="json", stream=out)
    assert json_logging()
    say("x must be positive.", level=logging.ERROR, prefix="error: ", exit_code=2)
    [entry] = lines(out)
    assert (entry["severity"], entry["message"], entry["exit_code"]) == (
        "ERROR",
        "x must be positive.",
        2,
    )
    assert entry["logging.googleapis.com/sourceLocation"]["function"] == (
        "test_say_is_a_plain_line_on_a_terminal_and_a_record_in_json"
    )
    assert capsys.readouterr().err == ""


@pytest.fixture
def uvicorn_at_info() -> Iterator[None]:
    """uvicorn's loggers at INFO, as its `log_level="info"` sets them, restored afterwards."""
    names = ("uvicorn.access", "uvicorn.error")
    levels = [logging.getLogger(name).level for name in names]
    for name in names:
        logging.getLogger(name).setLevel(logging.INFO)
    yield
    for name, level in zip(names, levels, strict=True):
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("uvicorn_at_info")
def test_uvicorn_records_pass_at_its_level_and_access_lines_carry_http_request() -> None:
    out = io.StringIO()
    setup_logging(log_format="json", stream=out)
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on %s", "http://127.0.0.1:8080", extra={"color_message": "\x1b[1m..."}
    )
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "10.0.0.7:51234", "POST", "/", "1.1", 400
    )
    running, access = lines(out)
    assert running["message"] == "Uvicorn running on http://127.0.0.1:8080"
    assert "color_message" not in running
    assert access["message"] == '10.0.0.7:51234 - "POST / HTTP/1.1" 400'
    assert access["httpRequest"] == {
        "requestMethod": "POST",
        "requestUrl": "/",
        "status": 400,
        "protocol": "HTTP/1.1",
        "remoteIp": "10.0.0.7",
    }
