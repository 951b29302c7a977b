from __future__ import annotations

import subprocess
from pathlib import Path

from freshet.git import head_commit


def test_head_commit_of_a_checkout_and_outside_one(tmp_path: Path) -> None:
    assert head_commit(tmp_path) is None
    repo = tmp_path / "repo"
    repo.mkdir()
    env = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "f").write_text("x")
    subprocess.run(["git", "-C", str(repo), "add", "f"], check=True)
    subprocess.run(["git", "-C", str(repo), *env, "commit", "-qm", "m"], check=True)
    expected = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert head_commit(repo) == expected
