"""`freshet trigger watch DIR`: the local stand-in for bucket notifications.

Each settled change (no further write for `settle_s`) becomes the same data-update event a
Pub/Sub message would carry, with the directory's content hash as its data version, and goes
through the same handler. So a burst of writes gives one run, and writing back content that
was already trained on gives none (the run id exists). The hash covers every file but hidden
ones: the watcher knows no data format.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from freshet.errors import BadInput
from freshet.trigger.events import DataUpdateEvent
from freshet.trigger.handler import Outcome, TriggerHandler

log = logging.getLogger(__name__)

_MAX_GROUP_MS = 10 * 60 * 1000


def directory_version(directory: Path) -> str | None:
    """A content hash of the files under `directory` (hidden ones left out); None if none.

    Returns:
        `sha256-<16 hex digits>`: the same for the same names and bytes, wherever they lie.
    """
    files = sorted(
        path
        for path in directory.rglob("*")
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(directory).parts)
    )
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        try:
            content = hashlib.sha256(path.read_bytes()).hexdigest()
        except FileNotFoundError:  # removed while hashing: the next settled change counts
            continue
        digest.update(f"{path.relative_to(directory).as_posix()}\0{content}\n".encode())
    return f"sha256-{digest.hexdigest()[:16]}"


class DirectoryWatcher:
    """Watches one local data directory and starts a run for each settled change."""

    def __init__(
        self,
        directory: Path,
        handler: TriggerHandler,
        pipeline: str | None = None,
        parameters: dict[str, Any] | None = None,
        settle_s: float = 2.0,
    ) -> None:
        """Creates a watcher.

        Args:
            directory: The data directory (CSV or Parquet files, recursively).
            handler: The same handler the Pub/Sub triggers use.
            pipeline: Pipeline to run (default `trigger.default_pipeline`).
            parameters: Pipeline parameters besides `data_uri`.
            settle_s: Quiet time after the last write before a change counts.

        Raises:
            BadInput: The directory does not exist, or `settle_s` is not positive.
        """
        if not directory.is_dir():
            raise BadInput(f"The directory to watch does not exist: '{directory}'.")
        if settle_s <= 0:
            raise BadInput(f"The settle time must be positive, not {settle_s}.")
        self.directory = directory.resolve()
        self.handler = handler
        self.pipeline = pipeline or handler.settings.trigger.default_pipeline
        self.parameters = dict(parameters or {})
        self.settle_s = settle_s

    def trigger_once(self) -> Outcome | None:
        """Submits a run for the directory's current content; None while it holds no data."""
        version = directory_version(self.directory)
        if version is None:
            log.info("Not starting a run: '%s' holds no files.", self.directory)
            return None
        event = DataUpdateEvent(str(self.directory), version, self.pipeline, self.parameters)
        outcome = self.handler.handle_event(event, f"watch:{version}")
        log.info("Watch %s: %s (%s).", self.directory, outcome.status, outcome.reason)
        return outcome

    def run(
        self,
        stop: threading.Event | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        initial: bool = True,
    ) -> None:
        """Watches until `stop` is set (or Ctrl-C).

        Args:
            stop: Ends the watch when set.
            on_outcome: Called with each submission's outcome.
            initial: Also submit once for the content present at start.
        """
        import watchfiles

        def report(outcome: Outcome | None) -> None:
            if outcome is not None and on_outcome is not None:
                on_outcome(outcome)

        if initial:
            report(self.trigger_once())
        step_ms = int(self.settle_s * 1000)
        for changes in watchfiles.watch(
            self.directory,
            step=step_ms,
            debounce=max(_MAX_GROUP_MS, step_ms),
            stop_event=stop,
            yield_on_timeout=False,
            rust_timeout=500,
        ):
            log.debug("%d changes settled in %s.", len(changes), self.directory)
            report(self.trigger_once())
