"""The Dockerfiles cannot be built here (no Docker engine): check them by construction.

Parsed with the `dockerfile` package (BuildKit's own Go parser), each must pin its base image
by exact tag or digest, build in stages, run as a non-root user, copy only sources that
exist in its build context and are not excluded by its .dockerignore, and start the entry
point the tests exercise.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import dockerfile
import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTAINERS = ROOT / "containers"
# Build contexts: the repository root, except the serving image, whose context is staged
# by the package step (bundle/ + the freshet package).
CONTEXT_EXTRA = {"serving": {"bundle/requirements.txt", "bundle"}}
IMAGES = ["components", "trainer", "serving"]


def parse(name: str) -> list[Any]:
    return list(dockerfile.parse_file(str(CONTAINERS / f"{name}.Dockerfile")))


def args_of(commands: list[Any]) -> dict[str, str]:
    found = {}
    for command in commands:
        if command.cmd == "ARG" and "=" in command.value[0]:
            key, value = command.value[0].split("=", 1)
            found[key] = value
    return found


@pytest.mark.parametrize("name", IMAGES)
def test_base_images_are_pinned(name: str) -> None:
    commands = parse(name)
    defaults = args_of(commands)
    stages = set()
    for command in commands:
        if command.cmd != "FROM":
            continue
        image = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], command.value[0])
        if len(command.value) == 3:
            stages.add(command.value[2])
        if image in stages:
            continue
        assert "@sha256:" in image or re.search(r":\d+\.\d+\.\d+[\w.-]*$", image), image
    assert len([c for c in commands if c.cmd == "FROM"]) >= 2, "multi-stage build"


@pytest.mark.parametrize("name", IMAGES)
def test_final_stage_runs_as_non_root(name: str) -> None:
    commands = parse(name)
    last_from = max(i for i, c in enumerate(commands) if c.cmd == "FROM")
    users = [c.value[0] for c in commands[last_from:] if c.cmd == "USER"]
    assert users and users[-1] not in ("root", "0")


def ignore_patterns(name: str) -> list[str]:
    path = CONTAINERS / f"{name}.Dockerfile.dockerignore"
    assert path.exists(), f"{path.name} is missing"
    return [
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def excluded(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; '!' re-includes."""
    state = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern.lstrip("!").rstrip("/")
        if body == "*" or path == body or path.startswith(body + "/"):
            state = not negate
    return state


@pytest.mark.parametrize("name", IMAGES)
def test_copy_sources_exist_and_are_not_ignored(name: str) -> None:
    patterns = ignore_patterns(name)
    for command in parse(name):
        if command.cmd not in ("COPY", "ADD") or any(f.startswith("--from") for f in command.flags):
            continue
        for source in command.value[:-1]:
            if source in CONTEXT_EXTRA.get(name, set()):
                continue
            assert (ROOT / source).exists(), f"{name}: COPY source {source} does not exist"
            assert not excluded(source, patterns), f"{name}: {source} is in .dockerignore"


def test_serving_image_has_no_torch_and_runs_freshet_serve() -> None:
    commands = parse("serving")
    text = " ".join(" ".join(c.value) for c in commands if c.cmd == "RUN")
    assert "torch" not in text.replace('"import torch"', "")
    cmd = next(c for c in reversed(commands) if c.cmd == "CMD")
    assert list(cmd.value)[:2] == ["freshet", "serve"]


def test_serve_entry_point_exists_in_the_cli() -> None:
    from typer.main import get_command

    from freshet.cli import app

    assert "serve" in get_command(app).commands  # type: ignore[attr-defined]


def test_component_images_carry_what_the_compiled_yaml_runs() -> None:
    from freshet.compile import compile_pipeline
    from freshet.config import load_settings

    spec = compile_pipeline("training", load_settings(), ROOT / "build" / "test-containers")
    text = spec.read_text()
    assert "python3 -m kfp.dsl.executor_main" in text
    assert "pip install" not in text  # nothing is installed at step start
    for name in ("components", "trainer"):
        runs = " ".join(" ".join(c.value) for c in parse(name) if c.cmd == "RUN")
        assert "pip install ." in runs and "torch==2.13.0" in runs
    pins = shlex.split(next(c for c in parse("trainer") if "torch" in " ".join(c.value)).value[0])
    assert "torch==2.13.0" in pins
