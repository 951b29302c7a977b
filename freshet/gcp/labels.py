"""Labels on Vertex runs: pipeline, data version, git commit, plus those from settings."""

from __future__ import annotations

import re
import subprocess

_UNSAFE = re.compile(r"[^a-z0-9_-]+")


def label_value(text: str) -> str:
    """`text` as a valid label value: lowercase letters, digits, '_' and '-', <= 63 chars."""
    return _UNSAFE.sub("-", text.lower()).strip("-")[:63]


def git_commit(cwd: str | None = None) -> str | None:
    """The short commit of HEAD in `cwd`, or None outside a git checkout."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def run_labels(
    base: dict[str, str],
    pipeline: str,
    data_version: str | None,
    commit: str | None,
    reason: str | None = None,
) -> dict[str, str]:
    """The labels of one run: `base` (from settings) overlaid with what identifies the run.

    Args:
        base: Team-wide labels from settings (already validated).
        pipeline: Pipeline name.
        data_version: Version of the data, when known before the run starts.
        commit: Git commit the template was built from, when known.
        reason: Why the run started (manual, schedule, data update).

    Returns:
        Labels valid for Vertex AI (empty values are left out).
    """
    labels = dict(base)
    derived = {
        "freshet-pipeline": pipeline,
        "freshet-data-version": data_version or "",
        "freshet-git-commit": commit or "",
        "freshet-reason": reason or "",
    }
    for key, value in derived.items():
        clean = label_value(value)
        if clean:
            labels[key] = clean
    return labels
