"""A fixed run id starts at most one local run, whatever state its folder is in."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from freshet.config import load_settings
from freshet.runners import RunRequest, submit


@pytest.mark.parametrize("marker", ["started", "summary.json"])
def test_existing_run_folder_means_already_exists(tmp_path: Path, marker: str) -> None:
    settings = load_settings(root=tmp_path / "root", build_dir=tmp_path / "build")
    run_dir = tmp_path / "root" / "runs" / "training-fixed"
    run_dir.mkdir(parents=True)
    (run_dir / marker).write_text("x")
    quiet = Console(quiet=True)
    result = submit(RunRequest(run_id="training-fixed"), settings, console=quiet)
    assert result.status == "already_exists"
    assert sorted(p.name for p in run_dir.iterdir()) == [marker]
    assert not (tmp_path / "root" / "artifacts").exists()
