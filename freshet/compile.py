"""Compile pipelines to KFP IR YAML: the one artifact that runs locally and on Vertex."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from freshet.config import Settings
from freshet.errors import BadInput


def pipeline_names() -> list[str]:
    """Names of the pipelines this project ships."""
    from freshet.pipelines.registry import BUILDERS

    return sorted(BUILDERS)


def compile_pipeline(name: str, settings: Settings, out_dir: Path | None = None) -> Path:
    """Compiles one pipeline to `<out_dir>/<name>.yaml`, byte-identical for the same inputs.

    The file is replaced only when its content changes, so its timestamp means something.

    Args:
        name: Pipeline name.
        settings: Images and resources to compile in.
        out_dir: Destination directory (default: `settings.build_dir`).

    Returns:
        Path of the compiled YAML.
    """
    from kfp import compiler

    from freshet.pipelines.registry import BUILDERS

    if name not in BUILDERS:
        raise BadInput(
            f"Unknown pipeline '{name}'; known pipelines: {', '.join(sorted(BUILDERS))}."
        )
    target = (out_dir or settings.build_dir) / f"{name}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / target.name
        compiler.Compiler().compile(BUILDERS[name](settings), str(staged))
        content = staged.read_bytes()
    if not target.exists() or target.read_bytes() != content:
        part = target.with_suffix(".yaml.part")
        part.write_bytes(content)
        part.replace(target)
    return target


def compile_for_local(name: str, settings: Settings) -> Path:
    """Compiles a pipeline for kfp.local: as configured, except never on Spot.

    A Spot train step is a Vertex AI CustomJob, which only Vertex can start; a local run trains
    in its own process instead, from a template in `<build_dir>/local/`, so that the Vertex
    template beside it is left as compiled.
    """
    resources = settings.train_resources
    if not resources.spot:
        return compile_pipeline(name, settings)
    local = settings.model_copy(
        update={"train_resources": resources.model_copy(update={"spot": False})}
    )
    return compile_pipeline(name, local, Path(settings.build_dir) / "local")


def compile_all(settings: Settings, out_dir: Path | None = None) -> list[Path]:
    """Compiles every pipeline; returns the written paths."""
    return [compile_pipeline(name, settings, out_dir) for name in pipeline_names()]


def template_version(path: Path) -> str:
    """Content hash of a compiled template (part of the deterministic run id)."""
    return "sha256-" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]
