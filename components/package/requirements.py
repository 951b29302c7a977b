"""The serving image's requirements: what `freshet serve` imports, pinned with its closure.

Versions come from the environment that exported and checked the model, so the image runs
the very versions the golden answers were checked against. torch is never among them.
"""

from __future__ import annotations

from importlib import metadata

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from freshet.errors import FreshetError

# What freshet/serving and `freshet serve` import (freshet itself is installed --no-deps).
SERVING_ROOTS = (
    "fastapi",
    "numpy",
    "onnxruntime",
    "pydantic",
    "pydantic-settings",
    "typer",
    "uvicorn",
)
FORBIDDEN = ("torch",)


def _environment() -> dict[str, str]:
    # The image is Linux on CPython 3.11 whatever machine builds the bundle.
    env: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
    env.update(sys_platform="linux", platform_system="Linux", os_name="posix", extra="")
    return env


def closure(roots: tuple[str, ...] = SERVING_ROOTS) -> dict[str, str]:
    """Every distribution the roots need at run time, with its installed version.

    Args:
        roots: Top-level distributions.

    Returns:
        `{canonical name: version}`, sorted by name.

    Raises:
        FreshetError: A root or a dependency is not installed here, or a forbidden one is needed.
    """
    env = _environment()
    found: dict[str, str] = {}
    todo = [(name, "the serving app") for name in roots]
    while todo:
        name, needed_by = todo.pop()
        key = canonicalize_name(name)
        if key in found:
            continue
        if key in FORBIDDEN:
            raise FreshetError(f"The serving image would need '{key}' (via {needed_by}).")
        try:
            dist = metadata.distribution(key)
        except metadata.PackageNotFoundError:
            raise FreshetError(
                f"Serving dependency '{key}' (needed by {needed_by}) is not installed."
            ) from None
        found[key] = dist.version
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(env):
                todo.append((requirement.name, key))
    return dict(sorted(found.items()))


def requirements_txt(roots: tuple[str, ...] = SERVING_ROOTS) -> str:
    """The pinned `requirements.txt` of the serving image."""
    lines = [f"{name}=={version}" for name, version in closure(roots).items()]
    header = "# Serving dependencies of freshet (no torch), pinned from the build environment.\n"
    return header + "\n".join(lines) + "\n"
