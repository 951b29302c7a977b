"""The commit the running code or a working directory is at (for labels and build records)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def head_commit(where: str | Path | None = None) -> str | None:
    """The full commit hash of HEAD in `where` (default: the current directory).

    Returns:
        40 hex digits, or None outside a git checkout or without git.
    """
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None
