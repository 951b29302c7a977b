"""The remote engines behind one interface: what `submit --wait` and `runs ... --remote` use.

Vertex AI Pipelines (`freshet.gcp.remote.VertexRuns`) and Kubeflow Pipelines
(`freshet.kfp.runs.KfpRuns`) both follow, cancel, list and show runs; the CLI picks one with
`open_remote` and never branches on the engine again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

from rich.console import Console

from freshet.config import Settings
from freshet.gcp.follow import JobView
from freshet.history import RunRow

Engine = Literal["vertex", "kfp"]


class RemoteRuns(Protocol):
    """Runs on one remote engine, by freshet's run id."""

    name: str

    def follow(
        self, run_id: str, console: Console, sleep: Callable[[float], None] = time.sleep
    ) -> JobView:
        """Polls the run until it ends: SUCCEEDED, FAILED or CANCELLED."""

    def cancel(self, run_id: str) -> str:
        """Asks the engine to cancel the run; its state after the request."""

    def outcome(self, run_id: str) -> dict[str, Any]:
        """What an ended run produced, as summary keys: `metrics`, and `notes` on them."""

    def url(self, run_id: str) -> str:
        """Where a person follows the run."""

    def rows(self, pipeline: str | None, status: str | None, limit: int) -> list[RunRow]:
        """The runs freshet started there, newest first."""

    def show(self, run_id: str) -> dict[str, Any]:
        """One run in the shape of a local run's summary."""


def engine_of(settings: Settings, engine: str | None) -> Engine:
    """The engine named, else the configured runner when remote, else Vertex."""
    return engine_of_name(engine or (settings.runner if settings.runner != "local" else "vertex"))


def open_remote(settings: Settings, engine: Engine) -> RemoteRuns:
    """The runs of the chosen engine (its settings checked, its client made)."""
    if engine == "kfp":
        from freshet.kfp.claims import Claims, open_claims
        from freshet.kfp.client import KfpSession
        from freshet.kfp.runs import KfpRuns

        session = KfpSession.open(settings)
        return KfpRuns(session, Claims(open_claims(session.kfp.resolved_claims_root())))
    from freshet.gcp.remote import VertexRuns
    from freshet.gcp.session import open_session

    return VertexRuns(open_session(settings))


def remote_settings(engine: str | None) -> tuple[Settings, Engine]:
    """Settings for a command on a remote engine, every missing or malformed one named at once.

    Args:
        engine: "vertex", "kfp", or None for the configured runner (Vertex if it is local).
    """
    from freshet.config import load_settings
    from freshet.gcp.session import RUN_FIELDS
    from freshet.kfp.settings import KFP_FIELDS

    chosen = engine_of_name(engine) if engine else engine_of(load_settings(), None)
    fields = KFP_FIELDS if chosen == "kfp" else RUN_FIELDS
    return load_settings(require=fields, runner=chosen), chosen


def engine_of_name(name: str) -> Engine:
    """A remote engine by name.

    Raises:
        BadInput: Neither vertex nor kfp.
    """
    from freshet.errors import BadInput

    if name not in ("vertex", "kfp"):
        raise BadInput(f"Unknown remote runner '{name}': use vertex or kfp.")
    return name  # type: ignore[return-value]
