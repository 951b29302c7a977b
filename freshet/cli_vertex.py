"""`freshet submit`, `freshet publish` and `freshet schedule ...`: Vertex AI Pipelines.

Only typer is imported here; the SDK is imported inside the commands, so `freshet --help`
stays fast.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

ParamOption = Annotated[
    list[str] | None, typer.Option("--param", "-p", help="KEY=VALUE, repeatable.")
]
DataOption = Annotated[
    str | None, typer.Option("--data", help="Dataset URI Vertex can read: gs://... or sample://.")
]
PipelineArgument = Annotated[
    str,
    typer.Argument(
        help="Pipeline name, compiled YAML, or template URI (https://...-kfp.pkg.dev/...)."
    ),
]
RunnerOption = Annotated[
    str | None,
    typer.Option("--runner", help="vertex or kfp (default: the configured runner, else vertex)."),
]
ScheduleRef = Annotated[str, typer.Argument(help="Schedule id or display name.")]
schedule_app = typer.Typer(
    help="Pipeline schedules on Vertex AI or Kubeflow Pipelines.", no_args_is_help=True
)


def _request(
    pipeline: str, param: list[str] | None, data: str | None, settings: Any, **extra: Any
) -> Any:
    """The run request for a pipeline name, a compiled YAML or a template URI."""
    from freshet.gcp.templates import is_template_uri
    from freshet.params import parse_assignments
    from freshet.runners import RunRequest
    from freshet.runners.local import ensure_known_pipeline

    fields: dict[str, Any] = {"parameters": dict(parse_assignments(param or [])), "data_uri": data}
    if is_template_uri(pipeline):
        from freshet.gcp.templates import split_template_uri

        fields.update(pipeline=split_template_uri(pipeline)[1], template_uri=pipeline)
    elif pipeline.endswith((".yaml", ".yml")):
        fields.update(pipeline=Path(pipeline).stem, template=Path(pipeline))
    elif "@" in pipeline and settings.runner == "kfp":  # a version in KFP's pipeline store
        from freshet.kfp.publish import SCHEME, split_reference

        reference = SCHEME + pipeline.removeprefix(SCHEME)
        fields.update(pipeline=split_reference(pipeline)[0], template_uri=reference)
    else:
        ensure_known_pipeline(pipeline, settings)
        fields.update(pipeline=pipeline)
    return RunRequest(**fields, **extra)


def submit_command(
    pipeline: PipelineArgument = "training",
    param: ParamOption = None,
    data: DataOption = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the run; exit 0 only if it succeeds.")
    ] = False,
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", help="Fixed run id: a run that exists is not started again."),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step.")] = False,
    runner: RunnerOption = None,
) -> None:
    """Submit a pipeline run to Vertex AI Pipelines or Kubeflow Pipelines."""
    from rich.console import Console

    from freshet.logs import say
    from freshet.runners import submit
    from freshet.runners.remote import open_remote, remote_settings

    settings, engine = remote_settings(runner)
    request = _request(pipeline, param, data, settings, run_id=run_id, enable_cache=not no_cache)
    console = Console(stderr=True)
    result = submit(request, settings, console)
    url = (result.summary or {}).get("console_url", "")
    if result.status == "already_exists":
        typer.echo(f"Run {result.run_id} already submitted: {url}")
    else:
        typer.echo(f"Submitted run {result.run_id}: {url}")
    if not wait:
        return
    from freshet.cli_output import print_outcome

    remote = open_remote(settings, engine)
    view = remote.follow(result.run_id, console)
    typer.echo(f"Run {result.run_id} {view.state}: {url}")
    print_outcome(remote.outcome(result.run_id))
    if view.state != "SUCCEEDED":
        if view.error:
            say(view.error, level=logging.ERROR, prefix="error: ", event="error")
        raise typer.Exit(1)


def publish_command(
    pipelines: Annotated[
        list[str] | None,
        typer.Argument(help="Pipeline names or compiled YAML files (default: every pipeline)."),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Extra tag (e.g. v1.2.0), repeatable.")
    ] = None,
    runner: RunnerOption = None,
) -> None:
    """Compile and upload pipeline templates (Artifact Registry, or KFP's pipeline store)."""
    from freshet.compile import compile_pipeline, pipeline_names
    from freshet.config import load_settings
    from freshet.gcp.session import PUBLISH_FIELDS, default_credentials
    from freshet.gcp.templates import check_tags, publish

    check_tags(tag or [])
    if (runner or load_settings().runner) == "kfp":
        _publish_kfp(pipelines, tag or [])
        return
    settings = load_settings(require=PUBLISH_FIELDS)
    paths = []
    for name in pipelines or pipeline_names(settings):
        is_file = name.endswith((".yaml", ".yml"))
        paths.append(Path(name) if is_file else compile_pipeline(name, settings))
    assert settings.gcp.template_repo is not None
    for item in publish(paths, settings.gcp.template_repo, default_credentials(), tag or []):
        typer.echo(f"{item.package}: {item.uri(item.tags[0])}  (tags: {', '.join(item.tags)})")


def _publish_kfp(pipelines: list[str] | None, tags: list[str]) -> None:
    """`publish --runner kfp`: compiled for the kfp target, uploaded as pipeline versions."""
    from freshet.compile import compile_for_target, pipeline_names
    from freshet.kfp.client import KfpSession
    from freshet.kfp.publish import publish
    from freshet.runners.remote import remote_settings

    settings, _ = remote_settings("kfp")
    paths = [
        Path(name)
        if name.endswith((".yaml", ".yml"))
        else compile_for_target(name, settings, "kfp")
        for name in pipelines or pipeline_names(settings)
    ]
    session = KfpSession.open(settings)
    for path in paths:
        for item in publish(session, path, tags):
            what = "published" if item.created else "already published"
            typer.echo(f"{item.pipeline}: {item.reference}  ({what}, version id {item.version_id})")


def schedule_create(
    pipeline: PipelineArgument = "training",
    cron: Annotated[str, typer.Option("--cron", help="Unix cron, e.g. '0 3 * * *'.")] = "",
    time_zone: Annotated[str, typer.Option("--time-zone", help="IANA time zone.")] = "UTC",
    name: Annotated[
        str | None, typer.Option("--name", help="Display name (default: PIPELINE-schedule).")
    ] = None,
    param: ParamOption = None,
    data: DataOption = None,
    max_concurrent_runs: Annotated[
        int, typer.Option("--max-concurrent-runs", help="Runs allowed at once.")
    ] = 1,
    start_time: Annotated[
        str | None, typer.Option("--start-time", help="ISO 8601; first run not before.")
    ] = None,
    end_time: Annotated[
        str | None, typer.Option("--end-time", help="ISO 8601; no runs after.")
    ] = None,
    max_runs: Annotated[
        int | None, typer.Option("--max-runs", help="Stop after this many runs.")
    ] = None,
    runner: RunnerOption = None,
) -> None:
    """Create a schedule that starts the pipeline on a cron."""
    from freshet.errors import BadInput
    from freshet.gcp.schedules import ScheduleSpec, check_spec, parse_time
    from freshet.runners import get_runner
    from freshet.runners.remote import remote_settings

    if not cron:
        raise BadInput("Option --cron is required, e.g. --cron '0 3 * * *'.")
    settings, engine = remote_settings(runner)
    schedules, _ = _schedules(settings, engine, session=False)
    request = _request(pipeline, param, data, settings)
    spec = check_spec(
        ScheduleSpec(
            display_name=name or f"{request.pipeline}-schedule",
            cron=cron,
            time_zone=time_zone,
            max_concurrent_runs=max_concurrent_runs,
            start_time=parse_time(start_time, "Start time", time_zone) if start_time else None,
            end_time=parse_time(end_time, "End time", time_zone) if end_time else None,
            max_run_count=max_runs,
        )
    )
    row = schedules.create_schedule(get_runner(settings), request, spec)
    typer.echo(f"Created schedule {row.display_name} (id {row.id}): {row.cron}, {row.state}")


def _schedules(settings: Any, engine: str, session: bool = True) -> tuple[Any, Any]:
    """The schedules module of an engine, and its session (opened when `session`)."""
    if engine == "kfp":
        from freshet.kfp import schedules as kfp_schedules
        from freshet.kfp.client import KfpSession

        return kfp_schedules, KfpSession.open(settings) if session else None
    from freshet.gcp import schedules as vertex_schedules
    from freshet.gcp.session import open_session

    return vertex_schedules, open_session(settings) if session else None


def schedule_list(runner: RunnerOption = None) -> None:
    """List the pipeline schedules (Vertex: project and region; KFP: the experiment)."""
    from rich.console import Console
    from rich.table import Table

    from freshet.runners.remote import remote_settings

    schedules, session = _schedules(*remote_settings(runner))
    rows = schedules.list_schedules(session)
    table = Table()
    for column in ("id", "name", "state", "cron", "next run", "runs"):
        table.add_column(column)
    for r in rows:
        table.add_row(r.id, r.display_name, r.state, r.cron, r.next_run_time, str(r.started_runs))
    Console().print(table)


def _change(action: str) -> Callable[[str], None]:
    def command(schedule: ScheduleRef, runner: RunnerOption = None) -> None:
        from freshet.runners.remote import remote_settings

        schedules, session = _schedules(*remote_settings(runner))
        row = getattr(schedules, f"{action}_schedule")(session, schedule)
        done = {"pause": "Paused", "resume": "Resumed", "delete": "Deleted"}[action]
        typer.echo(f"{done} schedule {row.display_name} (id {row.id}).")

    command.__doc__ = f"{action.capitalize()} a schedule."
    return command


def register(app: typer.Typer, plain_errors: Callable[[Any], Any]) -> None:
    """Adds `submit`, `publish` and the `schedule` group to the freshet CLI."""
    app.command("submit")(plain_errors(submit_command))
    app.command("publish")(plain_errors(publish_command))
    schedule_app.command("create")(plain_errors(schedule_create))
    schedule_app.command("list")(plain_errors(schedule_list))
    for action in ("pause", "resume", "delete"):
        schedule_app.command(action)(plain_errors(_change(action)))
    app.add_typer(schedule_app, name="schedule")
