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
        typer.Argument(help="Compiled pipeline YAML files [default: compile all, lint those]."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Also require images pinned by digest.")
    ] = False,
) -> None:
    """Check compiled pipelines against the policy rules; exit 1 on any violation."""
    from freshet.compile import compile_all
    from freshet.config import load_settings
    from freshet.lint.engine import lint_files

    paths = list(files or compile_all(load_settings()))
    findings = lint_files(paths, strict=strict)
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
