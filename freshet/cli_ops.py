"""Operations commands: `freshet runs list|show`, `freshet report`, `freshet sla check`.

Runs are read from the local history (`<root>/history.sqlite`), or with `--remote` (or
`--vertex`) from the remote engine's API (`freshet.runners.remote`: Vertex AI or KFP).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

RootOption = Annotated[
    Path | None,
    typer.Option(
        "--root",
        help="Local root for runs, cache and registry (default: ./.freshet or FRESHET_ROOT).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _root(root: Path | None) -> Path:
    from freshet.config import load_settings

    return Path(load_settings(root=root).root).resolve()


def _run_rows(
    root: Path | None, pipeline: str | None, status: str | None, limit: int, engine: str | None
) -> list[Any]:
    """The rows `runs list` shows: the local history, or the runs on a remote engine."""
    from freshet.history import list_runs

    if engine is None:
        return list_runs(_root(root), pipeline=pipeline, status=status, limit=limit)
    from freshet.history import check_listing

    check_listing(status, limit)
    rows: list[Any] = _remote(engine).rows(pipeline, status, limit)
    return rows


def _remote(engine: str) -> Any:
    """The runs of a remote engine ("" for the configured runner, else Vertex)."""
    from freshet.runners.remote import open_remote, remote_settings

    settings, chosen = remote_settings(engine or None)
    return open_remote(settings, chosen)


def _engine(remote: bool, vertex: bool, runner: str | None) -> str | None:
    """None for the local history; else the engine ("" = configured)."""
    if vertex:
        return "vertex"
    if remote or runner:
        return runner or ""
    return None


RemoteOption = Annotated[
    bool,
    typer.Option("--remote", help="On the configured remote runner (vertex or kfp), not local."),
]
RunnerOption = Annotated[str | None, typer.Option("--runner", help="With --remote: vertex or kfp.")]


def runs_list(
    pipeline: Annotated[str | None, typer.Option("--pipeline", help="Only this pipeline.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only runs that succeeded or failed.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many runs.")] = 20,
    root: RootOption = None,
    as_json: JsonOption = False,
    vertex: Annotated[
        bool, typer.Option("--vertex", help="Runs on Vertex AI (the gcp settings), not local.")
    ] = False,
    remote: RemoteOption = False,
    runner: RunnerOption = None,
) -> None:
    """List runs, newest first."""
    from dataclasses import asdict

    rows = _run_rows(root, pipeline, status, limit, _engine(remote, vertex, runner))
    if as_json:
        typer.echo(json.dumps([asdict(r) for r in rows], default=str, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # piped: one line per run, never wrapped
    if not rows:
        console.print("No runs recorded yet.")
        return
    table = Table(box=None, header_style="bold")
    table.add_column("run id", no_wrap=True)
    table.add_column("pipeline")
    table.add_column("status", no_wrap=True)
    for column in ("gate", "trigger"):
        table.add_column(column)
    table.add_column("started", no_wrap=True)
    table.add_column("seconds", justify="right", no_wrap=True)
    table.add_column("failed step / data", max_width=18, overflow="ellipsis", no_wrap=True)
    for r in rows:
        style = {"succeeded": "green", "failed": "red"}.get(r.status, "")
        table.add_row(
            r.run_id,
            r.pipeline,
            f"[{style}]{r.status}[/]",
            r.decision or "-",
            r.reason,
            r.started_at.astimezone().strftime("%m-%d %H:%M:%S"),
            f"{r.seconds:.1f}",
            f"[red]{r.failed_step}[/]" if r.failed_step else (r.data_version or "-"),
        )
    console.print(table)


def runs_show(
    run_id: Annotated[str, typer.Argument(help="Run id (or an unambiguous prefix).")],
    root: RootOption = None,
    as_json: JsonOption = False,
    vertex: Annotated[
        bool, typer.Option("--vertex", help="A run on Vertex AI (its exact id), not local.")
    ] = False,
    remote: RemoteOption = False,
    runner: RunnerOption = None,
) -> None:
    """Show one run: steps, metrics, gate, verification and where its files are."""
    from freshet.cli_output import print_summary
    from freshet.history import get_run

    engine = _engine(remote, vertex, runner)
    if engine is not None:
        run = _remote(engine).show(run_id)
        if as_json:
            typer.echo(json.dumps(run, indent=2, default=str))
            return
        print_summary(run, None)
        typer.echo(f"console: {run['console_url']}")
        return
    base = _root(root)
    summary = get_run(base, run_id)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    print_summary(summary, base / "runs" / summary["run_id"] / "summary.json")


def runs_cancel(
    run_id: Annotated[str, typer.Argument(help="Run id (freshet's, or the engine's own).")],
    remote: RemoteOption = False,
    runner: RunnerOption = None,
) -> None:
    """Cancel a run on a remote engine (Vertex AI or Kubeflow Pipelines)."""
    from freshet.errors import BadInput

    if not (remote or runner):
        raise BadInput("Only remote runs can be cancelled: pass --remote (and --runner).")
    engine = _remote(runner or "")
    state = engine.cancel(run_id)
    typer.echo(f"Cancel requested for run {run_id} on {engine.name}: {state}.")


def report_command(
    run_id: Annotated[str, typer.Argument(help="Run id (or an unambiguous prefix).")],
    root: RootOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="HTML file to write (default: <root>/runs/<id>/report.html)."),
    ] = None,
) -> None:
    """Write the run's self-contained HTML report and print its path."""
    from freshet.history import get_run
    from freshet.report import report_path, write_report

    base = _root(root)
    summary = get_run(base, run_id)
    typer.echo(str(write_report(summary, out or report_path(base, summary["run_id"]))))


def sla_check(
    root: RootOption = None,
    no_alert: Annotated[
        bool, typer.Option("--no-alert", help="Only report; post nothing to the webhook.")
    ] = False,
) -> None:
    """Check each pipeline's freshness deadline; exit 1 when one is breached (and alert once)."""
    from freshet.config import load_settings
    from freshet.logs import say
    from freshet.sla import check

    settings = load_settings(root=root)
    results = check(Path(settings.root).resolve(), settings.ops, alert=not no_alert)
    breached = [r for r in results if r.state == "breached"]
    for item in results:
        if item.state != "breached":
            typer.echo(item.message())
    for item in breached:
        say(item.message(), level=logging.ERROR, prefix="error: ", event="sla_breached")
    if breached:
        raise typer.Exit(1)


def register(app: typer.Typer, plain_errors: Callable[[Any], Any]) -> None:
    """Adds the operations commands to the main app."""
    runs = typer.Typer(help="Run history (local root).", no_args_is_help=True)
    runs.command("list")(plain_errors(runs_list))
    runs.command("show")(plain_errors(runs_show))
    runs.command("cancel")(plain_errors(runs_cancel))
    app.add_typer(runs, name="runs")
    app.command("report")(plain_errors(report_command))
    sla = typer.Typer(help="Freshness deadlines.", no_args_is_help=True)
    sla.command("check")(plain_errors(sla_check))
    app.add_typer(sla, name="sla")
