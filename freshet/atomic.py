"""Outputs that appear whole or not at all: the one atomic write of freshet.

A directory goes through `replaced_directory`, a file through `replaced_file` (or
`write_file` for bytes or text in hand): written beside the target, renamed over it.
"""

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


@contextmanager
def replaced_file(out: str | Path, mode: int = 0o644) -> Iterator[Path]:
    """Yields a hidden temporary path beside `out` that is renamed over `out` on success.

    Whatever writes the file (our code, a library's download) writes the yielded path; when
    the block succeeds the file is flushed to disk and renamed, so a reader, a cache or a
    resumed job sees the old file or the whole new one, even after a crash or preemption.
    On an exception the temporary file is removed and `out` is left as it was.

    Args:
        out: The file to create or replace (its folder is created).
        mode: Permissions of the new file (temporary files start private).

    Yields:
        The temporary path to write.
    """
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    part = Path(name)
    try:
        yield part
        with part.open("rb+") as written:
            os.fsync(written.fileno())
        part.chmod(mode)
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def write_file(out: str | Path, data: bytes | str, mode: int = 0o644) -> Path:
    """Writes `data` (text as UTF-8) to `out` whole or not at all (see `replaced_file`).

    Returns:
        `out` as a Path.
    """
    with replaced_file(out, mode) as part:
        part.write_bytes(data.encode() if isinstance(data, str) else data)
    return Path(out)
