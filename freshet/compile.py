"""Compile pipelines to KFP IR YAML: the one artifact that runs locally and on Vertex.

Pipelines come from two places: those freshet ships (`freshet.pipelines.registry`) and the
project's own, named in `freshet.toml` under `[pipelines]` as `name = "package.module:build"`
with `build(settings)` returning a kfp pipeline. This is the only module of the machinery
that imports pipelines.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from freshet.atomic import write_file
from freshet.config import Settings
from freshet.errors import BadInput


def _shipped() -> dict[str, Callable[[Settings], Any]]:
    from freshet.pipelines.registry import BUILDERS

    return dict(BUILDERS)


def pipeline_names(settings: Settings | None = None) -> list[str]:
    """Names of the pipelines freshet ships and, given settings, the project's own."""
    names = set(_shipped())
    if settings is not None:
        names |= set(settings.pipelines)
    return sorted(names)


def build_pipeline(name: str, settings: Settings) -> Any:
    """The kfp pipeline object of a pipeline name (the project's entries win over shipped).

    Raises:
        BadInput: Unknown name; or the project's entry does not import, names no attribute,
            fails, or does not give a kfp pipeline.
    """
    from kfp.dsl.graph_component import GraphComponent

    reference = settings.pipelines.get(name)
    if reference is None:
        shipped = _shipped()
        if name not in shipped:
            known = ", ".join(pipeline_names(settings))
            raise BadInput(f"Unknown pipeline '{name}'; known pipelines: {known}.")
        return shipped[name](settings)
    from freshet.references import described, load_reference

    what = f"Pipeline '{name}'"
    builder = load_reference(reference, what)
    if isinstance(builder, GraphComponent):
        return builder  # a pipeline object itself: nothing to build
    if not callable(builder):
        raise BadInput(f"{what} '{reference}' is neither a function nor a kfp pipeline.")
    try:
        pipeline = builder(settings)
    except BadInput:
        raise
    except Exception as exc:
        raise BadInput(f"{what}: {reference}(settings) failed: {described(exc)}.") from None
    if not isinstance(pipeline, GraphComponent):
        raise BadInput(
            f"{what}: {reference}(settings) returned {type(pipeline).__name__}, not a kfp "
            "pipeline (a function decorated with @dsl.pipeline)."
        )
    return pipeline


def compile_pipeline(name: str, settings: Settings, out_dir: Path | None = None) -> Path:
    """Compiles one pipeline to `<out_dir>/<name>.yaml`, byte-identical for the same inputs.

    The file is replaced only when its content changes, so its timestamp means something.

    Args:
        name: Pipeline name (shipped, or from the project's `[pipelines]`).
        settings: Images and resources to compile in.
        out_dir: Destination directory (default: `settings.build_dir`).

    Returns:
        Path of the compiled YAML.

    Raises:
        BadInput: See `build_pipeline`.
    """
    pipeline = build_pipeline(name, settings)
    return _write_compiled(pipeline, (out_dir or settings.build_dir) / f"{name}.yaml")


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


TARGETS = ("vertex", "kfp")


def compile_for_target(
    name: str, settings: Settings, target: str, out_dir: Path | None = None
) -> Path:
    """Compiles a pipeline for one engine to `<out_dir or build_dir/target>/<name>.yaml`.

    The same source, two targets: for "kfp", Vertex-only features become their Kubernetes
    form (`freshet.kfp.compile_target`): Spot is a node selector and toleration instead of a
    Vertex CustomJob, the accelerator `nvidia.com/gpu` with a GKE node selector.

    Raises:
        BadInput: Unknown target; see `build_pipeline`.
    """
    if target not in TARGETS:
        raise BadInput(f"Unknown compile target '{target}': use {' or '.join(TARGETS)}.")
    out = out_dir or Path(settings.build_dir) / target
    if target == "vertex":
        return compile_pipeline(name, settings, out)
    from freshet.kfp.compile_target import kfp_settings, to_kfp

    pipeline = build_pipeline(name, kfp_settings(settings))
    return _write_compiled(pipeline, out / f"{name}.yaml", lambda staged: to_kfp(staged, settings))


def _write_compiled(
    pipeline: Any, target: Path, rewrite: Callable[[Path], None] | None = None
) -> Path:
    """Compiles `pipeline` to `target` (replaced only when its content changes)."""
    from kfp import compiler

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / target.name
        compiler.Compiler().compile(pipeline, str(staged))
        if rewrite is not None:
            rewrite(staged)
        content = staged.read_bytes()
    if not target.exists() or target.read_bytes() != content:
        write_file(target, content)
    return target


def compile_all(
    settings: Settings, out_dir: Path | None = None, names: list[str] | None = None
) -> list[Path]:
    """Compiles the named pipelines (default: every shipped and project pipeline).

    Returns:
        The written paths, in the order of `names` (default: by name).
    """
    return [compile_pipeline(name, settings, out_dir) for name in names or pipeline_names(settings)]


def template_version(path: Path) -> str:
    """Content hash of a compiled template (part of the deterministic run id)."""
    return "sha256-" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]
