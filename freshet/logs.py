"""The one logging setup of freshet: call `setup_logging` once at each edge.

Edges are the CLI callback, the entry of each component and the trigger workers. Records go
to stderr as JSON lines in Cloud Logging's structured format (`severity`, `message`, `time`,
`logging.googleapis.com/labels`) when stderr is not a terminal or `FRESHET_LOG_FORMAT=json`,
and as readable colored lines (rich) on a terminal. An exception and its traceback make one
entry. Labels (pipeline, run id, step) come from `setup_logging` and from `log_context`.

What a command says to a person (an error, a note) goes through `say`: a plain line on a
terminal, a record when the handler writes JSON, so JSON output holds nothing but records.
uvicorn's loggers pass at the level the server was given (run it with `log_config=None`); its
access records carry Cloud Logging's `httpRequest`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TextIO

if TYPE_CHECKING:
    from rich.console import Console

LABELS_KEY = "logging.googleapis.com/labels"
_LABELS: ContextVar[Mapping[str, str]] = ContextVar(
    "freshet_log_labels", default=MappingProxyType({})
)
# Our own loggers speak at the chosen level; libraries (kfp, google, urllib3) only from WARNING.
_OWN = ("freshet", "components", "pipelines", "__main__")
# Servers whose level the caller sets (uvicorn's `log_level`) pass at that level too.
_PASSED = (*_OWN, "uvicorn")
_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}
_HANDLER_NAME = "freshet"
_ERROR_EVENT = "type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent"
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_NOT_FIELDS = {"labels", "color_message"}  # uvicorn's copy of the message with ANSI colors

LogFormat = Literal["auto", "json", "console"]


def current_labels() -> dict[str, str]:
    """The labels every record gets right now (pipeline, run_id, step...)."""
    return dict(_LABELS.get())


@contextlib.contextmanager
def log_context(**labels: str | None) -> Iterator[None]:
    """Adds labels (e.g. `run_id=...`) to every record logged inside the block."""
    merged = {**_LABELS.get(), **{k: str(v) for k, v in labels.items() if v}}
    token = _LABELS.set(merged)
    try:
        yield
    finally:
        _LABELS.reset(token)


class CloudLoggingFormatter(logging.Formatter):
    """One JSON object per line, as Cloud Logging's agent parses structured logs."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single JSON line; a traceback stays inside `message`."""
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{''.join(traceback.format_exception(*record.exc_info))}"
        elif record.stack_info:
            message = f"{message}\n{record.stack_info}"
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelno, "DEFAULT"),
            "message": message.rstrip("\n"),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "logger": record.name,
            "logging.googleapis.com/sourceLocation": {
                "file": record.pathname,
                "line": str(record.lineno),
                "function": record.funcName,
            },
        }
        if record.exc_info:
            # Error Reporting groups entries of this type by their stack trace.
            entry["@type"] = _ERROR_EVENT
        labels = {**_LABELS.get(), **getattr(record, "labels", {})}
        if labels:
            entry[LABELS_KEY] = {k: str(v) for k, v in labels.items()}
        if record.name == "uvicorn.access":
            entry.update(_http_request(record.args))
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in _NOT_FIELDS and not key.startswith("_"):
                entry[key] = value if _is_json(value) else repr(value)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _http_request(args: Any) -> dict[str, Any]:
    """Cloud Logging's `httpRequest` from uvicorn's access arguments, when they are its five."""
    if not (isinstance(args, tuple) and len(args) == 5):
        return {}
    client, method, path, version, status = args
    return {
        "httpRequest": {
            "requestMethod": str(method),
            "requestUrl": str(path),
            "status": int(status) if str(status).isdigit() else str(status),
            "protocol": f"HTTP/{version}",
            "remoteIp": str(client).rsplit(":", 1)[0],
        }
    }


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


