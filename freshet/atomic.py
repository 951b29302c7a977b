"""Outputs that appear whole or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replaced_directory(out: str | Path, prefix: str = ".staging-") -> Iterator[Path]:
    """Yields a staging directory beside `out` that replaces `out` when the block succeeds.

    On an exception the staging directory is removed and `out` is left as it was, so a
    reader (or a cache) never sees a half-written output.

    Args:
        out: The directory to create or replace.
        prefix: Name prefix of the hidden staging directory.

    Yields:
        The staging directory to write into.
    """
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    try:
        yield staging
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
