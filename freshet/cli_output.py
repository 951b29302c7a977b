"""What the CLI prints at the end of a run: the step table and the key metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from freshet.logs import say
from freshet.summary import metric_order

KEY_METRICS = 6  # metrics printed after a run: the gate's first, then in output order


def _number(value: float) -> str:
    """Counts as integers; four decimals in the usual range; else four significant digits."""
    if value.is_integer() and 10 <= abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4f}" if value == 0 or 1e-3 <= abs(value) < 1e5 else f"{value:.4g}"


def print_outcome(summary: dict[str, Any], console: Console | None = None) -> None:
    """Prints a run's key metrics (the gate's first), the gate's decision, and any note.

    What `submit --wait` prints after a remote run ends, and part of `print_summary`.
    """
    console = console or Console()
    metrics = summary.get("metrics") or {}
    gate = summary.get("gate") or {}
    names = metric_order(metrics, gate)
    shown = ", ".join(f"{k}={_number(float(metrics[k]))}" for k in names[:KEY_METRICS])
    if len(names) > KEY_METRICS:
        shown += f" (+{len(names) - KEY_METRICS} more in the summary)"
    if shown:
        console.print(f"metrics: {shown}", highlight=False, soft_wrap=True)
    if summary.get("decision"):
        reasons = "; ".join(str(r).rstrip(".") for r in gate.get("reasons", []))
        console.print(
            f"gate: [bold]{escape(str(summary['decision']))}[/] ({escape(reasons)})",
            soft_wrap=True,  # one line each, whatever the width: scripts read them
        )
    for note in summary.get("notes") or []:
        say(str(note), prefix="note: ", event="note")


def print_summary(
    summary: dict[str, Any], path: Path | None, console: Console | None = None
) -> None:
    """Prints the step table, metrics, gate decision and where the summary was written."""
    console = console or Console()
    table = Table(title=f"run {summary.get('run_id', '?')}")
    for column in ("step", "status", "seconds", "cached"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for step in summary.get("steps", []):
        style = {"succeeded": "green", "failed": "red"}.get(step["status"], "dim")
        table.add_row(
            step["name"],
            f"[{style}]{step['status']}[/]",
            f"{step['seconds']:.1f}",
            "yes" if step["cached"] else "no",
        )
    console.print(table)
    print_outcome(summary, console)
    if summary.get("verification"):
        artifacts = summary.get("artifacts", {})
        console.print(
            f"verification: [bold]{summary['verification']}[/] "
            f"(bundle {artifacts.get('bundle', '?')}, report "
            f"{artifacts.get('verification_report', '?')})"
        )
    champion = summary.get("champion")
    if champion:
        note = "promoted by this run" if champion.get("promoted_by_this_run") else "unchanged"
        console.print(f"champion: v{champion['version']} ({note})")
    console.print(
        f"data version: {summary.get('data_version')}  "
        f"status: {summary.get('status')}  seconds: {summary.get('seconds', 0):.1f}"
    )
    if summary.get("error"):
        console.print(f"[red]error:[/] {summary['error']}")
    if path:
        console.print(f"summary: {path}")
    if (summary.get("artifacts") or {}).get("report"):
        console.print(f"report: {summary['artifacts']['report']}", soft_wrap=True)
