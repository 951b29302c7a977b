"""Running the real `freshet` command in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

FRESHET = str(Path(sys.executable).with_name("freshet"))


def freshet(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Runs `freshet ARGS` and returns the finished process (never raises on exit codes)."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [FRESHET, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def summary_of(root: Path, output: str) -> dict[str, Any]:
    """The summary.json of the run whose path the CLI printed last."""
    line = next(line for line in reversed(output.splitlines()) if line.startswith("summary: "))
    path = Path(line.removeprefix("summary: ").strip())
    assert path.is_relative_to(root)
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def steps_by_name(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The summary's steps keyed by name."""
    return {step["name"]: step for step in summary["steps"]}
