"""Redaction: every value resolved from a secret is replaced by its reference in what is shown.

`register` remembers a value and its reference (the resolvers call it); `scrub` replaces
registered values in a text; `install` adds `RedactingFilter` to the root logger's handlers,
so a record that would show a value (in its message or its traceback) shows the reference.
"""

from __future__ import annotations

import logging
import threading
import traceback

_lock = threading.Lock()
_values: dict[str, str] = {}
# Shorter values could match ordinary text (and would say nothing secret).
MIN_LENGTH = 4


def register(value: str, reference: str) -> None:
    """Remembers a resolved secret value, shown from now on as `<reference>`."""
    if len(value) < MIN_LENGTH:
        return
    with _lock:
        _values[value] = reference


def forget_all() -> None:
    """Forgets every registered value (tests)."""
    with _lock:
        _values.clear()


def scrub(text: str) -> str:
    """`text` with every registered value replaced by `<reference>` (longest value first)."""
    with _lock:
        pairs = sorted(_values.items(), key=lambda item: len(item[0]), reverse=True)
    for value, reference in pairs:
        if value in text:
            text = text.replace(value, f"<{reference}>")
    return text


def contains_secret(text: str) -> bool:
    """Whether `text` holds a registered value."""
    with _lock:
        return any(value in text for value in _values)


class RedactingFilter(logging.Filter):
    """Rewrites a record whose message or traceback holds a registered value."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrubs the record in place; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001  (a malformed record is the handler's to report)
            return True
        if record.exc_info and record.exc_info[0] is not None:
            rendered = "".join(traceback.format_exception(*record.exc_info))
            if contains_secret(rendered):
                # The traceback becomes part of the (scrubbed) message.
                message = f"{message}\n{rendered.rstrip()}"
                record.exc_info = None
                record.exc_text = None
        if contains_secret(message):
            record.msg = scrub(message)
            record.args = None
        return True


def install() -> None:
    """Adds the filter to every handler of the root logger that lacks it (idempotent)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
