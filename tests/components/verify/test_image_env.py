from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from freshet.components.verify.image_env import ImageImports, importable_modules, requirement_names

REPO = Path(__file__).resolve().parents[3]


def test_requirement_names() -> None:
    text = "# header\nfastapi==0.163.2\nuvicorn[standard]==0.54.0  # comment\n\n"
    assert requirement_names(text) == ["fastapi", "uvicorn"]


def test_importable_modules_include_packages_and_parents() -> None:
    names = importable_modules(["typer", "protobuf", "no-such-dist"])
    assert {"typer", "typer.main", "google", "google.protobuf", "google.protobuf.message"} <= names
    assert "torch" not in names and "google.cloud" not in names


def test_the_hook_refuses_what_the_image_lacks() -> None:
    hook = ImageImports(importable_modules(["typer"]))
    assert hook.find_spec("typer.main", None) is None
    assert hook.find_spec("json", None) is None
    assert hook.find_spec("freshet.serving.app", None) is None
    assert hook.find_spec("_sysconfigdata__linux_x86_64-linux-gnu", None) is None
    for name in ("torch", "freshet.components.fetch", "google.cloud.storage", "yaml_missing"):
        with pytest.raises(ModuleNotFoundError, match="not in the serving image"):
            hook.find_spec(name, None)


def test_serving_without_a_pinned_library_fails_at_start(bundle: Path, tmp_path: Path) -> None:
    pinned = (bundle / "requirements.txt").read_text().splitlines()
    short = tmp_path / "requirements.txt"
    short.write_text("\n".join(line for line in pinned if not line.startswith("onnxruntime")))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "freshet.components.verify.image_env",
            str(short),
            "serve",
            str(bundle),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "No module named 'onnxruntime' (not in the serving image's requirements)" in (
        done.stderr + done.stdout
    )
