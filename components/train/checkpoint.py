"""Checkpoints that are never half-written: write to a temporary file, then rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def save_atomic(state: dict[str, Any], path: str | Path) -> None:
    """Saves a torch checkpoint so that `path` holds either the old or the new one, whole.

    Args:
        state: The objects to save (tensors, plain Python values).
        path: Destination file.
    """
    import torch

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: str | Path) -> dict[str, Any] | None:
    """Loads a checkpoint, or returns None when there is none."""
    import torch

    target = Path(path)
    if not target.exists():
        return None
    state: dict[str, Any] = torch.load(target, map_location="cpu", weights_only=False)
    return state
