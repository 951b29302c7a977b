"""Fixtures shared by the train tests."""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from tests.fakes.vertex_fixtures import (  # noqa: F401  (fixtures of test_spot.py)
    pipeline_bucket,
    vertex,
    vertex_services,
)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One intra-op thread: the machine is shared, and subprocesses must agree with the test."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], str]]:
    """A user's project outside the repository, as the working directory.

    Yields a function that writes a module of the given source into the project and returns
    the module's name (unique to the test); `sys.path` and the imported modules are restored.
    """
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setattr(sys, "path", [*sys.path])
    prefix = "user_models_" + re.sub(r"\W", "_", tmp_path.name)
    written: list[str] = []

    def write(source: str) -> str:
        name = f"{prefix}_{len(written)}"
        (root / f"{name}.py").write_text(textwrap.dedent(source))
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)
