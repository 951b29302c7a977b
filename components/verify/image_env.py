"""Run the `freshet` CLI with only what the serving image will hold importable.

    python -m freshet.components.verify.image_env REQUIREMENTS_TXT [freshet arguments...]

The image holds the standard library, the distributions pinned in the bundle's
`requirements.txt` and the `freshet` package, nothing else (no torch, no kfp, not even this
project's `components`). Before the CLI starts, an import hook makes every other module
missing, exactly as it would be in the image, so verification catches "a library missing
from the image" before an image is built; optional imports a library guards with
`try/except ImportError` take their fallback, as they would there.
"""

from __future__ import annotations

import importlib.abc
import sys
import sysconfig
from collections.abc import Sequence
from importlib import metadata
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path
from types import ModuleType

ALWAYS = frozenset({"freshet"})
# The serving image installs freshet from freshet/ alone: its components and pipelines
# (links into the repo's top-level folders) are not there.
NOT_IN_IMAGE = ("freshet.components", "freshet.pipelines")


def requirement_names(requirements: str) -> list[str]:
    """Distribution names of a pinned requirements file (`name==version` lines)."""
    names = []
    for line in requirements.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line.split("==", 1)[0].split("[", 1)[0].strip())
    return names


def importable_modules(distributions: Sequence[str]) -> set[str]:
    """Every dotted module and package name the distributions install, with their parents.

    Reads each distribution's RECORD as plain text (this runs on every server start, and
    parsing it into `metadata.files` objects costs several times more).
    """
    names: set[str] = set()
    for dist_name in distributions:
        try:
            record = metadata.distribution(dist_name).read_text("RECORD") or ""
        except metadata.PackageNotFoundError:
            continue
        for line in record.splitlines():
            file = line.split(",", 1)[0]
            stem, dot, suffix = file.rpartition(".")
            if not dot or suffix not in ("py", "so", "pyd") or ".dist-info/" in file:
                continue
            parts = stem.split("/")
            parts[-1] = parts[-1].split(".", 1)[0]  # foo.cpython-311-x86_64-linux-gnu.so
            if parts[-1] == "__init__":
                parts.pop()
            for i in range(1, len(parts) + 1):
                names.add(".".join(parts[:i]))
    return names


def stdlib_dirs() -> list[str]:
    """Where this interpreter's standard library lives (private modules included)."""
    paths = sysconfig.get_paths()
    dirs = {paths["stdlib"], paths["platstdlib"]}
    dirs |= {str(Path(d) / "lib-dynload") for d in list(dirs)}
    return sorted(d for d in dirs if Path(d).is_dir())


class ImageImports(importlib.abc.MetaPathFinder):
    """Makes modules outside the image missing (ModuleNotFoundError)."""

    def __init__(self, allowed: set[str]) -> None:
        self.allowed = allowed
        self.stdlib = stdlib_dirs()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        """Defers to the normal finders for allowed modules, refuses the others."""
        root = fullname.split(".", 1)[0]
        outside = fullname.startswith(NOT_IN_IMAGE)
        if not outside and (
            fullname in self.allowed
            or root in ALWAYS
            or root in sys.stdlib_module_names
            or root in sys.builtin_module_names
        ):
            return None
        if not outside and path is None and PathFinder.find_spec(fullname, self.stdlib) is not None:
            return None  # a private standard-library module (_sysconfigdata_..., etc.)
        raise ModuleNotFoundError(
            f"No module named '{fullname}' (not in the serving image's requirements)",
            name=fullname,
        )


def main(argv: list[str]) -> None:
    """Installs the import hook for the requirements file, then runs the freshet CLI."""
    if not argv:
        raise SystemExit(
            "usage: python -m freshet.components.verify.image_env REQUIREMENTS [ARGS...]"
        )
    with open(argv[0]) as handle:
        allowed = importable_modules(requirement_names(handle.read()))
    sys.meta_path.insert(0, ImageImports(allowed))
    sys.argv = ["freshet", *argv[1:]]
    from freshet.cli import main as freshet

    freshet()


if __name__ == "__main__":
    main(sys.argv[1:])
