"""The `freshet lint` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def lint_command(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Compiled pipeline YAML files (default: compile all, lint those)."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Also require images pinned by digest.")
    ] = False,
    target: Annotated[
        str | None,
        typer.Option(
            "--target", help="vertex or kfp rules (default: kfp for files under kfp/, else vertex)."
        ),
    ] = None,
) -> None:
    """Check compiled pipelines against the policy rules; exit 1 on any violation."""
    from freshet.compile import TARGETS, compile_all, compile_for_target, pipeline_names
    from freshet.config import load_settings
    from freshet.errors import BadInput
    from freshet.lint.engine import lint_files

    if target is not None and target not in TARGETS:
        raise BadInput(f"Unknown lint target '{target}': use {' or '.join(TARGETS)}.")
    if files:
        paths = list(files)
    elif target is not None:
        settings = load_settings()
        paths = [compile_for_target(n, settings, target) for n in pipeline_names(settings)]
    else:
        paths = list(compile_all(load_settings()))
    findings = lint_files(paths, strict=strict, target=target)
    console = Console()
    if not findings:
        console.print(
            f"lint: {len(paths)} pipeline(s), no violations" + (" (strict)" if strict else "")
        )
        return
    table = Table(title=f"{len(findings)} policy violation(s)")
    for column in ("file", "task", "rule", "problem"):
        table.add_column(column)
    for f in findings:
        table.add_row(f.file, f.task, f.rule, f.message)
    console.print(table)
    raise typer.Exit(1)
