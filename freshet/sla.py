"""Freshness SLA: after new data is seen, a successful run must follow within the deadline.

The alert is about the expected result not happening, whatever the cause: a hung job, a
trigger that never fired and a crash all leave the latest data update uncovered past its
deadline. Each breach (pipeline, data version) is alerted once, however often it is checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from freshet.alerts import Alert, post_alert
from freshet.data_updates import (
    DataUpdate,
    alert_sent,
    first_success_since,
    latest_data_update,
    mark_alert_sent,
)
from freshet.errors import ConfigError
from freshet.history import RunRow, list_runs
from freshet.ops_settings import OpsSettings

State = Literal["fresh", "waiting", "breached", "no_data"]


@dataclass(frozen=True)
class Freshness:
    """Where one pipeline stands against its deadline."""

    pipeline: str
    deadline: timedelta
    state: State
    update: DataUpdate | None
    covered_by: RunRow | None
    latest_run: RunRow | None
    now: datetime

    @property
    def due_at(self) -> datetime | None:
        """When a successful run must exist by."""
        return self.update.seen_at + self.deadline if self.update else None

    def message(self) -> str:
        """One sentence on the state."""
        hours = _span(self.deadline)
        if self.update is None:
            return f"{self.pipeline}: no data update recorded yet (deadline {hours})."
        seen = f"data version {self.update.data_version} seen {_at(self.update.seen_at)}"
        if self.covered_by is not None:
            took = self.covered_by.finished_at - self.update.seen_at
            late = " (late)" if took > self.deadline else ""
            return (
                f"{self.pipeline}: fresh: {seen} was covered by run {self.covered_by.run_id} "
                f"{_span(max(took, timedelta()))} later{late}."
            )
        assert self.due_at is not None
        if self.state == "waiting":
            return (
                f"{self.pipeline}: waiting: {seen}; a successful run is due within "
                f"{_span(self.due_at - self.now)}."
            )
        latest = ""
        if self.latest_run is not None:
            r = self.latest_run
            latest = f" The latest run {r.run_id} {r.status}" + (
                f" in step '{r.failed_step}'." if r.failed_step else "."
            )
        return (
            f"{self.pipeline}: SLA breached: {seen} and no successful run within {hours}; "
            f"the deadline passed {_span(self.now - self.due_at)} ago.{latest}"
        )


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def evaluate(root: str | Path, ops: OpsSettings, now: datetime | None = None) -> list[Freshness]:
    """The freshness of every pipeline with a deadline.

    Raises:
        ConfigError: No deadline is configured.
    """
    if not ops.freshness_hours:
        raise ConfigError(
            "No freshness deadlines are configured; set [ops.freshness_hours] in freshet.toml, "
            "e.g. training = 6, or FRESHET_OPS__FRESHNESS_HOURS='{\"training\": 6}'."
        )
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    out = []
    for pipeline, hours in sorted(ops.freshness_hours.items()):
        deadline = timedelta(hours=hours)
        update = latest_data_update(root, pipeline)
        covered = first_success_since(root, update) if update else None
        latest = next(iter(list_runs(root, pipeline=pipeline, limit=1)), None)
        state: State
        if update is None:
            state = "no_data"
        elif covered is not None:
            state = "fresh"
        elif moment <= update.seen_at + deadline:
            state = "waiting"
        else:
            state = "breached"
        out.append(Freshness(pipeline, deadline, state, update, covered, latest, moment))
    return out


def breach_alert(item: Freshness, root: str | Path, ops: OpsSettings) -> Alert:
    """The alert for a breached deadline, naming what the latest run did."""
    from freshet.after_run import report_link

    latest = item.latest_run
    return Alert(
        kind="sla_breach",
        title=f"{item.pipeline}: model is stale (no successful run within {_span(item.deadline)} "
        "of new data)",
        pipeline=item.pipeline,
        run_id=latest.run_id if latest else None,
        step=latest.failed_step if latest else None,
        error=item.message() + ("" if not latest or not latest.error else f"\n{latest.error}"),
        report=report_link(Path(root), latest.run_id, ops) if latest else None,
    )


def check(
    root: str | Path, ops: OpsSettings, now: datetime | None = None, alert: bool = True
) -> list[Freshness]:
    """Evaluates every deadline and posts one alert per new breach.

    Returns:
        The freshness of each pipeline; the caller exits 1 when any is breached.
    """
    results = evaluate(root, ops, now)
    for item in results:
        if item.state != "breached" or not alert or item.update is None:
            continue
        key = f"sla:{item.pipeline}:{item.update.data_version}"
        if not alert_sent(root, key) and post_alert(breach_alert(item, root, ops), ops):
            mark_alert_sent(root, key)
    return results
