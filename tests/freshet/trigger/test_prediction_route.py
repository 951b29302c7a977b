"""A data-update route that names `prediction`: one notification, one real scoring run (slow).

New data lands in Cloud Storage (the emulator), its notification reaches the pull worker
through Google's Pub/Sub emulator, and the route starts the prediction pipeline locally,
which scores the object with the registered champion into a folder per run.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from freshet.config import Settings
from freshet.registry import open_registry
from freshet.runners import submit
from freshet.runners.base import RunRequest, RunResult
from freshet.trigger.handler import CompiledTemplates, TriggerHandler
from freshet.trigger.pull import PullWorker
from freshet.trigger.settings import Route, TriggerSettings
from tests.freshet.trigger.conftest import PubSubNames
from tests.freshet.trigger.messages import drain, gcs_notification, wait_until


@pytest.mark.slow
def test_one_notification_gives_one_prediction_run(
    pubsub: PubSubNames,
    gcs_client: Any,
    gcs_endpoint: str,
    trained: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the steps run in subprocesses and read the object from the Cloud Storage emulator
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_endpoint)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "freshet-test")
    root = tmp_path / "root"
    open_registry(str(root / "registry")).register("model", trained[1], run_id="trained")
    frame = pd.read_parquet(trained[0] / "test.parquet").drop(columns=["label"])
    frame.insert(0, "id", range(len(frame)))
    frame.to_parquet(tmp_path / "batch.parquet")
    bucket = gcs_client.create_bucket("scores-in")
    blob = bucket.blob("incoming/batch-1.parquet")
    blob.upload_from_filename(str(tmp_path / "batch.parquet"))
    blob.reload()

    route = Route(
        match="gs://scores-in/incoming/*",
        pipeline="prediction",
        parameters={"output_uri": str(tmp_path / "scores" / "{run_id}"), "keep_columns": "id"},
    )
    settings = Settings(
        root=root, build_dir=tmp_path / "build", trigger=TriggerSettings(routes=[route])
    )
    results: list[RunResult] = []
    lock = threading.Lock()

    def real_submit(request: RunRequest) -> RunResult:
        result = submit(request, settings)
        with lock:
            results.append(result)
        return result

    handler = TriggerHandler(settings, submit=real_submit, templates=CompiledTemplates(settings))
    topic = pubsub.topic("scores")
    sub, dead = pubsub.with_dead_letters("scores", topic, ack_deadline_seconds=60)
    data, attributes = gcs_notification("scores-in", blob.name, blob.generation)
    for _ in range(2):  # at-least-once delivery: a duplicate must not score twice
        pubsub.publisher.publish(topic, data, **attributes).result()
    worker = PullWorker(handler, sub, pubsub.subscriber)
    worker.start()
    try:
        wait_until(lambda: len(results) == 2, timeout=240, what="both deliveries handled")
    finally:
        worker.stop()

    assert sorted(r.status for r in results) == ["already_exists", "succeeded"]
    runs = list((root / "runs").iterdir())
    assert len(runs) == 1
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert summary["pipeline"] == "prediction" and summary["status"] == "succeeded"
    assert summary["data_uri"] == "gs://scores-in/incoming/batch-1.parquet"
    assert summary["reason"].endswith(f"gs://scores-in/incoming/batch-1.parquet#{blob.generation}")
    assert summary["metrics"]["rows_scored"] == len(frame)
    out = tmp_path / "scores" / runs[0].name
    assert json.loads((out / "_SUCCESS").read_text())["run_id"] == runs[0].name
    scored = pd.read_parquet(out)
    assert sorted(scored["id"]) == list(range(len(frame)))
    assert drain(pubsub.subscriber, sub, timeout=1) == []
    assert drain(pubsub.subscriber, dead, timeout=1) == []
