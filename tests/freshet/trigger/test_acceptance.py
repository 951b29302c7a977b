"""Issue 8's acceptance: 1,000 notifications for 200 data versions give exactly 200 runs.

Over Google's Pub/Sub emulator with the real client, through both the pull worker and the
push endpoint at once (two subscriptions on one topic), each with its own ledger.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from freshet.trigger.handler import TemplateFn, TriggerHandler
from freshet.trigger.ledger import Ledger
from freshet.trigger.pull import PullWorker
from freshet.trigger.push import PushService, create_app
from tests.freshet.trigger.conftest import PubSubNames, make_settings
from tests.freshet.trigger.messages import MALFORMED, drain, gcs_notification, wait_until
from tests.freshet.trigger.servers import serving

VERSIONS = 200
NOTIFICATIONS = 1000
ACK_DEADLINE_S = 10


def publication_counts(rng: random.Random) -> list[int]:
    """How often each version is published: 1 to 10 times, 1,000 in all."""
    counts = [1] * VERSIONS
    left = NOTIFICATIONS - VERSIONS
    while left:
        i = rng.randrange(VERSIONS)
        if counts[i] < 10:
            counts[i] += 1
            left -= 1
    return counts


def test_1000_notifications_for_200_versions_start_exactly_200_runs(
    pubsub: PubSubNames, tmp_path: Path, build_dir: Path, templates: TemplateFn
) -> None:
    rng = random.Random(8)
    counts = publication_counts(rng)
    messages = [
        gcs_notification("data-bucket", f"incoming/{v:03d}.csv", 1_000_000 + v)
        for v, count in enumerate(counts)
        for _ in range(count)
    ]
    messages += MALFORMED
    rng.shuffle(messages)
    assert len(messages) == NOTIFICATIONS + len(MALFORMED)

    pull_ledger, push_ledger = (Ledger(tmp_path / f"{n}.sqlite") for n in ("pull", "push"))
    settings = make_settings(tmp_path / "root", build_dir)
    pull_handler = TriggerHandler(settings, submit=pull_ledger.submit, templates=templates)
    push_handler = TriggerHandler(settings, submit=push_ledger.submit, templates=templates)

    topic = pubsub.topic("acceptance")
    pull_sub, pull_dead = pubsub.with_dead_letters(
        "acc-pull", topic, ack_deadline_seconds=ACK_DEADLINE_S
    )
    with serving(create_app(PushService(push_handler))) as endpoint:
        push_sub, push_dead = pubsub.with_dead_letters(
            "acc-push",
            topic,
            ack_deadline_seconds=ACK_DEADLINE_S,
            push_config={"push_endpoint": endpoint + "/"},
        )
        worker = PullWorker(pull_handler, pull_sub, pubsub.subscriber, max_messages=16)
        worker.start()
        try:
            futures = [pubsub.publisher.publish(topic, d, **a) for d, a in messages]
            for future in futures:
                future.result()
            letters: dict[str, list[Any]] = {"pull": [], "push": []}

            def settled() -> bool:
                letters["pull"] += drain(pubsub.subscriber, pull_dead, 0.5)
                letters["push"] += drain(pubsub.subscriber, push_dead, 0.5)
                return (
                    len(pull_ledger.calls()) >= NOTIFICATIONS
                    and len(push_ledger.calls()) >= NOTIFICATIONS
                    and all(len(v) == len(MALFORMED) for v in letters.values())
                )

            wait_until(settled, timeout=120, what="every message handled")
        finally:
            worker.stop()
        # Turn the push subscription into a pull one, so that leftovers can be looked for.
        pubsub.subscriber.modify_push_config(request={"subscription": push_sub, "push_config": {}})

    expected = {f"gs://data-bucket/incoming/{v:03d}.csv#{1_000_000 + v}" for v in range(VERSIONS)}
    for ledger in (pull_ledger, push_ledger):
        runs = ledger.runs()
        assert len(runs) == VERSIONS
        assert {r["data_version"] for r in runs} == expected
        statuses = [c[2] for c in ledger.calls()]
        assert statuses.count("submitted") == VERSIONS
    malformed = sorted(d for d, _ in MALFORMED)
    for dead_letters in letters.values():
        assert sorted(m.data for m in dead_letters) == malformed

    # No message is left unacked: after the ack deadline, nothing is redelivered.
    time.sleep(ACK_DEADLINE_S + 1)
    assert drain(pubsub.subscriber, pull_sub, 2) == []
    assert drain(pubsub.subscriber, push_sub, 2) == []
