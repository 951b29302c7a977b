"""The `freshet` command line: each command parses options and calls one module."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from freshet.errors import BadInput, FreshetError

app = typer.Typer(
    help="Pipeline-as-code continuous training on Kubeflow and Vertex AI Pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
F = TypeVar("F", bound=Callable[..., Any])

RootOption = Annotated[
    Path | None,
    typer.Option(
        "--root",
        help="Local root for runs, cache and registry (default: ./.freshet or FRESHET_ROOT).",
    ),
]


def _fail(message: str, code: int) -> None:
    from freshet.logs import say  # a plain `error: ...` line, or an ERROR record in JSON mode

    say(message, level=logging.ERROR, prefix="error: ", event="error", exit_code=code)
    raise typer.Exit(code)


def plain_errors(func: F) -> F:
    """Turns freshet errors into one sentence on stderr: exit 2 for bad input, else 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BadInput as exc:
            _fail(str(exc), 2)
        except FreshetError as exc:
            _fail(str(exc), 1)
        except KeyboardInterrupt:
            _fail("interrupted.", 130)
        return None

    return wrapper  # type: ignore[return-value]


@app.command("compile")
@plain_errors
def compile_command(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Pipelines to compile (default: every shipped and project one)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output directory (default: build/pipelines).")
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="vertex or kfp: writes build/pipelines/<target>/ (default: kfp when "
            'runner = "kfp", else the one template in build/pipelines/).',
        ),
    ] = None,
) -> None:
    """Compile pipelines (freshet's and the project's own) to one KFP IR YAML each."""
    from freshet.compile import compile_all, compile_for_target, pipeline_names
    from freshet.config import load_settings

    settings = load_settings()
    chosen = target or ("kfp" if settings.runner == "kfp" else None)
    if chosen is None:
        paths = compile_all(settings, out, names or None)
    else:
        paths = [
            compile_for_target(name, settings, chosen, out)
            for name in names or pipeline_names(settings)
        ]
    for path in paths:
        typer.echo(str(path))


@app.command("run")
@plain_errors
def run_command(
    pipeline: Annotated[str, typer.Argument(help="Pipeline name or compiled YAML.")] = "training",
    data: Annotated[
        str | None, typer.Option("--data", help="Dataset URI: path, file://, gs:// or sample://.")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="KEY=VALUE, repeatable.")
    ] = None,
    root: RootOption = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step.")] = False,
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", help="Fixed run id: a run that exists is not started again."),
    ] = None,
) -> None:
    """Run a pipeline locally from its compiled YAML, with live progress."""
    from freshet.cli_output import print_summary
    from freshet.config import load_settings
    from freshet.params import parse_assignments
    from freshet.runners import RunRequest, submit
    from freshet.runners.local import ensure_known_pipeline

    settings = load_settings(root=root)
    ensure_known_pipeline(pipeline, settings)
    is_file = pipeline.endswith((".yaml", ".yml"))
    request = RunRequest(
        pipeline=Path(pipeline).stem if is_file else pipeline,
        template=Path(pipeline) if is_file else None,
        parameters=dict(parse_assignments(param or [])),
        data_uri=data,
        run_id=run_id,
        enable_cache=not no_cache,
    )
    result = submit(request, settings)
    if result.status == "already_exists":
        typer.echo(f"Run {result.run_id} already exists: {result.summary_path}")
        return
    print_summary(result.summary or {}, result.summary_path)
    if not result.ok:
        raise typer.Exit(1)


@app.command("init")
@plain_errors
def init_command(
    directory: Annotated[Path, typer.Argument(help="New (or empty) project directory.")],
    name: Annotated[
        str | None,
        typer.Option("--name", help="Pipeline name (default: the directory's name)."),
    ] = None,
) -> None:
    """Create a project with its own model and pipeline, ready for `freshet run <name>`."""
    from freshet.logs import say
    from freshet.scaffold import init_project

    project = init_project(directory, name)
    for path in project.files:
        typer.echo(str(path))
    say(
        f"Created project '{project.name}' (package {project.package}). Next: "
        f"cd {directory} && freshet run {project.name}"
    )


from freshet.serving.command import serve_command  # noqa: E402  (light: typer only)

app.command("serve")(plain_errors(serve_command))

from freshet.trigger.cli import build_trigger_app  # noqa: E402  (light: typer only)

app.add_typer(build_trigger_app(plain_errors), name="trigger")


from freshet.cli_vertex import register as register_vertex  # noqa: E402  (light: typer only)

register_vertex(app, plain_errors)

from freshet.lint.cli import lint_command  # noqa: E402  (light: typer and rich only)

app.command("lint")(plain_errors(lint_command))

from freshet.cli_ops import register as register_ops  # noqa: E402  (light: typer only)

register_ops(app, plain_errors)

from freshet.cli_verify import register as register_verify  # noqa: E402  (light: typer only)

register_verify(app, plain_errors)


@app.callback()
def _edge_logging() -> None:
    from freshet.logs import setup_logging  # the one logging setup, at this edge

    setup_logging()


def main() -> None:
    """Entry point for `python -m freshet`."""
    app(prog_name="freshet")


if __name__ == "__main__":
    main()
