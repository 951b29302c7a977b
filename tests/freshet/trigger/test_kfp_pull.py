"""Issue 17's acceptance: with `runner = "kfp"`, 1,000 notifications for 200 data versions
give exactly 200 runs on Kubeflow Pipelines.

Two pull workers (`freshet trigger pull`'s PullWorker and handler, the default submit: the one
`freshet.runners.submit`) race on one subscription of Google's Pub/Sub emulator; each
submission makes its own kfp.Client and claim. KFP itself would accept every duplicate: only
the create-only claims keep it to one run per data version. The fake does not execute these
runs (they are counted, not run).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from pathlib import Path

import pytest

from freshet.config import Settings
from freshet.kfp.settings import KfpSettings
from freshet.trigger.handler import InboundMessage, Outcome, TriggerHandler
from freshet.trigger.pull import PullWorker
from freshet.trigger.settings import Route, TriggerSettings
from tests.fakes.kfp_server import kfp_server
from tests.freshet.kfp.kfp_pipelines import consume
from tests.freshet.tiny_pipelines import compile_to
from tests.freshet.trigger.conftest import PubSubNames
from tests.freshet.trigger.messages import drain, gcs_notification, wait_until
from tests.freshet.trigger.test_acceptance import NOTIFICATIONS, VERSIONS, publication_counts


class CountingHandler(TriggerHandler):
    """The production handler, counting what it decided."""

    outcomes: Counter[str]
    lock: threading.Lock

    def handle(self, message: InboundMessage) -> Outcome:
        outcome = super().handle(message)
        with self.lock:
            self.outcomes[outcome.status] += 1
        return outcome


def test_1000_notifications_for_200_versions_start_exactly_200_kfp_runs(
    pubsub: PubSubNames, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    rng = random.Random(17)
    counts = publication_counts(rng)
    messages = [
        gcs_notification("data-bucket", f"incoming/{v:03d}.csv", 1_000_000 + v)
        for v, count in enumerate(counts)
        for _ in range(count)
    ]
    rng.shuffle(messages)
    assert len(messages) == NOTIFICATIONS
    template = compile_to(consume(), tmp_path / "consume.yaml")

    with kfp_server(execute=False) as (url, fake):
        settings = Settings(
            root=tmp_path / "root",
            runner="kfp",
            kfp=KfpSettings(
                host=url,
                token="fake-token",  # type: ignore[arg-type]
                pipeline_root="gs://kfp-root/root",
                claims_root=str(tmp_path / "claims"),
            ),
            trigger=TriggerSettings(
                routes=[Route(match="gs://data-bucket/incoming/*", pipeline="consume")]
            ),
        )
        outcomes: Counter[str] = Counter()
        lock = threading.Lock()
        workers = []
        topic = pubsub.topic("kfp-acceptance")
        sub = pubsub.subscription("kfp-acceptance", topic, ack_deadline_seconds=30)
        for _ in range(2):
            handler = CountingHandler(settings, templates=lambda _: (template, "sha256-tiny"))
            handler.outcomes, handler.lock = outcomes, lock
            workers.append(PullWorker(handler, sub, pubsub.subscriber, max_messages=8))
        for worker in workers:
            worker.start()
        try:
            for future in [pubsub.publisher.publish(topic, d, **a) for d, a in messages]:
                future.result()
            wait_until(
                lambda: outcomes["submitted"] + outcomes["already_exists"] >= NOTIFICATIONS,
                timeout=400,
                what="every message handled",
            )
        finally:
            for worker in workers:
                worker.stop()

        assert outcomes["submitted"] == VERSIONS, outcomes
        assert outcomes["already_exists"] >= NOTIFICATIONS - VERSIONS, outcomes  # + redeliveries
        assert set(outcomes) <= {"submitted", "already_exists", "transient"}, outcomes
        runs = [r.body for r in fake.runs.values()]
        assert len(runs) == VERSIONS
        expected = {f"gs://data-bucket/incoming/{v:03d}.csv" for v in range(VERSIONS)}
        assert {r["runtime_config"]["parameters"]["data_uri"] for r in runs} == expected
        assert len({r["display_name"] for r in runs}) == VERSIONS
    assert drain(pubsub.subscriber, sub, 2) == []


def test_triggers_on_kfp_compile_the_kfp_target(tmp_path: Path) -> None:
    """With Spot on, the Vertex template is a CustomJob KFP cannot run: never sent there."""
    from freshet.config import TrainResources
    from freshet.lint.engine import lint_files
    from freshet.trigger.handler import CompiledTemplates

    settings = Settings(
        build_dir=tmp_path / "build",
        runner="kfp",
        train_resources=TrainResources(spot=True, machine_type="g2-standard-8"),
    )
    path, version = CompiledTemplates(settings)("training")

    assert path == tmp_path / "build" / "kfp" / "training.yaml"
    assert version.startswith("sha256-")
    assert not [f for f in lint_files([path], strict=False) if f.rule == "kfp-no-custom-jobs"]
    assert "gke-spot" in path.read_text()
