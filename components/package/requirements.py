"""The serving image's requirements: what `freshet serve` imports, pinned with its closure.

The roots are found by running what `freshet serve` runs up to listening (the whole CLI
module, the serving app, onnxruntime, uvicorn's protocol classes) in a child interpreter and
mapping every module it imported to the distribution that installed the file: a new import
anywhere on that path lands in the image without anyone editing a list. Versions come from
the environment that exported and checked the model, so the image runs the very versions the
golden answers were checked against. torch, scikit-learn, skl2onnx, onnx, pandas and pyarrow
are never among them: the serving path runs the graph on onnxruntime alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from freshet.errors import FreshetError

# What freshet/serving and `freshet serve` import (freshet itself is installed --no-deps).
SERVING_ROOTS = (
    "fastapi",
    "httptools",
    "msgspec",
    "numpy",
    "onnxruntime",
    "pydantic",
    "pydantic-settings",
    "typer",
    "uvicorn",
    "uvloop",
)
FORBIDDEN = ("torch", "scikit-learn", "skl2onnx", "onnx", "pandas", "pyarrow")

# Runs in a child interpreter: imports what `freshet serve` imports before it listens, then
# prints the distributions that own the files of every module imported on the way.
_PROBE = """
import json, sys
from pathlib import Path
before = set(sys.modules)
import freshet.cli
import freshet.serving.app, freshet.serving.command, freshet.serving.model
import onnxruntime, uvicorn
uvicorn.Config(lambda scope, receive, send: None, lifespan="off").load()
from importlib import metadata
owners = {}
for dist in metadata.distributions():
    base, name = Path(dist.locate_file("")).resolve(), dist.metadata["Name"]
    for file in dist.files or []:
        owners[str(base / file)] = name
found = set()
for name in set(sys.modules) - before:
    file = getattr(sys.modules[name], "__file__", None)
    if file and str(Path(file).resolve()) in owners:
        found.add(owners[str(Path(file).resolve())])
print(json.dumps(sorted(found)))
"""


def start_probe() -> subprocess.Popen[str]:
    """Starts the import probe in a child interpreter (it runs while the caller works)."""
    return subprocess.Popen(
        [sys.executable, "-c", _PROBE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def imported_distributions(probe: subprocess.Popen[str] | None = None) -> list[str]:
    """The distributions whose modules `freshet serve` imports before it listens.

    Args:
        probe: A probe from `start_probe`; None starts one and waits for it.

    Raises:
        FreshetError: The probe could not import the serving path.
    """
    probe = probe or start_probe()
    try:
        out, err = probe.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        probe.kill()
        probe.communicate()
        raise FreshetError("Importing the serving path of freshet took over 120 s.") from None
    if probe.returncode != 0:
        last = (err.strip().splitlines() or ["no output"])[-1]
        raise FreshetError(f"The serving path of freshet cannot be imported here: {last}")
    names: list[str] = json.loads(out.strip().splitlines()[-1])
    return [n for n in names if canonicalize_name(n) != "freshet"]


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


def requirements_txt(
    roots: tuple[str, ...] | None = None, probe: subprocess.Popen[str] | None = None
) -> str:
    """The pinned `requirements.txt` of the serving image.

    Args:
        roots: Top-level distributions; default: `SERVING_ROOTS` plus what the serving
            path imports (`imported_distributions`).
        probe: A running probe (see `start_probe`) to read instead of starting one.
    """
    if roots is None:
        roots = tuple(sorted({*SERVING_ROOTS, *imported_distributions(probe)}))
    lines = [f"{name}=={version}" for name, version in closure(roots).items()]
    header = (
        "# Serving dependencies of freshet (no torch, scikit-learn or pandas), pinned from "
        "the build environment.\n"
    )
    return header + "\n".join(lines) + "\n"
