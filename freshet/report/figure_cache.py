"""PNG figures kept on disk by what they show, so a report of the same evaluation skips matplotlib.

A warm local run usually serves its evaluation from kfp.local's cache: its confusion matrix and
per-class bars are those of an earlier run, and drawing them again (importing matplotlib ~1 s,
drawing ~0.5 s) was most of the report's cost. Each figure's data URI is stored under a key made
of the drawing function's name, its inputs and `FIGURES_VERSION`; an entry that cannot be read
or is not a whole PNG is drawn again and replaced.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from freshet.atomic import write_file

log = logging.getLogger(__name__)

# Bump when a drawing function changes what it draws: old entries then stop matching.
FIGURES_VERSION = 1
# Entries kept; the least recently used go first (an entry is ~20-60 KB).
MAX_ENTRIES = 200

_PREFIX = "data:image/png;base64,"
_PNG_START, _PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"
_SUFFIX = ".png.b64"


def _canonical(value: Any) -> Any:
    """Inputs as JSON-able values in which a dict's order survives `sort_keys`.

    The figures draw in dict order (classes, categories), so two dicts with the same items in
    another order are different figures: each dict becomes its list of [key, value] pairs.
    """
    if isinstance(value, dict):
        return [[str(k), _canonical(v)] for k, v in value.items()]
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def figure_key(name: str, inputs: dict[str, Any]) -> str:
    """The sha256 (hex) of a figure: its function's name, its inputs and `FIGURES_VERSION`.

    Keyword arguments are sorted (JSON, sorted keys); dicts inside them keep their order.
    """
    arguments = {str(k): _canonical(v) for k, v in inputs.items()}
    payload = {"figure": name, "inputs": arguments, "version": FIGURES_VERSION}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _whole_png_uri(text: str) -> bool:
    if not text.startswith(_PREFIX):
        return False
    try:
        data = base64.b64decode(text[len(_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return False
    return data.startswith(_PNG_START) and data.endswith(_PNG_END)


class FigureCache:
    """Draws figures, or reads them from `folder` when one with the same inputs was drawn.

    Args:
        folder: Where entries live (created on the first write); None draws every time.
    """

    def __init__(self, folder: str | Path | None) -> None:
        self.folder = Path(folder) if folder is not None else None

    def figure(self, draw: Callable[..., str], **inputs: Any) -> str:
        """The data URI `draw(**inputs)` gives, from the cache when it holds a whole one.

        Args:
            draw: A function of `freshet.report.figures` returning a PNG data URI.
            **inputs: Its keyword arguments (JSON-able).

        Returns:
            A `data:image/png;base64,...` URI.
        """
        if self.folder is None:
            return draw(**inputs)
        path = self.folder / (figure_key(draw.__name__, inputs) + _SUFFIX)
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            text = ""
        if _whole_png_uri(text):
            with contextlib.suppress(OSError):
                os.utime(path)  # recently used: pruned last
            return text
        uri = draw(**inputs)
        try:
            write_file(path, uri)
            _prune(self.folder)
        except OSError:  # a cache that cannot be written costs time, never the report
            log.warning("Figure cache %s not written.", path, exc_info=True)
        return uri


def _prune(folder: Path) -> None:
    """Removes the least recently used entries beyond `MAX_ENTRIES`."""
    entries = sorted((entry.stat().st_mtime, entry) for entry in folder.glob("*" + _SUFFIX))
    for _, entry in entries[: max(0, len(entries) - MAX_ENTRIES)]:
        entry.unlink(missing_ok=True)
