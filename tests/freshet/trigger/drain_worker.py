"""A pull worker whose submissions take a while, run as its own process by test_drain.

Usage: python drain_worker.py SUBSCRIPTION LEDGER BUILD_DIR BEGUN_FILE SECONDS
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from freshet.runners.base import RunRequest, RunResult
from freshet.trigger.handler import CompiledTemplates, TriggerHandler
from freshet.trigger.ledger import Ledger
from freshet.trigger.pull import PullWorker, run_until_signal
from tests.freshet.trigger.conftest import make_settings


def main() -> None:
    subscription, ledger_path, build_dir, begun_path, seconds = sys.argv[1:6]
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    ledger = Ledger(Path(ledger_path))
    begun = Path(begun_path)

    def slow_submit(request: RunRequest) -> RunResult:
        with begun.open("a") as out:
            out.write(f"{request.run_id}\n")
        time.sleep(float(seconds))
        return ledger.submit(request)

    settings = make_settings(Path(build_dir) / "root", Path(build_dir))
    handler = TriggerHandler(settings, submit=slow_submit, templates=CompiledTemplates(settings))
    handler.settings.trigger.max_messages = 4
    run_until_signal(PullWorker(handler, subscription))
    print("drained", flush=True)


if __name__ == "__main__":
    main()
