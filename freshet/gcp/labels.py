"""Labels on Vertex runs: pipeline, data version, git commit, plus those from settings."""

from __future__ import annotations

import re

from freshet.git import head_commit

_UNSAFE = re.compile(r"[^a-z0-9_-]+")


def label_value(text: str) -> str:
    """`text` as a valid label value: lowercase letters, digits, '_' and '-', <= 63 chars."""
    return _UNSAFE.sub("-", text.lower()).strip("-")[:63]


def git_commit(cwd: str | None = None) -> str | None:
    """The short commit of HEAD in `cwd` (12 digits, a valid label), or None outside git."""
    commit = head_commit(cwd)
    return commit[:12] if commit else None


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
