from __future__ import annotations

from pathlib import Path

import pytest

from freshet.atomic import replaced_directory


def test_success_replaces_the_old_directory_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with replaced_directory(out) as staging:
        (staging / "new.txt").write_text("new")
        assert (out / "old.txt").exists()  # readers still see the old one meanwhile
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_failure_leaves_the_old_directory_and_no_staging(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), replaced_directory(out) as staging:
        (staging / "half.txt").write_text("half")
        raise RuntimeError("boom")
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_replaces_a_file_and_creates_parents(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    out.parent.mkdir()
    out.write_text("was a file")
    with replaced_directory(out) as staging:
        (staging / "x").write_text("x")
    assert (out / "x").read_text() == "x"