class _OwnOrWarning(logging.Filter):
    """Passes our records (and uvicorn's) at the handler's level, other libraries' from WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.startswith(_PASSED)


class _ConsoleLabels(logging.Filter):
    """Appends the labels to the message shown on a terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        labels = {**_LABELS.get(), **getattr(record, "labels", {})}
        record.label_text = " ".join(f"{k}={v}" for k, v in labels.items())
        return True


def choose_format(stream: TextIO, requested: str | None = None) -> Literal["json", "console"]:
    """JSON unless the stream is a terminal; `FRESHET_LOG_FORMAT` (json|console) overrides."""
    wanted = (requested or os.environ.get("FRESHET_LOG_FORMAT") or "auto").lower()
    if wanted in ("json", "console"):
        return wanted  # type: ignore[return-value]
    return "console" if stream.isatty() else "json"


def json_handler() -> logging.Handler | None:
    """The handler `setup_logging` installed when it writes JSON records, else None."""
    for handler in logging.getLogger().handlers:
        if handler.get_name() == _HANDLER_NAME and isinstance(
            handler.formatter, CloudLoggingFormatter
        ):
            return handler
    return None


def json_logging() -> bool:
    """Whether the freshet handler installed by `setup_logging` writes JSON records."""
    return json_handler() is not None


def say(
    message: str,
    *,
    level: int = logging.INFO,
    prefix: str = "",
    console: Console | None = None,
    **fields: Any,
) -> None:
    """Tells the person at the terminal one line, or logs it as a record under JSON logging.

    Args:
        message: The sentence.
        level: The record's level under JSON logging (ERROR for a failed command).
        prefix: Put before the sentence on a terminal ("error: ", "note: ").
        console: Where the plain line goes [default: stderr].
        **fields: Extra fields of the record (e.g. `event="note"`).
    """
    if json_logging():
        logging.getLogger("freshet.cli").log(level, message, extra=fields, stacklevel=2)
    elif console is not None:
        console.print(f"{prefix}{message}", highlight=False, markup=False, soft_wrap=True)
    else:
        print(f"{prefix}{message}", file=sys.stderr, flush=True)


def setup_logging(
    *,
    level: int | str | None = None,
    log_format: str | None = None,
    stream: TextIO | None = None,
    **labels: str | None,
) -> logging.Handler:
    """Installs the freshet handler on the root logger, replacing one installed before.

    Safe to call again (e.g. the CLI callback, then a worker): the previous freshet handler
    is removed, handlers others added (pytest's, a run's log capture) are left alone.

    Args:
        level: Level of freshet's own loggers [default: `FRESHET_LOG_LEVEL` or INFO].
        log_format: "json", "console" or "auto" [default: `FRESHET_LOG_FORMAT` or auto].
        stream: Where records go [default: stderr].
        **labels: Labels on every record from now on (pipeline, run_id, step).

    Returns:
        The installed handler.
    """
    stream = stream or sys.stderr
    chosen = choose_format(stream, log_format)
    handler: logging.Handler
    if chosen == "json":
        handler = logging.StreamHandler(stream)
        handler.setFormatter(CloudLoggingFormatter())
    else:
        from rich.console import Console
        from rich.logging import RichHandler

        handler = RichHandler(
            console=Console(file=stream, stderr=stream is sys.stderr),
            show_path=False,
            rich_tracebacks=True,
            markup=False,
            log_time_format="%H:%M:%S",
        )
        handler.setFormatter(_LabelFormatter())
        handler.addFilter(_ConsoleLabels())
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(_OwnOrWarning())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    resolved = level or os.environ.get("FRESHET_LOG_LEVEL") or logging.INFO
    for name in _OWN:
        logging.getLogger(name).setLevel(resolved)
    if root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)
    if labels:
        _LABELS.set({**_LABELS.get(), **{k: str(v) for k, v in labels.items() if v}})
    return handler


class _LabelFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        label_text = getattr(record, "label_text", "")
        return f"{text}  ({label_text})" if label_text else text
