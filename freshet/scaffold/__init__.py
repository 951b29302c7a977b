"""`freshet init DIR`: a project of one's own that `freshet run <name>` runs straight away."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from freshet.errors import BadInput

DEFAULT_IMAGE = "freshet/components:dev"
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Project:
    """A project `init_project` wrote."""

    name: str  # the pipeline's name (in freshet.toml's [pipelines])
    package: str  # the Python package holding the model and the pipeline
    files: list[Path]


def project_names(directory: Path, name: str | None = None) -> tuple[str, str]:
    """The pipeline name and the Python package name of a new project.

    Args:
        directory: Where the project goes (its name is the default).
        name: The pipeline name to use instead.

    Returns:
        `(pipeline name, package name)`, e.g. `("churn-model", "churn_model")`.

    Raises:
        BadInput: The name is not lowercase letters, digits and hyphens starting with a
            letter, or its package name is taken by an importable module.
    """
    import importlib.util

    raw = name if name is not None else directory.resolve().name
    pipeline = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-") if name is None else raw
    if not _NAME.match(pipeline):
        raise BadInput(
            f"The project name '{raw}' cannot name a pipeline: use lowercase letters, digits "
            "and hyphens, starting with a letter (give one with --name)."
        )
    package = pipeline.replace("-", "_")
    if importlib.util.find_spec(package) is not None:
        raise BadInput(
            f"The package name '{package}' is taken by an installed module; choose another "
            "project name with --name."
        )
    return pipeline, package


def init_project(directory: Path, name: str | None = None, image: str = DEFAULT_IMAGE) -> Project:
    """Writes a new project into `directory` (created if missing).

    Args:
        directory: A new or empty directory.
        name: Pipeline name [default: from the directory's name].
        image: The freshet image its Dockerfile builds on by default.

    Returns:
        The project: its names and the files written.

    Raises:
        BadInput: `directory` is a file or not empty; see `project_names`.
    """
    from freshet.scaffold.templates import FILES

    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise BadInput(
            f"'{directory}' is not an empty directory; freshet init writes only into a new "
            "or empty one."
        )
    pipeline, package = project_names(directory, name)
    values = {"name": pipeline, "package": package, "image": image}
    written = []
    for relative, text in FILES.items():
        path = directory / Template(relative).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values))
        written.append(path)
    return Project(name=pipeline, package=package, files=written)


__all__ = ["DEFAULT_IMAGE", "Project", "init_project", "project_names"]
