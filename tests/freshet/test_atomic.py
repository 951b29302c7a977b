from __future__ import annotations

from pathlib import Path

import pytest

from freshet.atomic import replaced_directory, replaced_file, write_file


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


def test_write_file_replaces_whole_with_readable_permissions(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "summary.json"
    write_file(out, "first")
    write_file(out, b"second")
    assert out.read_text() == "second"
    assert out.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in out.parent.iterdir()] == ["summary.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "template.yaml"
    out.write_text("old")
    with pytest.raises(OSError, match="download broke"), replaced_file(out) as part:
        part.write_text("half")
        assert out.read_text() == "old"  # readers still see the old one meanwhile
        raise OSError("download broke")
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["template.yaml"]
