"""Reuse of a preflight's result while nothing it checked has changed, as a cached step is.

A preflight opts in with `@cached_on(identity)`: `identity(inputs, context)` names what its
result depends on beyond its inputs and context (the data's version for one that reads the
table, the source of a project's model factory), or returns None when it cannot tell. The
key is the SHA-256 of the reference, the inputs, the context it is called with, that identity,
freshet's version and the source of the preflight's module, so a new dataset, another setting,
an edited check or a freshet upgrade each call it again. Only results are kept: a preflight
that refused the input is asked again next time. A local run keeps them under
`<root>/cache/preflight/`; `--no-cache` asks every preflight again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from freshet.atomic import write_file
from freshet.references import load_reference

# How a preflight is called (freshet.preflight.PreflightCall): (task, reference, inputs, context).
Call = Callable[[str, str, dict[str, Any], dict[str, Any]], Any]
Identity = Callable[[dict[str, Any], dict[str, Any]], str | None]
F = TypeVar("F", bound=Callable[..., Any])
_ATTRIBUTE = "freshet_cache_identity"


def cached_on(identity: Identity) -> Callable[[F], F]:
    """Marks a preflight whose result may be reused while its key stays the same.

    Args:
        identity: `(inputs, context) -> str | None`: what the result depends on beyond them
            (None: do not reuse this time).
    """

    def mark(check: F) -> F:
        setattr(check, _ATTRIBUTE, identity)
        return check

    return mark


def inputs_only(inputs: dict[str, Any], context: dict[str, Any]) -> str:
    """The identity of a preflight whose result depends on its inputs and context alone."""
    return "inputs only"


def _source_digest(check: Any) -> str:
    module = sys.modules.get(getattr(check, "__module__", ""), None)
    path = getattr(module, "__file__", None)
    if not path:
        return ""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


class PreflightCache:
    """Results of preflights that opted in, one JSON file per key in a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def key(self, reference: str, inputs: dict[str, Any], context: dict[str, Any]) -> str | None:
        """The key of one call, or None when the preflight has not opted in or cannot tell."""
        from freshet import __version__

        try:
            check = load_reference(reference, "Preflight")
            identity = getattr(check, _ATTRIBUTE, None)
            named = identity(dict(inputs), dict(context)) if callable(identity) else None
        except Exception:  # the call itself will say what is wrong
            return None
        if named is None:
            return None
        payload = {
            "reference": reference,
            "inputs": inputs,
            "context": context,
            "identity": named,
            "freshet": __version__,
            "source": _source_digest(check),
        }
        try:
            text = json.dumps(payload, sort_keys=True)
        except (TypeError, ValueError):
            return None
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        """The result kept under `key`, or None (missing or unreadable: called again)."""
        try:
            value = json.loads((self.folder / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def reusing(self, call: Call) -> Call:
        """`call`, answered from here when a result is kept; what it returns is kept.

        Only a dict or None is kept (the caller refuses anything else), never a raise.
        """

        def ask(task: str, reference: str, inputs: dict[str, Any], context: dict[str, Any]) -> Any:
            key = self.key(reference, inputs, context)
            kept = self.get(key) if key is not None else None
            if kept is not None:
                return kept
            returned = call(task, reference, inputs, context)
            if key is not None and (returned is None or isinstance(returned, dict)):
                self.put(key, returned or {})
            return returned

        return ask

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Keeps a result (one that is not plain JSON is not kept)."""
        with contextlib.suppress(TypeError, ValueError, OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            write_file(self.folder / f"{key}.json", json.dumps(value, sort_keys=True))
