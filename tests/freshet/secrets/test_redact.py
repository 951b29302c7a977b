"""Redaction: a resolved value shows as its reference in log records and scrubbed text."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from freshet.logs import setup_logging
from freshet.secrets import redact, resolve, scrub

VALUE = "https://hooks.example.com/services/T9/B9/very-secret"


@pytest.fixture
def json_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """freshet's JSON logging into a buffer, removed afterwards."""
    stream = io.StringIO()
    handler = setup_logging(log_format="json", stream=stream)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)


def test_records_and_tracebacks_show_the_reference(
    json_log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_TO_REDACT", VALUE)
    assert resolve("env://HOOK_TO_REDACT") == VALUE
    log = logging.getLogger("freshet.test")
    log.warning("posting to %s failed", VALUE)
    try:
        raise RuntimeError(f"could not reach {VALUE}")
    except RuntimeError:
        log.exception("delivery failed")

    text = json_log.getvalue()
    assert VALUE not in text
    assert text.count("<env://HOOK_TO_REDACT>") == 2
    assert "RuntimeError: could not reach <env://HOOK_TO_REDACT>" in text


def test_scrub_replaces_the_longest_value_first() -> None:
    redact.register("abcd-token", "env://SHORT")
    redact.register("abcd-token-and-more", "env://LONG")
    assert scrub("x abcd-token-and-more y abcd-token") == "x <env://LONG> y <env://SHORT>"
    assert scrub("abc") == "abc"
    redact.register("abc", "env://TOO_SHORT")  # too short to be told from ordinary text
    assert scrub("abc") == "abc"
