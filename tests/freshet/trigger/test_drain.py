"""SIGTERM drain of the pull worker, in its own process, against the emulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from freshet.trigger.ledger import Ledger
from tests.freshet.trigger.conftest import PubSubNames
from tests.freshet.trigger.messages import drain, gcs_notification, wait_until

REPO = Path(__file__).resolve().parents[3]
IN_FLIGHT = 4  # the worker's max_messages


def publish(pubsub: PubSubNames, topic: str, count: int) -> None:
    for i in range(count):
        data, attributes = gcs_notification("data-bucket", f"incoming/d{i}.csv", 1)
        pubsub.publisher.publish(topic, data, **attributes).result()


def test_sigterm_finishes_what_is_in_flight_acks_it_and_exits_0(
    pubsub: PubSubNames, tmp_path: Path, build_dir: Path, ledger: Ledger
) -> None:
    topic = pubsub.topic("drain")
    sub, _ = pubsub.with_dead_letters("drain", topic, ack_deadline_seconds=10)
    publish(pubsub, topic, IN_FLIGHT)
    begun = tmp_path / "begun.txt"
    worker = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "tests/freshet/trigger/drain_worker.py"),
            sub,
            str(ledger.path),
            str(build_dir),
            str(begun),
            "1.5",
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(
            lambda: begun.exists() and len(begun.read_text().split()) == IN_FLIGHT,
            timeout=60,
            what="all submissions in flight",
        )
        assert ledger.runs() == []
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        worker.kill()
    assert worker.returncode == 0, err
    assert out.strip() == "drained"
    assert "Received SIGTERM: draining." in err
    assert len(ledger.runs()) == IN_FLIGHT  # every submission in flight was completed
    assert drain(pubsub.subscriber, sub) == []  # ... and acked
